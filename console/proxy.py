"""``/api/<service>/v1/...``: the four services' public APIs, called as the logged-in operator.

Adds no rule of its own: the request goes on with the operator's bearer token and the
headers a command needs (If-Match, Idempotency-Key); the answer comes back as it is —
status, body (problem+json included), ETag, Location, Content-Disposition (a 文书 or a CSV
downloads under its own name).
"""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Request, Response

from console.guard import CurrentSession
from console.sessions import Session
from libs.kit.problems import Problem

router = APIRouter(prefix="/api", tags=["services"])

PASSED_ON = ("accept", "content-type", "if-match", "idempotency-key")
PASSED_BACK = (
    "content-type",
    "content-disposition",
    "etag",
    "location",
    "idempotent-replayed",
    "retry-after",
)
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _base(request: Request, service: str) -> str:
    base: str | None = request.app.state.settings.services.get(service)
    if base is None:
        raise Problem(404, "not-found", "未找到", f"没有名为 {service} 的服务。")
    return base


@router.get("/{service}/openapi.json")
async def openapi(service: str, request: Request, session: CurrentSession) -> Response:
    """The service's OpenAPI document: the console builds command forms from it. Public and
    changed only by a deploy: the browser keeps it and revalidates it with its ETag
    (If-None-Match → 304, no body), instead of the BFF's ``no-store``."""
    return await _forward(
        request, session, service, f"{_base(request, service)}/openapi.json", revalidated=True
    )


@router.get("/{service}/readyz")
async def readyz(service: str, request: Request, session: CurrentSession) -> Response:
    """Whether the service answers and its database, broker and consumer are fine (系统)."""
    return await _forward(request, session, service, f"{_base(request, service)}/readyz")


@router.api_route("/{service}/v1/{path:path}", methods=METHODS)
async def call(service: str, path: str, request: Request, session: CurrentSession) -> Response:
    """Forward one call to ``service`` with the operator's token; answer as it answered."""
    return await _forward(request, session, service, f"{_base(request, service)}/v1/{path}")


async def _forward(
    request: Request, session: Session, service: str, url: str, *, revalidated: bool = False
) -> Response:
    passed_on = (*PASSED_ON, "if-none-match") if revalidated else PASSED_ON
    headers = {k: v for k in passed_on if (v := request.headers.get(k)) is not None}
    headers["Authorization"] = f"Bearer {session.token}"
    client: httpx.AsyncClient = request.app.state.http
    try:
        answer = await client.request(
            request.method,
            url,
            params=request.query_params,
            content=await request.body(),
            headers=headers,
        )
    except httpx.HTTPError as exc:
        raise Problem(
            502, "service-unreachable", "服务暂不可用", f"{service} 服务无响应，请稍后再试。"
        ) from exc
    back = {k: v for k in PASSED_BACK if (v := answer.headers.get(k)) is not None}
    cached = revalidated and answer.headers.get("cache-control") == "no-cache"
    back["Cache-Control"] = "no-cache" if cached else "no-store"
    if answer.status_code == 304:
        return Response(status_code=304, headers=back)
    return Response(answer.content, status_code=answer.status_code, headers=back)
