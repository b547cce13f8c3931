"""Zhengfeng's one event library: envelope, contracts, store, relay, consumer, projections."""

from libs.events.contracts import Event, EventRegistry, UnknownEventType, registry, schema_uri
from libs.events.envelope import Envelope, EnvelopeError, from_kafka, to_kafka
from libs.events.store import (
    ANY,
    NO_STREAM,
    START,
    Checkpoint,
    ConcurrencyError,
    EventStore,
    Metadata,
    Recorded,
    VerifyReport,
)

__all__ = [
    "ANY",
    "NO_STREAM",
    "START",
    "Checkpoint",
    "ConcurrencyError",
    "Envelope",
    "EnvelopeError",
    "Event",
    "EventRegistry",
    "EventStore",
    "Metadata",
    "Recorded",
    "UnknownEventType",
    "VerifyReport",
    "from_kafka",
    "registry",
    "schema_uri",
    "to_kafka",
]
