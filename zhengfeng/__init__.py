"""The ``zhengfeng`` command: runs, migrates, verifies and administers the four services.

It sits above ``services/`` (it starts them, migrates their schemas, plays the demo
through their APIs) and above ``libs/``; nothing below imports it.
"""
