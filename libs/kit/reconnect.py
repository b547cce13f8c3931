"""A request whose database connection turned out dead before it sent anything starts over,
once, on a fresh connection (issue 21).

The pool never hands out a connection it knows the server ended (``libs.kit.db``). It
cannot know of one whose goodbye is still on its way, or arrives between the checkout and
the first query: the driver then refuses to send ("connection is closed", or a protocol
left mid-state by the server's message). Nothing reached the database, so running the
request again is safe — it is answered as usual instead of a 503. A request that had sent
anything at all (even a ``BEGIN``: the driver cannot say which query it sent last, and a
lone write may have committed before the session ended) or that had begun its answer gets
the 503 as before, safe to resend with the same Idempotency-Key.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.kit.db import watching_checkouts
from libs.kit.problems import connection_lost

log = logging.getLogger(__name__)


class RetryDeadConnection:
    """ASGI middleware: run a request again, once, when it failed on a lost database
    connection and had sent nothing to the database and nothing to the client."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received: list[Message] = []
        answered = False

        async def recording() -> Message:
            message = await receive()
            received.append(message)
            return message

        async def sending(message: Message) -> None:
            nonlocal answered
            answered = True
            await send(message)

        with watching_checkouts() as taken:
            try:
                await self.app(scope, recording, sending)
                return
            except Exception as exc:
                if answered or not connection_lost(exc) or not taken.nothing_sent():
                    raise
                log.info(
                    "%s %s: its database connection was dead before it sent anything (%r); "
                    "running it again on a fresh one",
                    scope.get("method"),
                    scope.get("path"),
                    exc,
                )

        async def replaying() -> Message:
            # The body as far as the first run read it, then the rest from the client.
            return received.pop(0) if received else await receive()

        await self.app(scope, replaying, send)
