"""What intake does with casework's events: note the progress a source may learn."""

from __future__ import annotations

from sqlalchemy import text

from libs.events.consumer import Handler
from libs.events.contracts.casework import (
    CaseClosed,
    CaseFiled,
    ClueDisposed,
    ClueRegistered,
    NameCleared,
)
from libs.events.dispatch import Delivery, HandlerDispatch
from libs.events.store import ANY, EventStore
from services.intake.domain import clue_stream
from services.intake.domain.progress import progress_from

HANDLERS: HandlerDispatch[None] = HandlerDispatch("service:intake")
"""Intake's handlers; the services it subscribes to follow from them."""

_OURS = text("SELECT 1 FROM events WHERE stream_id = :s LIMIT 1")


@HANDLERS.on(ClueRegistered, ClueDisposed, CaseFiled, CaseClosed, NameCleared)
async def note_progress(
    event: ClueRegistered | ClueDisposed | CaseFiled | CaseClosed | NameCleared,
    d: Delivery[None],
) -> None:
    """Casework's clue and case events become ClueProgressNoted on intake's own clues."""
    for clue_id, note in progress_from(event, d.envelope.time):
        stream = clue_stream(clue_id)
        # Clues that did not come through intake (e.g. from analysis alerts) are not ours.
        if (await d.conn.execute(_OURS, {"s": stream})).first() is not None:
            await d.store.append(stream, [note], expected_version=ANY, meta=d.meta, conn=d.conn)


def make_handler(store: EventStore) -> Handler:
    """The consumer handler, bound to intake's store."""
    return HANDLERS.handler(store, None)
