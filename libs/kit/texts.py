"""Sealed free text in answers: opened for readers of the matter, withheld from others.

Events carry a matter's free text sealed (``libs/events/sealing.py``), so read models and
aggregates hold tokens (``pii1m.<matter>.<…>``). Every JSON answer of a service passes
through :class:`OpenSealedTexts`, which opens them for an operator of the commission — the
route has already checked that the caller may read the matter (role, assignment,
jurisdiction) — and puts ``[已封存]`` in their place for partners, subscribers and the
public.
A shredded matter, or one whose person was shredded, reads ``[已销毁]``; a token that does
not open for its matter reads ``[无法解封]`` (logged, never a 500). The catch-up feed
(``/v1/events``) is left as the store holds it: its events are hashed and signed as sealed.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.events import pii
from libs.events.asyncapi import FEED_PATH
from libs.kit.roles import ROLE_LABELS

TEXT_READERS = frozenset(ROLE_LABELS)
"""Operator roles that read a matter's free text: each reaches only the routes (and the
matters) its role and assignment allow, which is what decides whether it reads a matter."""

_TOKEN = pii.MATTER_TEXT_PREFIX.encode()


def may_read_texts(principal: Any) -> bool:
    """Whether the caller reads free text as written: one holding a role of the commission's
    work (an operator, or the organisation department's system reading its 意见回复);
    partners and subscribers hold scopes, not these roles."""
    if principal is None:
        return False
    return bool(set(getattr(principal, "roles", ())) & TEXT_READERS)


def note_texts_readable(request: Any) -> None:
    """For a route that has checked its caller by other means (a reporter's receipt code
    and secret): the answer's free text is opened for them."""
    request.state.texts_readable = True


class OpenSealedTexts:
    """ASGI middleware: JSON answers with sealed texts get them opened or withheld."""

    def __init__(self, app: ASGIApp, vault: Any) -> None:
        self.app = app
        self.vault = vault
        """A ``pii.Vault`` or a callable giving it (the app's runtime makes it at start)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") == FEED_PATH:
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def buffered(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                kind = dict(message.get("headers", [])).get(b"content-type", b"")
                if b"json" in kind or b"text/html" in kind:
                    start = message
                    return
                await send(message)
                return
            if message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                return
            await send(message)

        await self.app(scope, receive, buffered)
        if start is None:
            return
        # Opened only now that the route is done: its read connection (a dependency that
        # ends after the answer is sent) is back in the pool, so opening the texts never
        # holds two of the pool's connections at once (a pool of 2 under 16 clients).
        body = b"".join(chunks)
        if _TOKEN in body:
            kind = dict(start.get("headers", [])).get(b"content-type", b"")
            body = await self._opened(scope, body, html=b"text/html" in kind)
        kept = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
        kept.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": kept})
        await send({"type": "http.response.body", "body": body})

    async def _opened(self, scope: Scope, body: bytes, *, html: bool = False) -> bytes:
        state = scope.get("state") or {}
        readable = bool(state.get("texts_readable")) or may_read_texts(state.get("principal"))
        vault = self.vault() if callable(self.vault) else self.vault
        if html:  # a printable page (廉情通报): each token in place, escaped as the page is
            page = body.decode()
            parts, last = [], 0
            for found in pii.MATTER_TEXT.finditer(page):
                plain = await pii.open_texts(vault, found[0], readable=readable)
                parts += [page[last : found.start()], escape(plain)]
                last = found.end()
            return ("".join(parts) + page[last:]).encode()
        try:
            data = json.loads(body)
        except ValueError:
            return body
        opened = await pii.open_texts(vault, data, readable=readable)
        return json.dumps(opened, ensure_ascii=False, separators=(",", ":")).encode()


__all__ = ["TEXT_READERS", "OpenSealedTexts", "may_read_texts", "note_texts_readable"]
