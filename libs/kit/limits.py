"""Request body limits, before authentication and before parsing: an oversize body is a
413 problem, and costs no memory beyond its route's limit.

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

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.kit.nul import replaying
from libs.kit.problems import Problem, problem_response


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
    """ASGI middleware: refuse bodies over their route's limit with a 413 problem."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, routes: Sequence[tuple[str, int]] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.routes = [(re.compile(pattern), limit) for pattern, limit in routes]

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
