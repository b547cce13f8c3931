"""The OpenAPI document describes every answer, errors included.

FastAPI's generated document declares a route's success and its own 422 shape only; the
services answer every error as an RFC 9457 problem (``libs/kit/problems.py``). This adds,
to every operation, the problem answers it can give — with the ``Problem`` schema under
``application/problem+json`` — so a client generator and a contract test see them:

- every operation: 413/414/431 (request limits, before anything else), 422 (a field that
  is not as required), 429, 500 and 503 (the database away: retry after);
- an operation with a security requirement or a bearer token: 401 and 403;
- an operation with path parameters: 404;
- a command (POST, PUT, PATCH, DELETE): 409 (the state does not allow it, or a retry under
  the same key with another body), 412 (``If-Match`` stale), 415 and 428 (``If-Match``
  required);
- ``default``: any other status, always a problem.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from libs.kit.problems import PROBLEM_JSON

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `title`, `detail` and each `reason` in Chinese.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "/problems/<slug>, the machine name"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "reason"],
                "properties": {
                    "field": {"type": "string"},
                    "reason": {"type": "string"},
                    "code": {"type": ["string", "null"]},
                },
            },
        },
    },
    "additionalProperties": True,
}

_ALWAYS = {
    "413": "请求体过大 (the body limit of the route)",
    "414": "请求地址过长或查询参数过多",
    "422": "提交的内容不符合要求: errors name each field and the reason",
    "429": "过于频繁, with Retry-After",
    "431": "请求头过大",
    "500": "系统内部错误 (nothing was saved)",
    "503": "暂时无法办理 (database or broker away), with Retry-After",
}
_AUTHENTICATED = {"401": "未登录或令牌无效", "403": "无权办理"}
_NAMED = {"404": "未找到该事项"}
_COMMANDS = {
    "409": "当前状态下不能办理, or an Idempotency-Key reused with another body",
    "412": "If-Match 与当前版本不符: read again and retry",
    "415": "不支持的内容类型",
    "428": "须提供 If-Match",
}
_COMMAND_METHODS = {"post", "put", "patch", "delete"}


def _problem(description: str) -> dict[str, Any]:
    ref = {"$ref": "#/components/schemas/Problem"}
    return {"description": description, "content": {PROBLEM_JSON: {"schema": ref}}}


def describe_problems(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with every operation's problem answers and the ``Problem`` schema."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            params = [*item.get("parameters", []), *operation.get("parameters", [])]
            statuses = dict(_ALWAYS)
            if operation.get("security") or any(
                p.get("in") == "header" and p.get("name", "").lower() == "authorization"
                for p in params
            ):
                statuses |= _AUTHENTICATED
            if "{" in path:
                statuses |= _NAMED
            if method in _COMMAND_METHODS:
                statuses |= _COMMANDS
            responses = operation["responses"]
            for status, description in statuses.items():
                answer = responses.get(status)
                if answer is None or "HTTPValidationError" in str(answer):
                    responses[status] = _problem(description)
                else:  # a route's own description of it: keep it, add the problem body
                    answer.setdefault("content", {})[PROBLEM_JSON] = {
                        "schema": {"$ref": "#/components/schemas/Problem"}
                    }
            responses.setdefault("default", _problem("其他错误，均为 problem+json"))
    schemas.pop("HTTPValidationError", None)
    if "#/components/schemas/ValidationError" not in json.dumps(document):
        schemas.pop("ValidationError", None)
    return document


def install(app: FastAPI) -> None:
    """Serve ``app``'s OpenAPI document with its problem answers described."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe_problems(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    openapi_version=app.openapi_version,
                    description=app.description,
                    routes=app.routes,
                    servers=app.servers,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
