"""The one event envelope: CloudEvents 1.0 with Zhengfeng's extensions and hash chain.

On Kafka an envelope travels in *binary content mode*: every attribute is a ``ce_*``
header, the record value is the JSON ``data`` and the record key is the stream id, so a
plain Kafka client or any CloudEvents SDK can read it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import orjson
from pydantic import TypeAdapter

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
GENESIS_HASH = "0" * 64

# Extension attributes (CloudEvents names: lower-case letters and digits only).
EXTENSIONS = (
    "typeversion",
    "streamversion",
    "correlationid",
    "causationid",
    "actor",
    "prevhash",
    "eventhash",
    "position",
    "txid",
    "signingkeyid",
    "signature",
    "ordersignature",
)
_HEADER_PREFIX = "ce_"


class _Lazy:
    def __repr__(self) -> str:
        return "LAZY"


LAZY: Any = _Lazy()
"""Pass as an envelope's ``data`` with its ``encoded_data``: the data is decoded from that
text the first time it is asked for (a stored event the relay publishes never is)."""


class _Data:
    """``Envelope.data``: the event's data, decoded from ``encoded_data`` on first use when
    the envelope was made with ``LAZY``."""

    def __get__(self, envelope: Envelope | None, owner: type | None = None) -> dict[str, Any]:
        if envelope is None:
            raise AttributeError("data")  # no default: every envelope is given its data
        value = envelope.__dict__["_data"]
        if value is LAZY:
            value = envelope.__dict__["_data"] = loads(envelope.__dict__["encoded_data"])
        return value  # type: ignore[no-any-return]

    def __set__(self, envelope: Envelope, value: dict[str, Any]) -> None:
        envelope.__dict__["_data"] = value


@dataclass(frozen=True, kw_only=True)
class Envelope:
    """An event as it is stored and as it travels: attributes plus JSON data.

    A plain frozen dataclass: building one from a stored row costs next to nothing (the
    store validated it on the way in, and decodes its data only when asked: ``LAZY``);
    records from Kafka are validated by ``from_kafka``.
    """

    id: UUID
    source: str
    type: str
    subject: str
    time: datetime
    specversion: str = SPEC_VERSION
    datacontenttype: str = CONTENT_TYPE
    dataschema: str
    data: dict[str, Any] = _Data()  # type: ignore[assignment]
    typeversion: int
    streamversion: int
    correlationid: str
    causationid: str | None = None
    actor: str
    prevhash: str
    eventhash: str
    # Where the event sits in its source store; not part of the hash.
    position: int | None = None
    # The source store's transaction that wrote it, set by the relay: ``(txid, position)``
    # is the order the relay publishes in (its commit-safe order). Not part of the hash.
    txid: int | None = None
    # The publishing service's Ed25519 signature of ``eventhash`` and its key id
    # (libs.events.signing); set when the event travels, not part of the hash.
    signingkeyid: str | None = None
    signature: str | None = None
    # The same key's signature of ``eventhash`` with ``txid`` and ``position``: a consumer
    # trusts an event's place in the order only when it verifies (libs.events.signing).
    ordersignature: str | None = None
    # The canonical JSON text of ``data`` when already known (read from a store or just
    # written), so publishing and hashing need not encode it again.
    encoded_data: str | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        fields = self.__dict__
        if "data" in fields:  # validated by pydantic (``from_kafka``): set past ``_Data``
            fields["_data"] = fields.pop("data")
        if fields["_data"] is LAZY and self.encoded_data is None:
            raise ValueError("an envelope with LAZY data needs its encoded_data")

    @classmethod
    def stored(cls, attributes: dict[str, Any], data: dict[str, Any] = LAZY) -> Envelope:
        """The envelope of an event in a store: read back, its data decoded on first use;
        just written, its ``data`` as the store had it.

        ``attributes``: ``id``, ``source``, ``type``, ``subject``, ``time``, ``dataschema``,
        ``typeversion``, ``streamversion``, ``correlationid``, ``causationid``, ``actor``,
        ``prevhash``, ``eventhash``, ``position`` and the data's ``encoded_data``. Made
        without ``__init__``, whose frozen-dataclass setting of 22 fields took more than
        half of a store read's CPU per event: the store validated the event on its way in.
        """
        envelope = object.__new__(cls)
        fields = envelope.__dict__
        fields.update(_STORED)
        fields.update(attributes)
        if data is not LAZY:
            fields["_data"] = data
        return envelope

    def signed(self, signature: str, key_id: str, order: str | None = None) -> Envelope:
        """The same envelope with a signature and its key id, and the signature of its
        place in the order when given (its data still undecoded)."""
        copy = object.__new__(Envelope)
        copy.__dict__.update(
            self.__dict__, signature=signature, signingkeyid=key_id, ordersignature=order
        )
        return copy

    def placed(self, txid: int) -> Envelope:
        """The same envelope with the transaction that wrote it: with ``position``, its
        place in the store's commit-safe order (its data still undecoded)."""
        copy = object.__new__(Envelope)
        copy.__dict__.update(self.__dict__, txid=txid)
        return copy

    @property
    def data_json(self) -> str:
        """``data`` as canonical JSON."""
        return self.encoded_data if self.encoded_data is not None else canonical_json(self.data)

    @property
    def traceparent(self) -> str | None:
        """The W3C trace context of the event (CloudEvents distributed-tracing extension):
        the correlation id is the trace id when it has a trace id's shape, and the event
        is the span; None for a correlation id from before (a dashed UUID)."""
        return traceparent_of(self.correlationid, self.id)

    @property
    def stream_id(self) -> str:
        """The stream (aggregate) this event belongs to: the CloudEvents ``subject``."""
        return self.subject


_STORED: dict[str, Any] = {
    "specversion": SPEC_VERSION,
    "datacontenttype": CONTENT_TYPE,
    "_data": LAZY,
    "txid": None,
    "signingkeyid": None,
    "signature": None,
    "ordersignature": None,
}
"""What ``Envelope.stored`` sets besides the attributes it is given."""

_TRACE_ID = re.compile(r"[0-9a-f]{32}")
_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}")


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id of a W3C ``traceparent`` header, or None if it is not a valid one."""
    found = _TRACEPARENT.fullmatch((traceparent or "").strip())
    if found is None or found[1] == "0" * 32 or found[2] == "0" * 16:
        return None
    return found[1]


def new_trace_id() -> str:
    """A correlation id for a request that brought none: a fresh W3C trace id."""
    return uuid4().hex


def traceparent_of(correlation_id: str, event_id: UUID) -> str | None:
    """``00-<trace id>-<span id>-01`` for a trace-shaped correlation id, the event as span."""
    if not _TRACE_ID.fullmatch(correlation_id) or correlation_id == "0" * 32:
        return None
    return f"00-{correlation_id}-{event_id.hex[:16]}-01"


def canonical_json(value: Any) -> str:
    """Serialise JSON-compatible data the one way the hash chain relies on."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json_without_floats(value: Any) -> str:
    """``canonical_json`` of data known to hold no float, the fast way.

    orjson writes every other JSON value as ``canonical_json`` does (keys sorted by code
    point, no spaces, non-ASCII as is, the same escapes; tests/unit/test_envelope.py) but a
    float in its own way (``0.00001`` where Python writes ``1e-05``), and a hash over the
    text must never change: data that may hold a float takes ``canonical_json``. What orjson
    refuses (a key that is not a string, an integer past 64 bits, a lone surrogate) takes
    it too.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except (orjson.JSONEncodeError, TypeError):
        return canonical_json(value)


def _canonical_attributes(value: dict[str, str | int | None]) -> str:
    """``canonical_json`` of a flat object of strings, integers and nulls, the fast way."""
    return canonical_json_without_floats(value)


_LONG_DIGITS = re.compile(r"\d{19}")


def loads(text: str) -> Any:
    """JSON text to Python values: orjson, unless the text may hold an integer past 64 bits
    (which orjson would read as a float) or holds what orjson refuses (``NaN``, a lone
    surrogate escape): those as the standard library reads them."""
    if _LONG_DIGITS.search(text) is not None:
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def format_time(value: datetime) -> str:
    """RFC 3339 UTC with microseconds, the precision PostgreSQL keeps."""
    if value.tzinfo is UTC:
        # Events appended together share their time, and are read and published together:
        # the text of the last UTC time asked for is kept (one comparison when it differs).
        last = _last_time
        if last[0] == value:
            return last[1]
        utc = value
    else:
        utc = value.astimezone(UTC)
    if utc.year >= 1000:
        # The same text as the format below (``+00:00`` cut), a quarter of its cost: every
        # append hashes it and every publish sends it. strftime writes a year before 1000
        # without leading zeros, isoformat with them, and a hash must never change.
        text = utc.isoformat(timespec="microseconds")[:-6] + "Z"
    else:
        text = utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if utc is value:
        _remember_time(value, text)
    return text


_last_time: tuple[datetime | None, str] = (None, "")


def _remember_time(value: datetime, text: str) -> None:
    global _last_time
    _last_time = (value, text)  # one assignment: a reader sees the pair or the one before


def chain_hash(
    *,
    prev_hash: str,
    event_id: UUID | str,
    source: str,
    type: str,
    type_version: int,
    stream_id: str,
    stream_version: int,
    time: datetime,
    data: dict[str, Any] | None,
    correlation_id: str,
    causation_id: str | None,
    actor: str,
    encoded_data: str | None = None,
) -> str:
    """SHA-256 of an event's canonical form, chained to the previous event of its stream.

    The hashed text is ``<prev_hash>:<canonical attributes>:<canonical data>``; pass
    ``encoded_data`` when the data's canonical JSON is already at hand (the store writes
    that same text to the database, so an append encodes each event once).
    """
    attributes = _canonical_attributes(
        {
            "id": str(event_id),
            "source": source,
            "type": type,
            "typeversion": type_version,
            "subject": stream_id,
            "streamversion": stream_version,
            "time": format_time(time),
            "correlationid": correlation_id,
            "causationid": causation_id,
            "actor": actor,
        }
    )
    if encoded_data is None:
        encoded_data = canonical_json(data)
    # ``data`` is not read when its text is given (a stored or received event's stays
    # undecoded).
    return hashlib.sha256(f"{prev_hash}:{attributes}:{encoded_data}".encode()).hexdigest()


def envelope_hash(envelope: Envelope) -> str:
    """Recompute the chained hash an envelope should carry."""
    return chain_hash(
        prev_hash=envelope.prevhash,
        event_id=envelope.id,
        source=envelope.source,
        type=envelope.type,
        type_version=envelope.typeversion,
        stream_id=envelope.subject,
        stream_version=envelope.streamversion,
        time=envelope.time,
        data=None if envelope.encoded_data is not None else envelope.data,
        correlation_id=envelope.correlationid,
        causation_id=envelope.causationid,
        actor=envelope.actor,
        encoded_data=envelope.data_json,
    )


_REPEATED_LIMIT = 1024
"""Values remembered per attribute, at most (then it starts over)."""


def _made(
    cache: dict[Any, tuple[str, bytes]], header: str, value: Any, text: str | None = None
) -> tuple[str, bytes]:
    """``value``'s header (its ``text``, else ``str(value)``), kept in ``cache``."""
    if len(cache) >= _REPEATED_LIMIT:
        cache.clear()
    made = cache[value] = (header, (str(value) if text is None else text).encode())
    return made


# Attributes whose values repeat from record to record (a service has one source and a few
# types, schemas and actors; a relay one signing key): their header is made once per value,
# not once per record.
_CONTENT_TYPE_OF: dict[Any, tuple[str, bytes]] = {}
_SPEC_VERSION_OF: dict[Any, tuple[str, bytes]] = {}
_SOURCE_OF: dict[Any, tuple[str, bytes]] = {}
_TYPE_OF: dict[Any, tuple[str, bytes]] = {}
_DATA_SCHEMA_OF: dict[Any, tuple[str, bytes]] = {}
_TYPE_VERSION_OF: dict[Any, tuple[str, bytes]] = {}
_ACTOR_OF: dict[Any, tuple[str, bytes]] = {}
_KEY_ID_OF: dict[Any, tuple[str, bytes]] = {}
# And within a batch: a stream's versions (1, 2, 3, … in every stream), an append's time and
# transaction (shared by its events).
_STREAM_VERSION_OF: dict[Any, tuple[str, bytes]] = {}
_TIME_OF: dict[Any, tuple[str, bytes]] = {}
_TXID_OF: dict[Any, tuple[str, bytes]] = {}


def to_kafka(envelope: Envelope) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Key, value and ``ce_*`` headers for Kafka binary content mode.

    The headers are the attributes in their order (``EXTENSIONS`` for the extensions),
    each set one once (tests/unit/test_envelope.py holds it to ``EXTENSIONS``)."""
    fields = envelope.__dict__
    return kafka_record(
        envelope,
        fields["txid"],
        fields["signingkeyid"],
        fields["signature"],
        fields["ordersignature"],
    )


def kafka_record(
    envelope: Envelope,
    txid: int | None,
    signingkeyid: str | None,
    signature: str | None,
    ordersignature: str | None,
) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """``to_kafka`` of the envelope with these ``txid``, ``signingkeyid``, ``signature`` and
    ``ordersignature`` (whatever it holds of them): the same bytes as
    ``to_kafka(signer.sign(envelope.placed(txid)))``, without the two copies of the
    envelope, which cost the relay about 3 µs per event it publishes. Written out rather
    than looped over, as the relay makes this per event."""
    fields = envelope.__dict__  # the fields straight from the instance
    key = fields["subject"].encode()
    content_type, spec, source = fields["datacontenttype"], fields["specversion"], fields["source"]
    type_, schema, event_id = fields["type"], fields["dataschema"], fields["id"]
    type_version, correlation_id, actor = (
        fields["typeversion"],
        fields["correlationid"],
        fields["actor"],
    )
    time, stream_version = fields["time"], fields["streamversion"]
    correlation = _correlation
    if correlation[0] != correlation_id:
        correlation = _correlation_of(correlation_id)
    headers: list[tuple[str, bytes]] = [
        _CONTENT_TYPE_OF.get(content_type) or _made(_CONTENT_TYPE_OF, "content-type", content_type),
        _SPEC_VERSION_OF.get(spec) or _made(_SPEC_VERSION_OF, "ce_specversion", spec),
        ("ce_id", str(event_id).encode()),
        _SOURCE_OF.get(source) or _made(_SOURCE_OF, "ce_source", source),
        _TYPE_OF.get(type_) or _made(_TYPE_OF, "ce_type", type_),
        ("ce_subject", key),
        _TIME_OF.get(time) or _made(_TIME_OF, "ce_time", time, format_time(time)),
        _DATA_SCHEMA_OF.get(schema) or _made(_DATA_SCHEMA_OF, "ce_dataschema", schema),
        # the extensions, in the order of EXTENSIONS
        _TYPE_VERSION_OF.get(type_version)
        or _made(_TYPE_VERSION_OF, "ce_typeversion", type_version),
        _STREAM_VERSION_OF.get(stream_version)
        or _made(_STREAM_VERSION_OF, "ce_streamversion", stream_version),
        correlation[1],
    ]
    if (causation_id := fields["causationid"]) is not None:
        headers.append(("ce_causationid", causation_id.encode()))
    headers += (
        _ACTOR_OF.get(actor) or _made(_ACTOR_OF, "ce_actor", actor),
        ("ce_prevhash", fields["prevhash"].encode()),
        ("ce_eventhash", fields["eventhash"].encode()),
    )
    if (position := fields["position"]) is not None:
        headers.append(("ce_position", str(position).encode()))
    if txid is not None:
        headers.append(_TXID_OF.get(txid) or _made(_TXID_OF, "ce_txid", txid))
    if signingkeyid is not None:
        headers.append(
            _KEY_ID_OF.get(signingkeyid) or _made(_KEY_ID_OF, "ce_signingkeyid", signingkeyid)
        )
    if signature is not None:
        headers.append(("ce_signature", signature.encode()))
    if ordersignature is not None:
        headers.append(("ce_ordersignature", ordersignature.encode()))
    if (trace := correlation[2]) is not None:
        # ``traceparent_of``'s text, its fixed parts made once per correlation id
        headers.append(("ce_traceparent", trace + event_id.hex[:16].encode() + b"-01"))
    encoded = fields["encoded_data"]
    value = (encoded if encoded is not None else canonical_json(envelope.data)).encode()
    return key, value, headers


def _correlation_of(correlation_id: str) -> tuple[str, tuple[str, bytes], bytes | None]:
    """A correlation id, its header and, for a trace-shaped one, the start of every
    ``traceparent`` under it (a command's events share it, and so do their records)."""
    global _correlation
    trace = None
    if traceparent_of(correlation_id, _NO_EVENT) is not None:
        trace = f"00-{correlation_id}-".encode()
    made = _correlation = (correlation_id, ("ce_correlationid", correlation_id.encode()), trace)
    return made


_NO_EVENT = UUID(int=0)
_correlation: tuple[str, tuple[str, bytes], bytes | None] = _correlation_of("")
"""The correlation id last made a record of, with what ``_correlation_of`` made of it (one
assignment: a reader sees the triple or the one before)."""


class EnvelopeError(ValueError):
    """A Kafka record that is not a well-formed Zhengfeng CloudEvent."""


_VALIDATOR = TypeAdapter(Envelope)


def from_kafka(value: bytes | None, headers: list[tuple[str, bytes]] | tuple[Any, ...]) -> Envelope:
    """Rebuild an envelope from a binary-mode Kafka record; raises ``EnvelopeError``."""
    attrs: dict[str, Any] = {}
    for name, raw in headers:
        if name != "content-type" and not name.startswith(_HEADER_PREFIX):
            continue
        try:
            decoded = raw.decode()
        except (AttributeError, UnicodeDecodeError) as exc:
            raise EnvelopeError(f"header {name!r} is not UTF-8 text: {exc}") from exc
        if "\x00" in decoded:
            raise EnvelopeError(f"header {name!r} holds a NUL character")
        attrs["datacontenttype" if name == "content-type" else name[len(_HEADER_PREFIX) :]] = (
            decoded
        )
    attrs.pop("traceparent", None)  # derived from the correlation id and the event id
    if attrs.get("specversion") != SPEC_VERSION:
        raise EnvelopeError(f"not a CloudEvents {SPEC_VERSION} record (ce_specversion missing)")
    try:
        text = (value or b"null").decode()
        attrs["data"] = loads(text)
        # Keep the exact text received: the event hash covers it, so it can be checked.
        attrs["encoded_data"] = text
        return _VALIDATOR.validate_python(attrs)
    except (ValueError, TypeError) as exc:
        raise EnvelopeError(str(exc)) from exc


def to_structured(envelope: Envelope) -> dict[str, Any]:
    """The envelope in CloudEvents *structured* JSON mode: every attribute plus ``data``.

    The same attributes a Kafka record carries as ``ce_*`` headers, so a subscriber
    reading the HTTP catch-up feed and then the topic sees one shape of event.
    """
    event: dict[str, Any] = {
        "specversion": envelope.specversion,
        "id": str(envelope.id),
        "source": envelope.source,
        "type": envelope.type,
        "subject": envelope.subject,
        "time": format_time(envelope.time),
        "datacontenttype": envelope.datacontenttype,
        "dataschema": envelope.dataschema,
    }
    for name in EXTENSIONS:
        value = getattr(envelope, name)
        if value is not None:
            event[name] = value
    if (trace := envelope.traceparent) is not None:
        event["traceparent"] = trace
    event["data"] = envelope.data
    return event
