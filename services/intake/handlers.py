"""What intake does with casework's events: note the progress a source may learn."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.consumer import Handler, caused_by
from libs.events.contracts.casework import (
    CaseClosed,
    CaseFiled,
    ClueDisposed,
    ClueRegistered,
    NameCleared,
)
from libs.events.envelope import Envelope
from libs.events.store import ANY, EventStore
from services.intake.domain import clue_stream
from services.intake.domain.progress import progress_from

FOLLOWED = {c.type_name for c in (ClueRegistered, ClueDisposed, CaseFiled, CaseClosed, NameCleared)}


def make_handler(store: EventStore) -> Handler:
    """Casework's clue and case events become ClueProgressNoted on intake's own clues."""

    async def handle(conn: AsyncConnection, envelope: Envelope) -> None:
        if envelope.type not in FOLLOWED:
            return
        incoming = store.registry.decode(envelope.type, envelope.typeversion, envelope.data)
        meta = caused_by(envelope, "service:intake")
        for clue_id, note in progress_from(incoming, envelope.time):
            stream = clue_stream(clue_id)
            # Clues that did not come through intake (e.g. from analysis alerts) are not ours.
            ours = await conn.execute(
                text("SELECT 1 FROM events WHERE stream_id = :s LIMIT 1"), {"s": stream}
            )
            if ours.first() is not None:
                await store.append(stream, [note], expected_version=ANY, meta=meta, conn=conn)

    return handle
