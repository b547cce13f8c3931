"""NUL characters (U+0000) in requests: a 422 problem naming the field, before any handler.

PostgreSQL stores no NUL in ``text`` and no ``\\u0000`` in ``jsonb``, so a NUL in a
query value, a path segment, a form field or a JSON string would otherwise reach the
database and fail there as a server error. No field of the platform has a use for one.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.kit.problems import Problem, problem_response

_JSON_NUL = (b"\x00", b"\\u0000")


def nul_problem(field: str) -> Problem:
    """The 422 problem of a field that holds a NUL character."""
    return Problem(
        422,
        "nul-character",
        "提交的内容含有空字符",
        f"请删除以下字段中的空字符（U+0000）：{field}",
        errors=[{"field": field, "reason": "含有空字符（U+0000）"}],
    )


def nul_field(value: Any, where: str = "") -> str | None:
    """The path (``a.b[0].c``) of the first string in a JSON value holding a NUL."""
    if isinstance(value, str):
        return (where or "body") if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if "\x00" in str(key):
                return path
            if (found := nul_field(item, path)) is not None:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            if (found := nul_field(item, f"{where}[{i}]")) is not None:
                return found
    return None


def _in_pairs(raw: bytes) -> str | None:
    for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if "\x00" in key or "\x00" in value:
            return key.replace("\x00", "") or "query"
    return None


class RejectNul:
    """ASGI middleware: refuse requests carrying a NUL in the path, the query, a form
    field or a JSON string, with a problem naming where it is."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        field = None
        query: bytes = scope.get("query_string", b"")
        if "\x00" in scope["path"]:
            field = "path"
        elif b"%00" in query or b"\x00" in query:
            field = _in_pairs(query)
        if field is not None:
            await problem_response(nul_problem(field), scope["path"])(scope, receive, send)
            return
        content_type = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip()
        is_json = content_type == b"application/json" or content_type.endswith(b"+json")
        is_form = content_type == b"application/x-www-form-urlencoded"
        if not (is_json or is_form):
            await self.app(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, replaying(message, None), send)
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        if is_form and (b"%00" in body or b"\x00" in body):
            field = _in_pairs(bytes(body))
        elif is_json and any(marker in body for marker in _JSON_NUL):
            try:
                field = nul_field(json.loads(bytes(body)))
            except ValueError:
                field = None  # not JSON (or not UTF-8): the app's own error says so
        if field is not None:
            await problem_response(nul_problem(field), scope["path"])(scope, receive, send)
            return
        await self.app(
            scope, replaying({"type": "http.request", "body": bytes(body)}, receive), send
        )


def replaying(first: Message, then: Receive | None = None) -> Receive:
    """An ASGI ``receive`` that gives ``first`` (a body read ahead by a middleware) and
    then whatever ``then`` gives, or a disconnect when there is nothing more."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return first
        if then is None:
            return {"type": "http.disconnect"}
        return await then()

    return receive
