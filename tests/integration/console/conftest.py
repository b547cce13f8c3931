"""A console app on a fresh schema of the test database, its lifespan run, and a clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from console.app import create
from console.settings import ConsoleSettings
from tests.conftest import Schemas, unique


class Clock:
    """The sessions' clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def running(
    schemas: Schemas,
    schema: str | None = None,
    clock: Callable[[], float] | None = None,
    **settings: Any,
) -> AsyncIterator[tuple[FastAPI, str]]:
    """A console app started on ``schema`` (a fresh one unless named); (app, schema)."""
    schema = schema or unique("t_console")
    if schema not in schemas.created:
        schemas.created.append(schema)
    settings.setdefault("services", {"intake": "http://issuer", "casework": "http://casework"})
    app = create(ConsoleSettings(database_url=schemas.database_url, db_schema=schema, **settings))
    if clock is not None:
        app.state.sessions.clock = clock
    async with app.router.lifespan_context(app):
        yield app, schema


def client(app: FastAPI, base: str = "http://console") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base)
