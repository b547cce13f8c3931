"""What OpenTelemetry costs a request: CPU time per ``GET /healthz`` of casework's app, with
no OTLP endpoint (the default: nothing set up) and with one (FastAPI's server span, batched
and exported over OTLP/HTTP to a receiver in this process that drops what it gets).

    .venv/bin/python -m bench.tracing            # 3 rounds of 2000 requests each way
    BENCH_TRACING_REQUESTS=500 .venv/bin/python -m bench.tracing

The app is called in process (no sockets, no lifespan) so that what differs is the
telemetry; the rounds alternate and the figure is CPU time (this process's, the export
thread included), which a busy machine barely inflates. Prints figures; asserts nothing.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest import mock

import httpx

from services.casework import app as casework_app

REQUESTS = int(os.environ.get("BENCH_TRACING_REQUESTS") or 2000)
ROUNDS = int(os.environ.get("BENCH_TRACING_ROUNDS") or 3)


class _Drop(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


async def _cpu_per_request(app: Any) -> float:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://casework") as client:
        for _ in range(50):  # warm up
            await client.get("/healthz")
        started = time.process_time()
        for _ in range(REQUESTS):
            response = await client.get("/healthz")
            assert response.status_code == 200
        return (time.process_time() - started) / REQUESTS


async def main() -> None:
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Drop)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{receiver.server_address[1]}"
    settings = casework_app.Settings(database_url="postgresql://nobody@127.0.0.1/none")
    plain = casework_app.create(settings)
    with mock.patch.dict(os.environ, {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}):
        traced = casework_app.create(settings)
    figures: dict[str, list[float]] = {"no endpoint": [], "OTLP endpoint": []}
    for _ in range(ROUNDS):
        figures["no endpoint"].append(await _cpu_per_request(plain))
        figures["OTLP endpoint"].append(await _cpu_per_request(traced))
    print(f"load average {os.getloadavg()[0]:.1f}; {ROUNDS} rounds of {REQUESTS} requests")
    for name, values in figures.items():
        ms = ", ".join(f"{v * 1000:.3f}" for v in values)
        print(
            f"{name:>14}: CPU ms per request {ms} (median {sorted(values)[len(values) // 2] * 1000:.3f})"
        )
    # The receiver stays up: the provider exports what is left at exit.


if __name__ == "__main__":
    asyncio.run(main())
