"""What casework does with other services' events."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.consumer import Handler
from libs.events.contracts.intake import ClueReceived
from libs.events.envelope import Envelope
from libs.events.store import EventStore, Metadata
from services.casework.domain import clue_stream, register_clue


def make_handler(store: EventStore) -> Handler:
    """The consumer handler, bound to casework's store."""

    async def handle(conn: AsyncConnection, envelope: Envelope) -> None:
        if envelope.type != ClueReceived.type_name:
            return
        received = store.registry.decode(envelope.type, envelope.typeversion, envelope.data)
        assert isinstance(received, ClueReceived)
        stream = clue_stream(received.clue_id)
        history = await store.read_stream(stream, conn=conn)
        events = register_clue([r.event for r in history], received)
        await store.append(
            stream,
            events,
            expected_version=len(history),
            meta=Metadata(
                actor="service:casework",
                correlation_id=envelope.correlationid,
                causation_id=str(envelope.id),
            ),
            conn=conn,
        )

    return handle
