"""An AsyncAPI 3.0 description of a service's event streams, built from the contracts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from libs.events.contracts import EventRegistry
from libs.events.envelope import EXTENSIONS
from libs.events.kafka import events_topic

_CE_HEADERS: dict[str, Any] = {
    "type": "object",
    "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_subject", "ce_time"],
    "properties": {
        **{
            f"ce_{name}": {"type": "string"}
            for name in ("specversion", "id", "source", "type", "subject", "time", "dataschema")
        },
        **{f"ce_{name}": {"type": "string"} for name in EXTENSIONS},
        "content-type": {"type": "string", "const": "application/json"},
    },
}


def _message_name(type_name: str) -> str:
    return type_name.removeprefix("zhengfeng.").replace(".", "_")


def asyncapi_document(
    service: str,
    registry: EventRegistry,
    *,
    consumes: Sequence[str] = (),
    kafka_host: str = "kafka:9092",
) -> dict[str, Any]:
    """The streams a service publishes (and those it consumes) with their message schemas."""
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for owner in (service, *consumes):
        refs = {}
        for contract in registry:
            if not contract.type_name.startswith(f"zhengfeng.{owner}."):
                continue
            name = _message_name(contract.type_name)
            messages[name] = {
                "name": contract.type_name,
                "title": contract.type_name,
                "summary": (contract.__doc__ or "").strip().splitlines()[0]
                if contract.__doc__
                else "",
                "contentType": "application/json",
                "headers": _CE_HEADERS,
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
            "description": "Immutable, hash-chained events; subscribe with any Kafka or CloudEvents client.",
        },
        "defaultContentType": "application/json",
        "servers": {"kafka": {"host": kafka_host, "protocol": "kafka"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }
