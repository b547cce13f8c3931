"""A leading relay makes sure it still holds its lock, without a round trip per batch.

No database or broker here: the lock session is a stand-in that counts what is said on it
(and can be gone), and publishing a batch is a stand-in that counts batches.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

import pytest

from libs.events import relay as relay_module
from libs.events.relay import Relay


class LockSession:
    """A stand-in for the leader's lock session: counts its statements; once ``gone``,
    each fails as on a session the server ended."""

    def __init__(self) -> None:
        self.statements = 0
        self.gone = False

    async def get_raw_connection(self) -> Any:
        return type("Raw", (), {"driver_connection": None})()  # not asyncpg's: none said

    async def execute(self, _statement: object, *_args: object) -> None:
        if self.gone:
            raise ConnectionError("terminating connection due to idle-session timeout")
        self.statements += 1


def leader(publish: Any) -> Relay:
    relay = Relay(cast(Any, None), cast(Any, None), "t", bootstrap="", idle_interval=0.001)
    relay.publish_batch = publish  # type: ignore[method-assign]
    return relay


async def test_a_leader_publishing_batch_after_batch_asks_its_lock_session_now_and_then() -> None:
    stop, lock, batches = asyncio.Event(), LockSession(), 0

    async def publish(limit: int | None = None) -> int:
        nonlocal batches
        batches += 1
        if batches == 300:
            stop.set()
        return 1  # live: each batch one event, then a short wait

    began = time.monotonic()
    await leader(publish)._lead(cast(Any, lock), stop)

    took = time.monotonic() - began
    assert batches == 300
    assert 1 <= lock.statements <= took / relay_module.LOCK_LOOK_INTERVAL + 1


async def test_a_leader_silent_longer_than_the_look_interval_asks_before_publishing() -> None:
    stop, lock, batches = asyncio.Event(), LockSession(), 0

    async def publish(limit: int | None = None) -> int:
        nonlocal batches
        batches += 1
        if batches == 3:
            # Paused (a frozen VM): meanwhile the server ended the silent lock session.
            lock.gone = True
            await asyncio.sleep(relay_module.LOCK_LOOK_INTERVAL * 1.5)
        return 1

    with pytest.raises(ConnectionError):
        await leader(publish)._lead(cast(Any, lock), stop)

    assert batches == 3, "published again without holding the lock"
