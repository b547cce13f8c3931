"""An unpinned command runs again when its stream moved; a pinned one gets the 409."""

from __future__ import annotations

import pytest

from libs.events.store import ConcurrencyError
from libs.kit.conflicts import rerun_on_conflict


def moving(times: int) -> tuple[list[int], object]:
    """A unit of work whose stream moves under it the first ``times`` runs."""
    runs: list[int] = []

    async def work() -> str:
        runs.append(len(runs) + 1)
        if len(runs) <= times:
            raise ConcurrencyError("clue-1", len(runs), len(runs) + 1)
        return f"done on run {len(runs)}"

    return runs, work


async def test_without_if_match_the_command_runs_again_on_the_new_state() -> None:
    runs, work = moving(2)
    assert await rerun_on_conflict(work, pinned=False) == "done on run 3"  # type: ignore[arg-type]
    assert runs == [1, 2, 3]


async def test_with_if_match_the_client_hears_that_the_record_changed() -> None:
    runs, work = moving(1)
    with pytest.raises(ConcurrencyError):
        await rerun_on_conflict(work, pinned=True)  # type: ignore[arg-type]
    assert runs == [1]


async def test_a_stream_that_keeps_moving_is_given_up_after_the_attempts() -> None:
    runs, work = moving(10)
    with pytest.raises(ConcurrencyError):
        await rerun_on_conflict(work, pinned=False, attempts=3)  # type: ignore[arg-type]
    assert runs == [1, 2, 3]
