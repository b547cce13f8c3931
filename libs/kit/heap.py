"""The garbage collector in a long-running service, set for what the service does once started.

Two costs, both measured on a store read (``python -m bench``: a third of its CPU went to
the collector):

* A started service holds a few hundred thousand objects for as long as it runs (modules,
  classes, pydantic schemas, routes, pools), and every full collection walks all of them
  (0.3 s for the four services' modules on the shared 2-core machine). Frozen, they are
  left out of every collection; what is made afterwards is collected as before.
* Reads, relays and requests make short-lived objects by the thousand (a page of 1000
  events is some 5000 objects). With the default youngest-generation threshold (700
  allocations) each page is scanned several times while it is still alive; with 10 000, a
  page is mostly gone before a collection comes.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000
"""Allocations (less deallocations) of tracked objects between young collections."""

_default: tuple[int, int, int] | None = None


def settle() -> None:
    """Freeze every object alive now and collect the young generation less often (once
    start-up is done). The young generations are collected first, so start-up's garbage
    is not kept; the old one is not (a full collection costs what the freeze saves)."""
    global _default
    gc.collect(1)
    gc.freeze()
    if _default is None:
        _default = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, *_default[1:])


def restore() -> None:
    """Undo ``settle`` (at shutdown: a process that starts several services, as the tests
    do, neither keeps a stopped one's objects for good nor its setting)."""
    global _default
    gc.unfreeze()
    if _default is not None:
        gc.set_threshold(*_default)
        _default = None
