"""Prometheus metrics every service exports at ``/metrics``.

Metrics are module-level (one set per process) and labelled by service, so several
apps in one test process share them without re-registration errors.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

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


def install(app: FastAPI, service: str) -> None:
    """Count and time every request; serve ``/metrics``."""

    @app.middleware("http")
    async def _measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        start = time.perf_counter()
        status = 500  # unless a response comes back: a crash is answered further out
        try:
            response = await call_next(request)
            status = response.status_code
        finally:
            route = request.scope.get("route")
            path = getattr(route, "path", "unmatched")
            LATENCY.labels(service, request.method, path).observe(time.perf_counter() - start)
            REQUESTS.labels(service, request.method, path, str(status)).inc()
        return response

    @app.get("/metrics", include_in_schema=False)
    async def _metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
