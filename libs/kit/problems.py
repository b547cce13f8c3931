"""RFC 9457 problem details for every error a service returns."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from libs.events.store import ConcurrencyError
from libs.kit.refusal import Kind, Refused

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An error a client can act on: raise it from any layer."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        """The problem+json document."""
        doc: dict[str, Any] = {
            "type": f"/problems/{self.slug}",
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            doc["detail"] = self.detail
        if instance:
            doc["instance"] = instance
        if self.errors:
            doc["errors"] = self.errors
        doc.update(self.extra)
        return doc


def problem_response(problem: Problem, instance: str | None = None) -> JSONResponse:
    """Render a Problem as an HTTP response."""
    return JSONResponse(
        problem.body(instance),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    # Only the first element says where the value came from; a body field may be named
    # "query" or "path" too. List indexes are ints: ``reported_persons[0].name``.
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "body"


def _field_error(e: Any) -> dict[str, Any]:
    if e.get("type") == "json_invalid":
        # loc is ("body", character offset): the whole body is at fault, not a field.
        where = e.get("loc", ())[-1]
        reason = f"malformed JSON at character {where}: {e.get('ctx', {}).get('error', 'invalid')}"
        return {"field": "body", "reason": reason, "code": "json_invalid"}
    return {
        "field": _field(e.get("loc", ())),
        "reason": e.get("msg", "invalid"),
        "code": e.get("type"),
    }


_REFUSAL_STATUS: dict[Kind, int] = {
    "invalid": 422,
    "conflict": 409,
    "missing": 404,
    "forbidden": 403,
}


def refusal_problem(refused: Refused, **context: Any) -> Problem:
    """The problem+json answer to a domain refusal — the one place a refusal gets a status.

    ``context`` adds facts of the matter (e.g. the commands allowed now); the refusal's own
    facts win over them.
    """
    reason = refused.reason or refused.detail
    errors = [{"field": refused.field, "reason": reason}] if refused.field else None
    return Problem(
        _REFUSAL_STATUS[refused.kind],
        refused.slug,
        refused.title or "The command was refused",
        refused.detail,
        errors=errors,
        **{**context, **refused.facts},
    )


_UNPARSABLE_BODY = "There was an error parsing the body"

_STATUS_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("too-large", "Request too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: ("too-many-requests", "Too many requests"),
}


def install(app: FastAPI) -> None:
    """Make every error of ``app`` an RFC 9457 problem response."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request.url.path)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> JSONResponse:
        return problem_response(refusal_problem(exc), request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_field_error(e) for e in exc.errors()]
        fields = ", ".join(e["field"] for e in errors)
        return problem_response(
            Problem(
                422,
                "validation-error",
                "The request is not valid",
                f"Check these fields: {fields}",
                errors=errors,
            ),
            request.url.path,
        )

    @app.exception_handler(ConcurrencyError)
    async def _stale(request: Request, exc: ConcurrencyError) -> JSONResponse:
        return problem_response(
            Problem(
                409,
                "stale-version",
                "The record changed since you read it",
                f"{exc}. Reload it and try again.",
                current_version=exc.actual,
            ),
            request.url.path,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug, title = _STATUS_SLUGS.get(exc.status_code, ("http-error", "Request failed"))
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
        errors = None
        if exc.status_code == 400 and detail == _UNPARSABLE_BODY:
            # FastAPI's answer to a body it cannot even decode (e.g. GBK bytes).
            slug, title = "unreadable-body", "The body cannot be read"
            detail = "Send the body as JSON encoded in UTF-8."
            errors = [{"field": "body", "reason": "not JSON text in UTF-8"}]
        return problem_response(
            Problem(
                exc.status_code,
                slug,
                title,
                detail,
                errors=errors,
                headers=getattr(exc, "headers", None),
            ),
            request.url.path,
        )

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        return internal_error(request, exc)


_CONNECTION_LOST = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # pg_terminate_backend, shutdown
    asyncpg.exceptions.InterfaceError,
    ConnectionError,
)


def _connection_lost(exc: BaseException) -> bool:
    """Whether an error means the database connection (not the statement) failed."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, _CONNECTION_LOST):
            return True
        current = current.__cause__ or current.__context__
    return False


def internal_error(request: Request, exc: Exception) -> JSONResponse:
    """Log an unexpected error and answer a 500 problem that does not leak its details.

    A lost database connection is a 503 instead: the transaction was rolled back, unless
    the connection died while committing, when the server may have kept it; retrying
    with the same Idempotency-Key tells the two apart.
    """
    if _connection_lost(exc):
        log.warning("database connection lost on %s %s: %r", request.method, request.url.path, exc)
        return problem_response(
            Problem(
                503,
                "database-unavailable",
                "The database connection was lost",
                "The command was not completed. Send it again with the same "
                "Idempotency-Key: if it was saved after all, you get the original answer.",
                headers={"Retry-After": "1"},
            ),
            request.url.path,
        )
    log.error(
        "unhandled error on %s %s",
        request.method,
        request.url.path,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return problem_response(
        Problem(
            500,
            "internal-error",
            "Something went wrong on our side",
            "The error was logged with this request's correlation id; nothing was saved.",
        ),
        request.url.path,
    )
