"""OpenTelemetry: one trace from a partner's POST to casework's handling, over OTLP/HTTP.

The four services run as processes with ``OTEL_EXPORTER_OTLP_ENDPOINT`` pointing at a
receiver in this test: a plain HTTP server taking ``POST /v1/traces`` (OTLP/HTTP,
protobuf) and decoding it with the OpenTelemetry protocol's own messages. The partner's
system sends a W3C ``traceparent``; the spans the platform exports carry its trace id from
intake's HTTP span to casework's handling of the event, linked parent to child.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest import mock
from uuid import uuid4

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span as SpanProto
from sqlalchemy import text

from tests.e2e.conftest import Platform, Tokens, running_platform
from tests.factories import namesake_id_number

ARRIVES_WITHIN = 30.0


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]


class Receiver:
    """An OTLP/HTTP trace receiver: keeps every span posted to ``/v1/traces``."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.requests = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path != "/v1/traces" or not self.headers.get("Content-Type", "").startswith(
                    "application/x-protobuf"
                ):
                    self.send_response(404)
                    self.end_headers()
                    return
                receiver.take(ExportTraceServiceRequest.FromString(body))
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def take(self, request: ExportTraceServiceRequest) -> None:
        found = []
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    found.append(
                        ReceivedSpan(
                            service=resource.get("service.name", ""),
                            name=span.name,
                            kind=span.kind,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            attributes={a.key: _value(a.value) for a in span.attributes},
                        )
                    )
        with self._lock:
            self.requests += 1
            self.spans.extend(found)

    def of_trace(self, trace_id: str) -> list[ReceivedSpan]:
        with self._lock:
            return [s for s in self.spans if s.trace_id == trace_id]


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    thread = threading.Thread(target=r.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


@pytest.fixture(scope="module")
async def platform(
    database_url: str, bootstrap: str, platform_logs: Path, receiver: Receiver
) -> AsyncIterator[Platform]:
    """The platform exporting its spans to ``receiver`` (batches every 100 ms)."""
    traced = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    with mock.patch.dict(os.environ, traced):
        async with running_platform(database_url, bootstrap, platform_logs) as p:
            yield p


async def _spans(receiver: Receiver, trace_id: str, want: Any) -> list[ReceivedSpan]:
    deadline = time.monotonic() + ARRIVES_WITHIN
    while True:
        spans = receiver.of_trace(trace_id)
        if want(spans):
            return spans
        if time.monotonic() > deadline:
            raise AssertionError(f"spans of trace {trace_id}: {spans}")
        await asyncio.sleep(0.2)


def _one(spans: list[ReceivedSpan], **wanted: Any) -> ReceivedSpan:
    found = [s for s in spans if all(getattr(s, k) == v for k, v in wanted.items())]
    assert len(found) == 1, (wanted, spans)
    return found[0]


async def test_one_trace_spans_intakes_http_span_and_caseworks_handling(
    platform: Platform, tokens: Tokens, receiver: Receiver
) -> None:
    trace, caller_span = uuid4().hex, uuid4().hex[:16]
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            platform.url("intake", "/v1/clue-transfers"),
            headers={
                **tokens.partner,
                "Idempotency-Key": str(uuid4()),
                "traceparent": f"00-{trace}-{caller_span}-01",
            },
            json={
                "reference": f"SJ-2026-{uuid4().hex[:8]}",
                "reported_persons": [
                    {"name": "冯七", "unit": "某县林业局", "id_number": namesake_id_number()}
                ],
                "categories": ["violation_gifts"],
                "narrative": "审计发现其收受购物卡。",
            },
        )
    assert response.status_code == 201, response.text
    assert response.headers["x-correlation-id"] == trace
    clue_id = response.json()["clue_id"]

    def complete(spans: list[ReceivedSpan]) -> bool:
        return any(
            s.service == "zhengfeng-casework" and s.kind == SpanProto.SPAN_KIND_CONSUMER
            for s in spans
        )

    spans = await _spans(receiver, trace, complete)

    # intake: the HTTP server span, a child of the partner's span; the command under it.
    http = _one(spans, service="zhengfeng-intake", kind=SpanProto.SPAN_KIND_SERVER)
    assert http.parent_span_id == caller_span
    assert http.attributes["http.route"] == "/v1/clue-transfers"
    assert http.attributes["http.response.status_code"] == 201
    commands = [
        s for s in spans if s.service == "zhengfeng-intake" and s.name.startswith("command ")
    ]
    assert commands and all(c.parent_span_id == http.span_id for c in commands), spans

    # intake's relay publishes each event as its own span: the span id of the event's
    # traceparent. casework handles the event under it.
    published = {
        s.span_id: s
        for s in spans
        if s.service == "zhengfeng-intake" and s.kind == SpanProto.SPAN_KIND_PRODUCER
    }
    assert published, spans
    handled = [
        s
        for s in spans
        if s.service == "zhengfeng-casework" and s.kind == SpanProto.SPAN_KIND_CONSUMER
    ]
    for span in handled:
        assert span.parent_span_id in published, (span, published)
        assert (
            span.attributes["cloudevents.event_type"]
            == published[span.parent_span_id].attributes["cloudevents.event_type"]
        )

    # The event casework applied is under the same trace id.
    engine = platform.engine("casework")
    try:
        async with engine.connect() as conn:
            applied = (
                await conn.execute(
                    text("SELECT type, correlation_id FROM events WHERE stream_id = :s"),
                    {"s": f"clue-{clue_id}"},
                )
            ).all()
    finally:
        await engine.dispose()
    assert applied and {row.correlation_id for row in applied} == {trace}


async def test_a_request_without_traceparent_starts_the_trace_its_correlation_id_names_and_its_span_keeps_no_query_value(
    platform: Platform, receiver: Receiver
) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(platform.url("casework", "/v1/schemas?name=冯七"))
    assert response.status_code == 200
    trace = response.headers["x-correlation-id"]

    spans = await _spans(receiver, trace, bool)

    http = _one(spans, service="zhengfeng-casework", kind=SpanProto.SPAN_KIND_SERVER)
    assert http.parent_span_id == ""
    assert http.attributes["http.route"] == "/v1/schemas"
    assert http.attributes["url.query"] == "name=REDACTED"  # a query may name a person
