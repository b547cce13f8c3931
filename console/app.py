"""Composition of the console: settings, the session store, the issuer's key set, routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from console import login, proxy, web
from console.sessions import Sessions
from console.settings import ConsoleSettings
from libs.kit import problems
from libs.kit.auth import JwksVerifier, http_jwks_fetcher


def create(settings: ConsoleSettings | None = None) -> FastAPI:
    """The console's ASGI app."""
    settings = settings or ConsoleSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=settings.upstream_timeout_seconds) as client:
            app.state.http = client
            yield

    app = FastAPI(title="正风 办案工作台", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.sessions = Sessions(settings.session_idle_seconds)
    app.state.verifier = JwksVerifier(
        http_jwks_fetcher(f"{settings.services['intake']}/.well-known/jwks.json"),
        issuer=settings.token_issuer,
        audience=settings.token_audience,
    )
    problems.install(app)

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
