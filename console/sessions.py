"""Operator sessions held server-side: the token never reaches the browser.

A session ends when it has been idle ``session_idle_seconds`` or when its access token
expires, whichever comes first; the operator then logs in again.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from libs.kit.auth import Principal

COOKIE = "zf_console"
CSRF_HEADER = "X-CSRF-Token"


@dataclass
class Session:
    """One logged-in operator: their token, who they are, the CSRF token of the session."""

    token: str
    principal: Principal
    token_expires_at: float
    last_seen: float
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def csrf_matches(self, sent: str | None) -> bool:
        """Whether the header carries this session's CSRF token (constant-time)."""
        return sent is not None and hmac.compare_digest(sent, self.csrf)

    def operator(self) -> dict[str, Any]:
        """What the front end may know of the operator (never the token)."""
        p = self.principal
        return {
            "id": p.subject,
            "name": p.name,
            "department": p.department,
            "roles": sorted(p.roles),
        }


class Sessions:
    """Sessions by id, in this process's memory (the console keeps no data of its own)."""

    def __init__(self, idle_seconds: int, clock: Callable[[], float] = time.time) -> None:
        self.idle = idle_seconds
        self.clock = clock
        self._by_id: dict[str, Session] = {}

    def open(self, token: str, principal: Principal, expires_in: int) -> tuple[str, Session]:
        """A new session for a freshly issued token; returns its id and the session."""
        now = self.clock()
        sid = secrets.token_urlsafe(32)
        self._by_id[sid] = Session(token, principal, now + expires_in, now)
        self._sweep(now)
        return sid, self._by_id[sid]

    def touch(self, sid: str | None) -> Session | None:
        """The live session with this id (its idle clock restarted), or None."""
        if not sid or (session := self._by_id.get(sid)) is None:
            return None
        now = self.clock()
        if now - session.last_seen > self.idle or now >= session.token_expires_at:
            del self._by_id[sid]
            return None
        session.last_seen = now
        return session

    def close(self, sid: str | None) -> None:
        """End a session (logout)."""
        if sid:
            self._by_id.pop(sid, None)

    def _sweep(self, now: float) -> None:
        dead = [
            sid
            for sid, s in self._by_id.items()
            if now - s.last_seen > self.idle or now >= s.token_expires_at
        ]
        for sid in dead:
            del self._by_id[sid]
