"""Request body limits: an oversize body is a 413 problem before it is parsed."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from libs.kit.nul import replaying
from libs.kit.problems import Problem, problem_response


class BodyLimit:
    """ASGI middleware: refuse bodies over ``max_bytes`` with a 413 problem.

    A declared Content-Length is checked first; a body sent without one is read (at
    most ``max_bytes``) before the app sees it, then replayed. Upload paths are left to
    the endpoint, which counts the file as it streams in against its own limit.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, upload_paths: tuple[str, ...]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_paths = upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.upload_paths:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await problem_response(too_large(self.max_bytes), scope["path"])(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, replaying(message), send)
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                response = problem_response(too_large(self.max_bytes), scope["path"])
                await response(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        await self.app(
            scope, replaying({"type": "http.request", "body": bytes(body)}, receive), send
        )


def too_large(limit: int, field: str = "body") -> Problem:
    """The 413 problem of a body (or file) over ``limit`` bytes."""
    return Problem(
        413,
        "body-too-large",
        "提交的内容过大",
        f"此处每次提交不得超过 {limit} 字节。",
        errors=[{"field": field, "reason": f"超过 {limit} 字节"}],
    )
