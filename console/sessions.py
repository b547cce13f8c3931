"""Operator sessions held server-side, in PostgreSQL: the tokens never reach the browser.

A session ends when it has been idle ``idle`` seconds, or at its absolute end (``maximum``
after the login, and never after the refresh token's own end), whichever comes first; the
operator then logs in again. While it is in use its access token is renewed with the
refresh token (``console.guard``), so an active operator is not sent back to 登录.

What is stored survives a restart of the console and is shared by its replicas, and gives
a reader of the table nothing to act with: the row is keyed by the SHA-256 of the cookie's
value, the tokens are sealed with AES-GCM under ``ZF_CONSOLE_SESSION_KEY`` (bound to that
key id), and the CSRF token is derived from the cookie's value, not stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.kit.auth import Principal

log = logging.getLogger(__name__)

COOKIE = "zf_console"
CSRF_HEADER = "X-CSRF-Token"
_LOCK_ID = 0x5A46434F  # advisory lock serialising the table's creation between replicas

DDL = (
    "CREATE SCHEMA IF NOT EXISTS {schema}",
    """CREATE TABLE IF NOT EXISTS {schema}.console_sessions (
           id_hash bytea PRIMARY KEY,
           sealed bytea NOT NULL,
           principal jsonb NOT NULL,
           started_at double precision NOT NULL,
           last_seen double precision NOT NULL,
           token_expires_at double precision NOT NULL,
           ends_at double precision NOT NULL
       )""",
    "CREATE INDEX IF NOT EXISTS console_sessions_ends ON {schema}.console_sessions (ends_at)",
)


async def create_table(engine: AsyncEngine, schema: str) -> None:
    """The sessions table in ``schema`` (made if missing; ``zhengfeng migrate`` calls it)."""
    async with engine.begin() as c:
        await c.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        for statement in DDL:
            await c.execute(text(statement.format(schema=f'"{schema}"')))


@dataclass
class Session:
    """One logged-in operator: their tokens, who they are, the CSRF token of the session."""

    token: str
    refresh_token: str | None
    principal: Principal
    csrf: str
    started_at: float
    last_seen: float
    token_expires_at: float
    ends_at: float

    def csrf_matches(self, sent: str | None) -> bool:
        """Whether the header carries this session's CSRF token (constant-time)."""
        return sent is not None and hmac.compare_digest(sent, self.csrf)

    def operator(self) -> dict[str, Any]:
        """What the front end may know of the operator (never the tokens)."""
        p = self.principal
        return {
            "id": p.subject,
            "name": p.name,
            "department": p.department,
            "roles": sorted(p.roles),
        }


def _principal_doc(p: Principal) -> str:
    return json.dumps(
        {
            "subject": p.subject,
            "kind": p.kind,
            "name": p.name,
            "department": p.department,
            "roles": sorted(p.roles),
        },
        ensure_ascii=False,
    )


def _principal(doc: dict[str, Any]) -> Principal:
    return Principal(
        subject=doc["subject"],
        kind=doc["kind"],
        name=doc.get("name") or "",
        department=doc.get("department"),
        roles=frozenset(doc.get("roles", [])),
    )


class Sessions:
    """Sessions by the hash of their id, in the console's schema of PostgreSQL."""

    def __init__(
        self,
        engine: AsyncEngine,
        schema: str,
        key: bytes,
        *,
        idle_seconds: int,
        max_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.schema = schema
        self.table = f'"{schema}".console_sessions'
        self.idle = idle_seconds
        self.maximum = max_seconds
        self.clock = clock
        self._aead = AESGCM(key)
        self._csrf_key = hashlib.sha256(b"zhengfeng-console-csrf:" + key).digest()

    async def start(self) -> None:
        """Create the table if it is not there (once, whichever replica comes first). A
        role without the right to create it (a deployment's application role) finds the one
        ``zhengfeng migrate`` made."""
        try:
            await create_table(self.engine, self.schema)
        except DBAPIError as exc:
            log.warning("console sessions table not created here (%s); expecting it exists", exc)

    def _id_hash(self, sid: str) -> bytes:
        return hashlib.sha256(sid.encode()).digest()

    def _csrf(self, sid: str) -> str:
        return hmac.new(self._csrf_key, sid.encode(), hashlib.sha256).hexdigest()

    def _seal(self, id_hash: bytes, token: str, refresh: str | None) -> bytes:
        nonce = secrets.token_bytes(12)
        plain = json.dumps({"token": token, "refresh_token": refresh}).encode()
        return nonce + self._aead.encrypt(nonce, plain, id_hash)

    def _open(self, id_hash: bytes, sealed: bytes) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self._aead.decrypt(sealed[:12], sealed[12:], id_hash))
        return doc

    async def open(
        self,
        token: str,
        principal: Principal,
        expires_in: int,
        refresh_token: str | None = None,
        refresh_expires_in: int | None = None,
    ) -> tuple[str, Session]:
        """A new session for a freshly issued token; returns its id and the session."""
        now = self.clock()
        sid = secrets.token_urlsafe(32)
        id_hash = self._id_hash(sid)
        ends = now + self.maximum
        if refresh_token is not None and refresh_expires_in is not None:
            ends = min(ends, now + refresh_expires_in)
        elif refresh_token is None:
            ends = min(ends, now + expires_in)  # nothing to renew it with
        session = Session(
            token, refresh_token, principal, self._csrf(sid), now, now, now + expires_in, ends
        )
        async with self.engine.begin() as c:
            await c.execute(
                text(
                    f"""INSERT INTO {self.table} (id_hash, sealed, principal, started_at,
                                                  last_seen, token_expires_at, ends_at)
                        VALUES (:h, :s, CAST(:p AS jsonb), :now, :now, :exp, :ends)"""
                ),
                {
                    "h": id_hash,
                    "s": self._seal(id_hash, token, refresh_token),
                    "p": _principal_doc(principal),
                    "now": now,
                    "exp": session.token_expires_at,
                    "ends": ends,
                },
            )
            # Sweep the dead now and then: a login is a fine moment.
            await c.execute(
                text(f"DELETE FROM {self.table} WHERE ends_at <= :now OR last_seen < :idle"),
                {"now": now, "idle": now - self.idle},
            )
        return sid, session

    @property
    def touch_every(self) -> float:
        """How stale ``last_seen`` may be before a call writes it again: a tenth of the
        idle time, at most 15 s. A page's calls at once (工作台 makes six) then read the
        session and one of them writes it, instead of each committing an update of the same
        row one after the other; the idle clock restarts with every call to within this."""
        return min(15.0, self.idle / 10)

    async def touch(self, sid: str | None) -> Session | None:
        """The live session with this id (its idle clock restarted), or None."""
        if not sid:
            return None
        now = self.clock()
        id_hash = self._id_hash(sid)
        async with self.engine.begin() as c:
            row = (
                await c.execute(
                    text(
                        f"""SELECT * FROM {self.table}
                             WHERE id_hash = :h AND ends_at > :now AND last_seen >= :idle"""
                    ),
                    {"h": id_hash, "now": now, "idle": now - self.idle},
                )
            ).first()
            if row is None:
                await c.execute(
                    text(f"DELETE FROM {self.table} WHERE id_hash = :h"), {"h": id_hash}
                )
                return None
            last_seen = row.last_seen
            if now - last_seen >= self.touch_every:
                await c.execute(
                    text(
                        f"""UPDATE {self.table} SET last_seen = :now
                             WHERE id_hash = :h AND last_seen < :now"""
                    ),
                    {"h": id_hash, "now": now},
                )
                last_seen = now
        tokens = self._open(id_hash, row.sealed)
        return Session(
            tokens["token"],
            tokens["refresh_token"],
            _principal(row.principal),
            self._csrf(sid),
            row.started_at,
            last_seen,
            row.token_expires_at,
            row.ends_at,
        )

    async def renewed(
        self, sid: str, session: Session, token: str, refresh: str | None, expires_in: int
    ) -> None:
        """Keep the tokens a refresh gave (the session's absolute end does not move)."""
        id_hash = self._id_hash(sid)
        session.token = token
        session.refresh_token = refresh or session.refresh_token
        session.token_expires_at = self.clock() + expires_in
        async with self.engine.begin() as c:
            await c.execute(
                text(
                    f"""UPDATE {self.table} SET sealed = :s, token_expires_at = :exp
                         WHERE id_hash = :h"""
                ),
                {
                    "h": id_hash,
                    "s": self._seal(id_hash, session.token, session.refresh_token),
                    "exp": session.token_expires_at,
                },
            )

    async def close(self, sid: str | None) -> None:
        """End a session (logout)."""
        if sid:
            async with self.engine.begin() as c:
                await c.execute(
                    text(f"DELETE FROM {self.table} WHERE id_hash = :h"), {"h": self._id_hash(sid)}
                )
