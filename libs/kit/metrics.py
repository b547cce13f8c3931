"""Prometheus metrics every service exports at ``/metrics``.

Metrics are module-level (one set per process) and labelled by service, so several
apps in one test process share them without re-registration errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "zhengfeng_http_requests_total", "HTTP requests", ["service", "method", "route", "status"]
)
LATENCY = Histogram(
    "zhengfeng_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
)
EVENTS_APPENDED = Counter(
    "zhengfeng_events_appended_total", "Events appended to the store", ["service"]
)
EVENTS_RELAYED = Counter("zhengfeng_events_relayed_total", "Events published to Kafka", ["service"])
RELAY_LAG = Gauge("zhengfeng_relay_lag_events", "Stored events not yet published", ["service"])
RELAY_HELD_BACK = Gauge(
    "zhengfeng_relay_held_back_seconds",
    "How long committed events have waited behind an open transaction of the database",
    ["service"],
)
CONSUMER_LAG = Gauge(
    "zhengfeng_consumer_lag_messages",
    "Messages behind the partition end",
    ["service", "topic", "partition"],
)
EVENTS_CONSUMED = Counter(
    "zhengfeng_events_consumed_total", "Events applied by consumers", ["service", "outcome"]
)
DEAD_LETTERS = Counter(
    "zhengfeng_dead_letters_total", "Messages parked on the dead-letter topic", ["service"]
)


def consumer_outcome_counter(service: str) -> Callable[[str], None]:
    """Count a consumer's outcomes: applied, duplicate, skipped, known (at or below the
    consumer's position: skipped with no database round trip), retry, dead_letter, replayed."""

    def count(outcome: str) -> None:
        EVENTS_CONSUMED.labels(service, outcome).inc()
        if outcome == "dead_letter":
            DEAD_LETTERS.labels(service).inc()

    return count


class Measure:
    """ASGI middleware: count and time every HTTP request by route and status.

    Plain ASGI, not ``app.middleware("http")``: that runs the rest of the app in a task
    group of its own with streams between, a cost on every request for nothing here."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # unless a response comes back: a crash is answered further out

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            LATENCY.labels(self.service, method, path).observe(time.perf_counter() - start)
            REQUESTS.labels(self.service, method, path, str(status)).inc()


def install(app: FastAPI, service: str) -> None:
    """Count and time every request; serve ``/metrics``."""
    app.add_middleware(Measure, service=service)

    @app.get("/metrics", include_in_schema=False)
    async def _metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
