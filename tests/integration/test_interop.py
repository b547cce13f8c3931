"""Systems outside Zhengfeng can read what the relay publishes without our code.

A partner system with a CloudEvents SDK, or only a plain Kafka client (librdkafka), reads
an event the real relay put on the real broker.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, Message

from libs.events.envelope import Envelope
from libs.events.relay import Relay
from libs.events.store import NO_STREAM, EventStore, Metadata
from tests.conftest import unique
from tests.factories import clue_received, person
from tests.integration.kafka_support import (
    DEADLINE,
    new_topic,
    read_topic,
    running,
    started_producer,
    wait_relay_caught_up,
)

try:  # cloudevents 1.x
    from cloudevents.kafka import KafkaMessage, from_binary
except ImportError:  # cloudevents 2.x keeps the 1.x API under v1
    from cloudevents.v1.kafka import KafkaMessage, from_binary

META = Metadata(
    actor="partner:demo-audit-bureau", correlation_id="corr-interop", causation_id="cmd-42"
)


async def publish_a_clue(store: EventStore, bootstrap: str) -> tuple[str, Envelope]:
    """One clue event, appended to the store and published by the relay."""
    clue = clue_received(persons=[person("王五", "某县财政局", post="副局长")])
    (recorded,) = await store.append(
        f"clue-{clue.clue_id}", [clue], expected_version=NO_STREAM, meta=META
    )
    topic = await new_topic(bootstrap, unique("interop"))
    async with started_producer(bootstrap) as producer:
        relay = Relay(store, producer, topic, bootstrap=bootstrap)
        async with running(relay.run):
            await wait_relay_caught_up(relay)
    return topic, recorded.envelope


async def test_a_cloudevents_sdk_reads_the_relayed_event_with_its_attributes_and_data(
    store: EventStore, bootstrap: str
) -> None:
    topic, envelope = await publish_a_clue(store, bootstrap)
    (record,) = await read_topic(bootstrap, topic)

    event = from_binary(
        KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)
    )

    assert event["specversion"] == "1.0"
    assert event["id"] == str(envelope.id)
    assert event["type"] == "zhengfeng.intake.clue_received"
    assert event["source"] == "/zhengfeng/test"
    assert event["subject"] == envelope.subject
    assert event["datacontenttype"] == "application/json"
    assert event["dataschema"] == envelope.dataschema
    assert datetime.fromisoformat(event["time"].replace("Z", "+00:00")) == envelope.time
    assert event["partitionkey"] == envelope.subject.encode()
    extensions = {
        name: event[name]
        for name in (
            "typeversion",
            "streamversion",
            "correlationid",
            "causationid",
            "actor",
            "prevhash",
            "eventhash",
            "position",
        )
    }
    assert extensions == {
        "typeversion": "3",
        "streamversion": "1",
        "correlationid": "corr-interop",
        "causationid": "cmd-42",
        "actor": "partner:demo-audit-bureau",
        "prevhash": "0" * 64,
        "eventhash": envelope.eventhash,
        "position": str(envelope.position),
    }
    assert event.data == envelope.data
    assert event.data["reported_persons"][0]["name"] == "王五"


async def test_the_cloudevents_core_binding_accepts_the_relayed_event_as_valid(
    store: EventStore, bootstrap: str
) -> None:
    core = pytest.importorskip("cloudevents.core.bindings.kafka")
    json_format = pytest.importorskip("cloudevents.core.formats.json")
    topic, envelope = await publish_a_clue(store, bootstrap)
    (record,) = await read_topic(bootstrap, topic)

    # The 2.x core API validates attribute and extension names against the spec.
    event = core.from_binary(
        core.KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value),
        json_format.JSONFormat(),
    )

    assert event.get_id() == str(envelope.id)
    assert event.get_subject() == envelope.subject
    assert event.get_time() == envelope.time
    assert event.get_extension("streamversion") == "1"
    assert event.get_data() == envelope.data


def consume_with_librdkafka(bootstrap: str, topic: str, count: int) -> list[dict[str, Any]]:
    """Read ``count`` messages the way a plain Kafka client in another system would."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": unique("librdkafka"),
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            # Short sessions: the embedded broker delays a group's first join by about half.
            "session.timeout.ms": 1000,
            "heartbeat.interval.ms": 300,
        }
    )
    consumer.subscribe([topic])
    messages: list[Message] = []
    deadline = time.monotonic() + DEADLINE
    try:
        while len(messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"librdkafka read {len(messages)} of {count} messages")
            message = consumer.poll(0.2)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                if error.retriable() or error.code() == KafkaError._PARTITION_EOF:
                    continue
                raise AssertionError(f"librdkafka consumer error: {error}")
            messages.append(message)
    finally:
        consumer.close()
    return [
        {
            "key": m.key(),
            "headers": {name: value.decode() for name, value in m.headers() or []},
            "value": json.loads(m.value() or b"null"),
        }
        for m in messages
    ]


async def test_a_plain_librdkafka_consumer_reads_key_ce_headers_and_json_value(
    store: EventStore, bootstrap: str
) -> None:
    topic, envelope = await publish_a_clue(store, bootstrap)

    (message,) = await asyncio.to_thread(consume_with_librdkafka, bootstrap, topic, 1)

    assert message["key"] == envelope.subject.encode()
    headers = message["headers"]
    assert headers["content-type"] == "application/json"
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_id"] == str(envelope.id)
    assert headers["ce_type"] == "zhengfeng.intake.clue_received"
    assert headers["ce_source"] == "/zhengfeng/test"
    assert headers["ce_subject"] == envelope.subject
    assert headers["ce_streamversion"] == "1"
    assert headers["ce_correlationid"] == "corr-interop"
    assert headers["ce_eventhash"] == envelope.eventhash
    assert message["value"] == envelope.data
    assert message["value"]["narrative"] == "春节期间公务卡在私人会所消费。"
