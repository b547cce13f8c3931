"""A government system subscribing to one Zhengfeng service's events.

Plain clients only: httpx for the OAuth2 token and the HTTP catch-up feed, aiokafka for
the topic. What it does, in the order that loses nothing:

1. Take a client-credentials token (a ``system`` client with the ``events:read`` scope).
2. Note the topic's current end offsets, before reading any history.
3. Replay history from the catch-up feed (``GET /v1/events?after=<position>``) until it
   says ``caught_up`` — it holds every event, however old.
4. Switch to Kafka from the offsets noted in step 2. Events relayed while the feed was
   being read arrive both ways; skip the ids (``ce_id``) already seen.

Delivery is at-least-once on both paths, so a real subscriber keeps its own record of
event ids it has applied (as Zhengfeng's own consumers do with their inbox table).

    python examples/subscriber.py --service casework \\
        --service-url http://127.0.0.1:8003 --token-url http://127.0.0.1:8001/oauth/token \\
        --client-id system-… --client-secret … --bootstrap 127.0.0.1:9092
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition


def topic_of(service: str) -> str:
    """The topic a service publishes to (``ZF_TOPIC_PREFIX`` defaults to ``zhengfeng``)."""
    return f"{os.environ.get('ZF_TOPIC_PREFIX') or 'zhengfeng'}.{service}.events"


def event_from_record(value: bytes | None, headers: Any) -> dict[str, Any]:
    """A Kafka record (CloudEvents binary mode) as the same dict the feed serves."""
    event: dict[str, Any] = {
        name[3:]: raw.decode() for name, raw in headers if name.startswith("ce_")
    }
    event["data"] = json.loads(value or b"null")
    return event


def handle(event: dict[str, Any], via: str) -> None:
    """What this subscriber does with an event: here, print it (one JSON line)."""
    line = {
        "via": via,
        "position": int(event["position"]),
        "type": event["type"],
        "subject": event["subject"],
        "id": event["id"],
    }
    print(json.dumps(line, ensure_ascii=False), flush=True)


async def token(http: httpx.AsyncClient, url: str, client_id: str, secret: str) -> str:
    """An access token by the OAuth2 client-credentials grant."""
    response = await http.post(
        url,
        data={"grant_type": "client_credentials", "scope": "events:read"},
        auth=(client_id, secret),
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


async def end_offsets(consumer: AIOKafkaConsumer, topic: str) -> dict[TopicPartition, int]:
    """Assign every partition of the topic and note where it ends now."""
    partitions = consumer.partitions_for_topic(topic)
    while not partitions:
        await consumer._client.force_metadata_update()  # topic metadata not loaded yet
        partitions = consumer.partitions_for_topic(topic)
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(tps)
    return dict(await consumer.end_offsets(tps))


async def replay(
    http: httpx.AsyncClient, feed_url: str, bearer: str, after: int, seen: set[str]
) -> int:
    """Read the catch-up feed from ``after`` until caught up; returns the last position."""
    while True:
        response = await http.get(
            feed_url,
            params={"after": after, "limit": 500},
            headers={"Authorization": f"Bearer {bearer}"},
        )
        response.raise_for_status()
        page = response.json()
        for event in page["items"]:
            if event["id"] not in seen:
                seen.add(event["id"])
                handle(event, "feed")
        after = page["next_after"]
        if page["caught_up"]:
            return after


async def subscribe(args: argparse.Namespace) -> None:
    """Replay, then follow the topic until ``--until`` events or ``--follow`` seconds."""
    topic = topic_of(args.service)
    seen: set[str] = set()
    consumer = AIOKafkaConsumer(bootstrap_servers=args.bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            offsets = await end_offsets(consumer, topic)
            bearer = await token(http, args.token_url, args.client_id, args.client_secret)
            last = await replay(http, f"{args.service_url}/v1/events", bearer, args.after, seen)
            print(json.dumps({"caught_up_at": last, "switching_to": topic}), flush=True)
        for tp, offset in offsets.items():
            consumer.seek(tp, offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + args.follow
        while loop.time() < deadline and (args.until is None or len(seen) < args.until):
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    event = event_from_record(record.value, record.headers)
                    if event.get("id") and event["id"] not in seen:
                        seen.add(event["id"])
                        handle(event, "kafka")
    finally:
        await consumer.stop()


def main(argv: list[str] | None = None) -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", default="casework")
    parser.add_argument("--service-url", default="http://127.0.0.1:8003")
    parser.add_argument("--token-url", default="http://127.0.0.1:8001/oauth/token")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", ""))
    parser.add_argument("--after", type=int, default=0, help="position already seen (0: all)")
    parser.add_argument("--follow", type=float, default=3600.0, help="seconds to follow Kafka")
    parser.add_argument("--until", type=int, default=None, help="stop after this many events")
    args = parser.parse_args(argv)
    if not args.bootstrap:
        sys.exit("--bootstrap (or KAFKA_BOOTSTRAP_SERVERS) is required")
    asyncio.run(subscribe(args))


if __name__ == "__main__":
    main()
