"""RFC 9457 problem details for every error a service returns."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from libs.events import pii
from libs.events.faults import is_transient
from libs.events.store import ConcurrencyError
from libs.kit.db import CONNECTION_BROKEN
from libs.kit.reasons import reason as zh_reason
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


INVALID_TITLE = "提交的内容不符合要求"


def invalid_fields(errors: list[dict[str, Any]], slug: str = "validation-error") -> Problem:
    """422 ``validation-error``: these fields (``field``, Chinese ``reason``) are at fault —
    the same answer whether pydantic or a service's own check found them.

    ``slug`` names a domain rule instead, for a check the schema cannot state."""
    fields = "、".join(e["field"] for e in errors)
    return Problem(422, slug, INVALID_TITLE, f"请检查以下字段：{fields}", errors=errors)


def rule_slug(errors: list[dict[str, Any]]) -> str:
    """``validation-error``, unless every error is a domain rule's: a validator's
    ``PydanticCustomError`` whose type is a problem slug (``date-order``,
    ``invalid-resident-id``: hyphenated, where pydantic's own types are snake_case) — a
    check the schema cannot state, whose refusal the route documents by that slug."""
    codes = [e.get("code") or "" for e in errors]
    if codes and all("-" in code for code in codes):
        return codes[0]
    return "validation-error"


def dates_out_of_order(field: str, reason: str) -> Problem:
    """422 ``date-order`` on the later of two dates of one request, which lies before the
    earlier (a schema cannot compare two fields; routes document it with
    ``refusals(fields.DATE_ORDER)``)."""
    return invalid_fields([{"field": field, "reason": reason}], slug="date-order")


def invalid_field(field: str, reason: str) -> Problem:
    """422 ``validation-error`` on one field, for a check pydantic cannot make."""
    return invalid_fields([{"field": field, "reason": reason}])


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
        reason = f"不是合法的 JSON（第 {where} 个字符处有误）"
        return {"field": "body", "reason": reason, "code": "json_invalid"}
    field = _field(e.get("loc", ()))
    return {"field": field, "reason": zh_reason(e, field), "code": e.get("type")}


IF_MATCH_REQUIRED = Problem(
    428,
    "if-match-required",
    "缺少版本号",
    '请在 If-Match 中带上您读取的版本号（ETag），例如 "7"。',
    errors=[{"field": "If-Match", "reason": "必填"}],
)
"""A command that needs If-Match (``libs.kit.commands.RequiredIfMatch``) came without it."""


def _missing_if_match(error: dict[str, Any]) -> bool:
    loc = tuple(str(part).lower() for part in error.get("loc", ()))
    return error.get("type") == "missing" and loc == ("header", "if-match")


_REFUSAL_STATUS: dict[Kind, int] = {
    "invalid": 422,
    "conflict": 409,
    "missing": 404,
    "forbidden": 403,
}


_REFUSAL_TITLE: dict[Kind, str] = {
    "invalid": "提交的内容不符合要求",
    "conflict": "当前状态下不能办理",
    "missing": "未找到该事项",
    "forbidden": "无权办理",
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
        refused.title or _REFUSAL_TITLE[refused.kind],
        refused.detail,
        errors=errors,
        **{**context, **refused.facts},
    )


_UNPARSABLE_BODY = "There was an error parsing the body"

_STATUS_SLUGS = {
    400: ("bad-request", "请求有误"),
    401: ("unauthenticated", "请先登录"),
    403: ("forbidden", "无权办理"),
    404: ("not-found", "未找到"),
    405: ("method-not-allowed", "不支持该操作"),
    409: ("conflict", "与当前状态冲突"),
    412: ("precondition-failed", "版本条件不满足"),
    413: ("too-large", "提交的内容过大"),
    415: ("unsupported-media-type", "不支持该内容格式"),
    428: ("precondition-required", "缺少版本号"),
    429: ("too-many-requests", "请求过于频繁，请稍后再试"),
    500: ("internal-error", "系统内部错误"),
    503: ("unavailable", "服务暂不可用，请稍后再试"),
}
"""Chinese titles of the generic answers, by status (the slug stays the machine name)."""

_STATUS_DETAILS = {
    404: "请求的地址不存在，请核对后再试。",
    405: "该地址不支持此请求方法。",
}
"""Details of Starlette's own answers, in Chinese."""


def _http_detail(status: int, detail: Any, title: str) -> str | None:
    # Starlette's and FastAPI's own details are English phrases ("Not Found"): the clerk
    # gets the Chinese one, or none.
    if not isinstance(detail, str) or detail == title:
        return None
    return detail if _has_cjk(detail) else _STATUS_DETAILS.get(status)


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


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
        if exc.errors() and all(_missing_if_match(e) for e in exc.errors()):
            return problem_response(IF_MATCH_REQUIRED, request.url.path)
        errors = [_field_error(e) for e in exc.errors()]
        return problem_response(invalid_fields(errors, rule_slug(errors)), request.url.path)

    @app.exception_handler(ConcurrencyError)
    async def _stale(request: Request, exc: ConcurrencyError) -> JSONResponse:
        return problem_response(
            Problem(
                409,
                "stale-version",
                "记录已被修改",
                f"该记录在您读取后已被修改（当前版本 {exc.actual}）。请重新读取后再提交。",
                current_version=exc.actual,
            ),
            request.url.path,
        )

    @app.exception_handler(pii.Unopenable)
    async def _unopenable(request: Request, exc: pii.Unopenable) -> JSONResponse:
        pii.unopenable(exc)
        return problem_response(unopenable_problem(exc), request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug, title = _STATUS_SLUGS.get(exc.status_code, ("http-error", "请求未能完成"))
        detail = _http_detail(exc.status_code, exc.detail, title)
        errors = None
        if exc.status_code == 400 and exc.detail == _UNPARSABLE_BODY:
            # FastAPI's answer to a body it cannot even decode (e.g. GBK bytes).
            slug, title = "unreadable-body", "无法读取提交的内容"
            detail = "请以 UTF-8 编码的 JSON 提交。"
            errors = [{"field": "body", "reason": "不是 UTF-8 编码的 JSON 文本"}]
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


_SEALED_LABELS = {
    "name": "姓名",
    "id_number": "身份证号码",
    "narrative": "反映内容",
    "text": "文字内容",
    "file": "文书文件",
}


def unopenable_problem(exc: pii.Unopenable) -> Problem:
    """409 ``sealed-data-unopenable``: a sealed field of the record does not open for its
    matter (forged, copied from another matter or field, corrupted); nothing is shown."""
    field = exc.field.split(":", 1)[0]
    label = _SEALED_LABELS.get(field, "内容")
    return Problem(
        409,
        "sealed-data-unopenable",
        "封存内容无法解封",
        f"该记录中封存的{label}无法用本事项的密钥解封：它可能复制自其他事项、被篡改或已损坏。"
        "未显示任何内容；请联系系统管理员核查该事项的事件记录。",
        errors=[{"field": field, "reason": f"封存的{label}无法解封"}],
    )


def connection_lost(exc: BaseException) -> bool:
    """Whether an error means the database connection (not the statement) failed."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, CONNECTION_BROKEN):
            return True
        current = current.__cause__ or current.__context__
    return False


def internal_error(request: Request, exc: Exception) -> JSONResponse:
    """Log an unexpected error and answer a 500 problem that does not leak its details.

    A lost database connection is a 503 instead: the transaction was rolled back, unless
    the connection died while committing, when the server may have kept it; retrying
    with the same Idempotency-Key tells the two apart.
    """
    if connection_lost(exc) or is_transient(exc):
        # Lost, refused (down, restarting, at max_connections), pool exhausted, timed out:
        # a fault that passes; never a 500.
        log.warning("database unavailable on %s %s: %r", request.method, request.url.path, exc)
        return problem_response(
            Problem(
                503,
                "database-unavailable",
                "数据库暂时不可用",
                "本次操作没有完成。请稍后用同一个 Idempotency-Key 重新提交："
                "如果其实已经保存，您会得到原来的答复，不会重复办理。",
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
            "系统内部错误",
            "错误已按本次请求的关联编号记录，未保存任何内容。",
        ),
        request.url.path,
    )
