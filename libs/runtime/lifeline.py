"""Run a command that dies with its owner: ``python lifeline.py <command> [args…]``.

The owner starts this script with the read end of a pipe as its stdin and keeps the
write end. When the owner exits, however it exits (SIGKILL included), the kernel closes
the write end, the read here returns, and the command is terminated (SIGKILL if it is
still there after a grace period). That holds whichever of the owner's threads started
it, unlike ``PR_SET_PDEATHSIG`` on the owner's side, which fires when the *thread* that
forked exits. SIGTERM, SIGINT and SIGHUP sent to this process are passed on to the
command; on Linux the command also gets ``PR_SET_PDEATHSIG`` (SIGKILL) towards this
process (whose only forking thread is the main one), so it dies if this process is
killed outright. Exits with the command's status.

Standard library only: it is run as a script, without the project on ``sys.path``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from types import FrameType

GRACE_SECONDS = 5.0
_PR_SET_PDEATHSIG = 1


def _die_with_this_process(parent: int) -> None:
    """In the forked command, before exec: SIGKILL when this process goes."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # this process died before prctl took effect
        os._exit(1)


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: lifeline.py <command> [args…]", file=sys.stderr)
        return 2
    me = os.getpid()
    child = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, preexec_fn=lambda: _die_with_this_process(me)
    )

    def stop_child() -> None:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()

    def pass_on(signum: int, frame: FrameType | None) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, pass_on)

    def watch_owner() -> None:
        try:
            while os.read(0, 4096):  # the owner never writes; b"" means it is gone
                pass
        except OSError:
            pass
        stop_child()

    threading.Thread(target=watch_owner, name="owner-watch", daemon=True).start()
    return child.wait()


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.exit(code if code >= 0 else 128 - code)
