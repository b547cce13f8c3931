"""An AsyncAPI 3.0 description of a service's event streams, built from the contracts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from libs.events.contracts import EventRegistry, schema_uri
from libs.events.envelope import EXTENSIONS
from libs.events.kafka import events_topic

FEED_PATH = "/v1/events"
FEED_SCOPE = "events:read"
"""The scope a system client needs to read a service's catch-up feed."""

_CE_HEADERS: dict[str, Any] = {
    "type": "object",
    "required": [
        "ce_specversion",
        "ce_id",
        "ce_source",
        "ce_type",
        "ce_subject",
        "ce_time",
        "ce_signingkeyid",
        "ce_signature",
    ],
    "properties": {
        **{
            f"ce_{name}": {"type": "string"}
            for name in ("specversion", "id", "source", "type", "subject", "time", "dataschema")
        },
        **{f"ce_{name}": {"type": "string"} for name in EXTENSIONS},
        "content-type": {"type": "string", "const": "application/json"},
    },
}


def _headers(type_name: str, version: int) -> dict[str, Any]:
    """The CloudEvents headers of one event type and version: type, version and schema fixed."""
    properties = dict(_CE_HEADERS["properties"])
    properties["ce_type"] = {"type": "string", "const": type_name}
    properties["ce_typeversion"] = {"type": "string", "const": str(version)}
    properties["ce_dataschema"] = {"type": "string", "const": schema_uri(type_name, version)}
    properties["ce_position"] = {
        "type": "string",
        "description": "global position in the source store; the catch-up feed's cursor",
    }
    properties["ce_txid"] = {
        "type": "string",
        "description": "id of the source store's transaction that wrote the event; "
        "(ce_txid, ce_position) is the order the relay publishes in, ascending within a "
        "partition except for repeats",
    }
    properties["ce_ordersignature"] = {
        "type": "string",
        "description": "Ed25519 signature (base64url, no padding), by the ce_signingkeyid key, "
        "of 'zhengfeng-event-order-v1:' + ce_eventhash + ':' + ce_txid + ':' + ce_position; "
        "consumers skip what lies at or below the highest place they applied only when it "
        "verifies",
    }
    properties["ce_signingkeyid"] = {
        "type": "string",
        "description": "id of the publishing service's Ed25519 key (its /.well-known/"
        "event-keys.json lists the public keys by kid)",
    }
    properties["ce_signature"] = {
        "type": "string",
        "description": "Ed25519 signature (base64url, no padding) of the bytes "
        "'zhengfeng-event-signature-v1:' + ce_eventhash; consumers apply only events whose "
        "signature verifies under a key of the service named by ce_source, read from that "
        "service's own topic",
    }
    return {**_CE_HEADERS, "properties": properties}


def _message_name(type_name: str) -> str:
    return type_name.removeprefix("zhengfeng.").replace(".", "_")


def asyncapi_document(
    service: str,
    registry: EventRegistry,
    *,
    consumes: Sequence[str] = (),
    shares: Sequence[str] = (),
    kafka_host: str = "kafka:9092",
) -> dict[str, Any]:
    """The streams a service publishes (and those it consumes) with their message schemas.

    ``shares`` names families of events several services record on their own streams
    (``approvals``): they are listed on the service's own channel."""
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for owner in (service, *consumes):
        refs = {}
        families = (owner, *shares) if owner == service else (owner,)
        for contract in registry:
            if not contract.type_name.startswith(tuple(f"zhengfeng.{f}." for f in families)):
                continue
            name = _message_name(contract.type_name)
            messages[name] = {
                "name": contract.type_name,
                "title": contract.type_name,
                "summary": (contract.__doc__ or "").strip().splitlines()[0]
                if contract.__doc__
                else "",
                "contentType": "application/json",
                "headers": _headers(contract.type_name, contract.version),
                "payload": registry.json_schema(contract.type_name),
                "bindings": {
                    "kafka": {"key": {"type": "string", "description": "stream id (ce_subject)"}}
                },
            }
            refs[name] = {"$ref": f"#/components/messages/{name}"}
        channels[owner] = {
            "address": events_topic(owner),
            "description": f"Every event of the {owner} store, CloudEvents 1.0 binary mode, key = stream id.",
            "messages": refs,
        }
        action = "send" if owner == service else "receive"
        operations[f"{action}_{owner}_events"] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{owner}"},
            "messages": [{"$ref": f"#/channels/{owner}/messages/{n}"} for n in refs],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"Zhengfeng {service} events",
            "version": "0.1.0",
            "description": (
                "Immutable, hash-chained events; subscribe with any Kafka or CloudEvents "
                "client. Each record: key = stream id, value = JSON data, CloudEvents "
                "attributes in ce_* headers. History older than the topic keeps is served "
                f"by the catch-up feed: GET {FEED_PATH}?after=<position>&limit=<n> on the "
                f"{service} service (bearer token with scope {FEED_SCOPE}), the same events "
                "in CloudEvents structured JSON, in commit order; replay it, then switch "
                "to the topic and skip event ids (ce_id) already seen. Personal data and "
                "free text (reasons, notes, narratives, findings) travel sealed: a name as a "
                "mask plus pii1.* tokens, a text as a pii1m.<matter>.* token that only the "
                "platform opens; treat them as opaque strings."
            ),
        },
        "x-catch-up-feed": {
            "path": FEED_PATH,
            "query": {"after": "global position of the last event seen (0 = start)"},
            "scope": FEED_SCOPE,
            "format": "CloudEvents 1.0 structured JSON",
        },
        "defaultContentType": "application/json",
        "servers": {"kafka": {"host": kafka_host, "protocol": "kafka"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }
