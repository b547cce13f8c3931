"""Composition of the console: settings, the session store, the issuer's key set, routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware

from console import login, proxy, web
from console.sessions import Sessions
from console.settings import ConsoleSettings, session_key
from libs.kit import problems
from libs.kit.auth import JwksVerifier, http_jwks_fetcher
from libs.kit.db import make_engine


def create(settings: ConsoleSettings | None = None) -> FastAPI:
    """The console's ASGI app."""
    settings = settings or ConsoleSettings()
    if not settings.database_url:
        raise RuntimeError("the console keeps its sessions in PostgreSQL: set DATABASE_URL")
    engine = make_engine(settings.database_url, settings.db_schema, pool_size=4, app="console")
    sessions = Sessions(
        engine,
        settings.db_schema,
        session_key(),
        idle_seconds=settings.session_idle_seconds,
        max_seconds=settings.session_max_seconds,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await app.state.sessions.start()
        async with httpx.AsyncClient(timeout=settings.upstream_timeout_seconds) as client:
            app.state.http = client
            try:
                yield
            finally:
                await engine.dispose()

    app = FastAPI(title="正风 办案工作台", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.sessions = sessions
    app.state.verifier = JwksVerifier(
        http_jwks_fetcher(f"{settings.services['intake']}/.well-known/jwks.json"),
        issuer=settings.token_issuer,
        audience=settings.token_audience,
    )
    problems.install(app)
    # The built pages are text: compressed they are about a third (the first page's
    # JavaScript ~1 MB → ~340 kB); answers under 1 kB go as they are.
    app.add_middleware(GZipMiddleware, minimum_size=1024)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    async def readyz() -> dict[str, object]:
        return {"status": "ready", "web_built": (settings.web_dir / "index.html").is_file()}

    app.include_router(login.router)
    app.include_router(proxy.router)
    app.include_router(web.router)
    return app
