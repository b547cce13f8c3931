"""An embedded broker dies with the process that started it, however that process ends.

The brokers run in a session of their own (so a fault test decides when they stop), which
once meant that a killed test run left them running. These tests kill the owner outright.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from libs.runtime.infra import EmbeddedBroker, port_closes

ROOT = Path(__file__).resolve().parents[2]
GONE_WITHIN = 30.0

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

# The owner starts its broker from a worker thread that then ends (as the fault tests'
# restart does through asyncio.to_thread), waits until that thread is gone from the
# kernel's view, and says which process to look at.
OWNER = """
import os, sys, threading, time
from libs.runtime.infra import EmbeddedBroker
broker = EmbeddedBroker(port=0)
starter = threading.Thread(target=broker.start)
starter.start()
starter.join()
while os.path.exists(f"/proc/self/task/{starter.native_id}"):
    time.sleep(0.01)
print(broker.process.pid, broker.port, flush=True)
time.sleep(600)
"""


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state, ppid, …), None if gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return raw.rsplit(")", 1)[1].split()


def _running(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) and fields[1] == str(pid):
            out.append(int(entry.name))
    return out


def _gone(*pids: int) -> bool:
    """Wait until none of ``pids`` runs any more; whether that happened in time."""
    deadline = time.monotonic() + GONE_WITHIN
    while any(_running(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def reap() -> Iterator[list[int]]:
    """Pids this test started, killed at the end if a failed test left them running."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if _running(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_broker_outlives_the_thread_that_started_it_and_dies_with_its_killed_owner(
    reap: list[int],
) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    reap.append(owner.pid)
    assert owner.stdout is not None
    lifeline, port = map(int, owner.stdout.readline().split())
    brokers = _children(lifeline)
    reap.extend([lifeline, *brokers])
    assert len(brokers) == 1, f"the lifeline {lifeline} runs {brokers}"
    (broker,) = brokers
    assert "broker" in Path(f"/proc/{broker}/cmdline").read_bytes().decode().split("\0")
    assert _listening(port), "the broker stopped when the thread that started it ended"

    owner.kill()  # SIGKILL: no teardown, no atexit, nothing the owner can do
    owner.wait()

    assert _gone(broker, lifeline), "the broker outlived its killed owner"
    assert port_closes(port, GONE_WITHIN), "the dead broker's port still accepts connections"


def test_a_broker_dies_when_its_lifeline_is_killed_outright(reap: list[int]) -> None:
    owned = EmbeddedBroker(port=0)
    owned.start()
    try:
        assert owned.process is not None
        lifeline = owned.process.pid
        brokers = _children(lifeline)
        reap.extend([lifeline, *brokers])
        assert len(brokers) == 1 and _listening(owned.port)

        os.kill(lifeline, signal.SIGKILL)

        assert _gone(*brokers), "the broker outlived its lifeline"
        # Its leader shows as a zombie before its other threads have closed its sockets.
        assert port_closes(owned.port, GONE_WITHIN), "the dead broker's port still accepts"
    finally:
        owned.stop()


def test_stopping_a_broker_leaves_nothing_running() -> None:
    owned = EmbeddedBroker(port=0)
    owned.start()
    assert owned.process is not None
    process, brokers = owned.process, _children(owned.process.pid)

    owned.stop()

    assert process.poll() is not None and brokers and not any(_running(p) for p in brokers)
    assert not _listening(owned.port)
