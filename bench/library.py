"""The `eventsourcing` library (9.x) with its PostgreSQL persistence, for comparison.

Configured only through its environment settings; it gets a fresh schema per run.
The library is synchronous, so concurrent writers are threads. Each function
returns (events, seconds).
"""

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.common import EVENTS_PER_STREAM, PAYLOAD

SCHEMA = "bench_es"


class Clue(Aggregate):
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    @event("Noted")
    def note(self, data: dict[str, Any]) -> None:
        self.data = data


class BenchApp(Application[Any]):
    """Events land in {SCHEMA}.benchapp_events."""


def _settings(database_url: str, pool_size: int) -> dict[str, str]:
    url = urlsplit(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(url.path.lstrip("/")),
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        "POSTGRES_SCHEMA": SCHEMA,
        "POSTGRES_POOL_SIZE": str(pool_size),
        "CREATE_TABLE": "yes",
    }


class Library:
    def __init__(self, database_url: str, pool_size: int = 8) -> None:
        self.database_url = database_url
        self._ddl(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}")
        self.app = BenchApp(env=_settings(database_url, pool_size))

    def _ddl(self, sql: str) -> None:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute(sql)

    def _save_singles(self, n: int) -> None:
        for i in range(n):
            if i % EVENTS_PER_STREAM == 0:
                clue = Clue(PAYLOAD)
            else:
                clue.note(PAYLOAD)
            self.app.save(clue)

    def save_single(self, writers: int, n: int) -> tuple[int, float]:
        """n saves of one event each (new aggregate every 10 events), split over threads."""
        per_writer = n // writers
        with ThreadPoolExecutor(writers) as pool:
            start = time.perf_counter()
            list(pool.map(self._save_singles, [per_writer] * writers))
            return per_writer * writers, time.perf_counter() - start

    def save_batches(self, n_batches: int, size: int) -> tuple[int, float]:
        """n_batches saves of one new aggregate carrying `size` events."""
        start = time.perf_counter()
        for _ in range(n_batches):
            clue = Clue(PAYLOAD)
            for _ in range(size - 1):
                clue.note(PAYLOAD)
            self.app.save(clue)
        return n_batches * size, time.perf_counter() - start

    def read_all(self, page: int = 1000) -> tuple[int, float]:
        """Every notification via recorder.select_notifications, `page` at a time (not decoded)."""
        recorder = self.app.recorder
        count, position = 0, 1
        start = time.perf_counter()
        while notifications := recorder.select_notifications(position, page):
            count += len(notifications)
            position = notifications[-1].id + 1
        return count, time.perf_counter() - start

    def close(self) -> None:
        self.app.close()
        self._ddl(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
