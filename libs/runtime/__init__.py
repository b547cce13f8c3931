"""Embedded infrastructure for the local runtime, the tests and the benches.

Embedded PostgreSQL and broker (``infra``) and processes that die with their owner
(``lifeline``). Library code: the ``zhengfeng`` command that uses it lives above, in
the top-level ``zhengfeng`` package.
"""
