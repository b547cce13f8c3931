"""Request limits, before authentication and before parsing: an oversize body is a 413
problem, and costs no memory beyond its route's limit; an overlong address (path and
query) is a 414 and oversize headers a 431.

The server (uvicorn) already bounds what it buffers of a request's head; these limits
are the service's own, smaller ones, so that a page of query parameters or a wall of
headers is refused before any of it is decoded, validated or logged.

Every service has a small default for commands (``ServiceSettings.max_body_bytes``);
routes that take uploads or feeds name a larger limit (``ServiceParts.body_limits``). A
declared Content-Length over the limit is refused before a byte is read. A body under
the default limit is read (at most the limit) before the app sees it, then replayed; a
body on a route with its own limit streams through to the app, counted as it comes, and
is cut off with a 413 when it passes the limit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.kit.nul import replaying
from libs.kit.problems import Problem, problem_response


@dataclass(frozen=True)
class HeadLimits:
    """Limits of a request's head (its request line and headers)."""

    url_bytes: int = 8 * 1024
    """Path plus query string (a keyset cursor and every filter fit well within it)."""
    query_params: int = 64
    header_bytes: int = 32 * 1024
    """All header names and values (a bearer token and the console's cookie fit)."""
    headers: int = 100

    def refusal(self, scope: Scope) -> Problem | None:
        """The problem of a head over these limits, or None."""
        url = len(scope.get("raw_path") or scope["path"].encode()) + len(scope["query_string"])
        if url > self.url_bytes:
            return _head_problem(414, "uri-too-long", "请求地址过长", "query",
                                 f"地址和查询参数合计不得超过 {self.url_bytes} 字节")  # fmt: skip
        params = scope["query_string"].count(b"&") + 1 if scope["query_string"] else 0
        if params > self.query_params:
            return _head_problem(414, "uri-too-long", "查询参数过多", "query",
                                 f"查询参数不得超过 {self.query_params} 个")  # fmt: skip
        headers = scope["headers"]
        if len(headers) > self.headers:
            return _head_problem(431, "headers-too-large", "请求头过大", "headers",
                                 f"请求头不得超过 {self.headers} 个")  # fmt: skip
        if sum(len(k) + len(v) for k, v in headers) > self.header_bytes:
            return _head_problem(431, "headers-too-large", "请求头过大", "headers",
                                 f"请求头合计不得超过 {self.header_bytes} 字节")  # fmt: skip
        return None


def _head_problem(status: int, slug: str, title: str, field: str, reason: str) -> Problem:
    return Problem(status, slug, title, f"{reason}。", errors=[{"field": field, "reason": reason}])


def too_large(limit: int, field: str = "body") -> Problem:
    """The 413 problem of a body (or file) over ``limit`` bytes."""
    return Problem(
        413,
        "too-large",
        "提交的内容过大",
        f"此处每次提交不得超过 {limit} 字节。",
        errors=[{"field": field, "reason": f"超过 {limit} 字节"}],
    )


class BodyLimit:
    """ASGI middleware: refuse a head over ``head`` (414/431) and bodies over their route's
    limit (413), each as a problem."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        routes: Sequence[tuple[str, int]] = (),
        head: HeadLimits | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.routes = [(re.compile(pattern), limit) for pattern, limit in routes]
        self.head = head or HeadLimits()

    def limit_of(self, path: str) -> tuple[int, bool]:
        """The limit of a path, and whether it is a route's own (streamed) limit."""
        for pattern, limit in self.routes:
            if pattern.fullmatch(path):
                return limit, True
        return self.max_bytes, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if (problem := self.head.refusal(scope)) is not None:
            await problem_response(problem)(scope, receive, send)
            return
        limit, streamed = self.limit_of(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(limit, scope, receive, send)
        elif streamed:
            await _Counted(self.app, limit)(scope, receive, send)
        else:
            await _buffered(self.app, limit, scope, receive, send)


async def _refuse(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    await problem_response(too_large(limit), scope["path"])(scope, receive, send)


async def _buffered(app: ASGIApp, limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    """Read the whole body (at most ``limit`` bytes), then hand it to the app."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            await app(scope, replaying(message), send)
            return
        body += message.get("body", b"")
        if len(body) > limit:
            await _refuse(limit, scope, receive, send)
            return
        if not message.get("more_body", False):
            break
    await app(scope, replaying({"type": "http.request", "body": bytes(body)}, receive), send)


class _Counted:
    """One streamed request: the app reads the body as it comes; past the limit it sees
    the client gone, its own answer is dropped, and the client gets the 413."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit
        self.seen, self.over, self.started = 0, False, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Message:
            if self.over:
                return {"type": "http.disconnect"}
            message = await receive()
            self.seen += len(message.get("body", b""))
            if self.seen > self.limit:
                self.over = True
                return {"type": "http.disconnect"}
            return message

        async def sending(message: Message) -> None:
            if not self.over:
                self.started = True
                await send(message)

        try:
            await self.app(scope, counted, sending)
        except Exception:
            if not self.over:
                raise
        if self.over and not self.started:
            await _refuse(self.limit, scope, receive, send)
