"""What a service's topic holds, checked against its store and its signatures.

``zhengfeng verify --published`` reads every record of each service's topic and sorts it:
*genuine* (decodes, its hash matches its content, the service that owns the topic signed
it, and the store holds an event with that id and that hash), or *suspect* with the reason
(unsigned, forged, altered, not in the store). Republished copies of a genuine event are
genuine too. A subscriber's view of the platform is the topic: this is how an operator
checks that nobody wrote to it but its owner.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import text

from libs.events import kafka
from libs.events.consumer import Trust, check
from libs.events.deadletters import Parked
from libs.events.signing import Keyring
from libs.events.store import EventStore

_HASHES = text("SELECT event_id::text, hash FROM events WHERE event_id::text = ANY(:ids)")


@dataclass
class PublishedReport:
    """A topic's records: how many are genuine and why the others are not."""

    topic: str
    records: int = 0
    genuine: int = 0
    suspect: list[tuple[int, int, str]] = field(default_factory=list)
    """(partition, offset, reason) of every record that is not the owner's event."""

    @property
    def ok(self) -> bool:
        return not self.suspect

    def reasons(self) -> Counter[str]:
        """How many suspect records per kind of reason."""
        return Counter(reason.split(":")[0] for _, _, reason in self.suspect)


async def check_published(
    store: EventStore, keyring: Keyring, bootstrap: str, service: str
) -> PublishedReport:
    """Every record of ``service``'s topic against its signatures and its store."""
    topic = kafka.events_topic(service)
    report = PublishedReport(topic)
    trust = Trust(keyring, {topic: service})
    candidates = []
    for record in await kafka.read_whole_topic(bootstrap, topic):
        report.records += 1
        envelope, refused = check(Parked.of(record), trust)
        if refused is not None or envelope is None:
            report.suspect.append((record.partition, record.offset, refused or "no envelope"))
        else:
            candidates.append((record.partition, record.offset, envelope))
    ids = sorted({str(e.id) for _, _, e in candidates})
    async with store.engine.connect() as conn:
        rows = (await conn.execute(_HASHES, {"ids": ids})).tuples().all()
    stored: dict[str, str] = {str(i): str(h) for i, h in rows}
    for partition, offset, envelope in candidates:
        if stored.get(str(envelope.id)) == envelope.eventhash:
            report.genuine += 1
        else:
            report.suspect.append((partition, offset, "not in the store: no such event"))
    return report
