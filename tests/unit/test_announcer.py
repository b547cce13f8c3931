"""Appends that commit on their own are announced after their commit, several at a time.

What readers rely on: every committed append is followed by an announcement sent after
it, carrying its transaction id or a later one; a failed announcement is not the end of
announcing. No database here: ``send`` is a stand-in that records what it was given.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from libs.events.wakeup import Announcer


class Sends:
    """A stand-in for the notification: records each payload, optionally held open."""

    def __init__(self, *, fail_first: int = 0, takes: float = 0.0) -> None:
        self.sent: list[int] = []
        self.takes = takes  # seconds on the way
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_first = fail_first

    async def __call__(self, tx_id: int) -> None:
        await self.gate.wait()
        await asyncio.sleep(self.takes)
        if self.fail_first:
            self.fail_first -= 1
            raise ConnectionError("the server went away")
        self.sent.append(tx_id)


async def test_a_lone_append_is_announced_at_once_with_its_transaction() -> None:
    sends = Sends()
    announcer = Announcer(sends, interval=3600.0)
    announcer.committed(41)
    await announcer.settled()
    assert sends.sent == [41]


async def test_appends_committed_during_an_announcement_are_announced_together_after_it() -> None:
    sends = Sends()
    announcer = Announcer(sends, interval=0.0)
    sends.gate.clear()
    announcer.committed(10)
    await asyncio.sleep(0)  # the announcement of 10 is on its way
    for tx in range(11, 111):
        announcer.committed(tx)
    sends.gate.set()
    await announcer.settled()
    assert sends.sent == [10, 110], "one more announcement, with the highest transaction"


async def test_every_commit_is_followed_by_an_announcement_of_it_or_a_later_one() -> None:
    sends = Sends(takes=0.0005)
    announcer = Announcer(sends, interval=0.001)
    seen_before: list[tuple[int, int]] = []  # (tx, announcements sent when it committed)
    for tx in range(1, 60):
        announcer.committed(tx)
        seen_before.append((tx, len(sends.sent)))
        await asyncio.sleep(0.0003 * (tx % 4))
    await announcer.settled()
    for tx, already in seen_before:
        assert any(t >= tx for t in sends.sent[already:]), f"transaction {tx} never announced"
    assert len(sends.sent) < 59, "announcements were not coalesced"


async def test_a_failed_announcement_is_logged_and_the_next_commit_is_still_announced(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sends = Sends(fail_first=1)
    announcer = Announcer(sends, interval=0.0)
    with caplog.at_level(logging.WARNING, logger="libs.events.wakeup"):
        announcer.committed(7)
        await announcer.settled()
    assert sends.sent == []
    assert "announcing transaction 7 failed" in caplog.text
    announcer.committed(8)
    await announcer.settled()
    assert sends.sent == [8]
