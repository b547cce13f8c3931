"""A started service's garbage collector: start-up's objects frozen, young ones collected
less often; both undone at shutdown."""

import gc

from libs.kit import heap


def test_settling_freezes_start_up_and_restoring_gives_it_back() -> None:
    before = gc.get_threshold()
    heap.settle()
    try:
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (heap.YOUNG_THRESHOLD, *before[1:])
    finally:
        heap.restore()
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


def test_a_second_service_settling_keeps_the_first_default() -> None:
    before = gc.get_threshold()
    heap.settle()
    heap.settle()
    heap.restore()
    heap.restore()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
