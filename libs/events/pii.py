"""Personal data protection (个人信息保护): per-person keys, sealed fields, crypto-shredding.

Personal fields of reported persons and reporters never enter an event in plain text.
Each person has one data key (AES-256-GCM) in the *vault*; the event carries a sealed
token per field, whose associated data binds it to the clue (``context``) and the field
name, so a token copied to another clue or field does not open. Destroying a person's key
(``zhengfeng pii shred <person>``) makes every token of that person unreadable in every
store and read model at once, while the events — and their hash chains — stay untouched.

Where the vault lives: its own small schema, ``pii_vault`` (``ZF_PII_VAULT_SCHEMA``), in
the platform database, created by ``zhengfeng migrate`` and by intake at start. Every
service reaches it with its own engine (tables are schema-qualified), so casework,
analysis and accountability open the same tokens intake sealed; where each service has a
database of its own (``zhengfeng up``), ``ZF_PII_VAULT_DATABASE_URL`` names the vault's,
and the vault uses connections of its own there. Data keys are wrapped by
a master key (``ZF_PII_MASTER_KEY``, 32 bytes base64); without one, in development mode
only, a key is generated once in ``~/.zhengfeng/pii-master.key``. A wrapped key names its
master key by id, so the master key can be rotated (``ZF_PII_PREVIOUS_MASTER_KEYS`` still
open, ``zhengfeng pii rewrap`` re-wraps; deploy/README.md), while blind indexes keep their
own key (``ZF_PII_INDEX_KEY``, by default derived from the master key).

How another service reveals a reported person (ClueReceived v3)::

    from libs.events import pii

    vault = pii.Vault.from_env(engine)          # the service's own engine
    person = received.reported_persons[0]       # person.name is already masked: "王*"
    name = await vault.reveal(person.sealed["name"], context=str(received.clue_id), field="name")
    shown = pii.display(name)                   # "[已销毁]" once the person was shredded

Reveal only for a caller whose role may see personal data, and record the read as a
``PersonalDataAccessed`` event (``libs.events.contracts.intake``) in your own store.
Duplicate lookups use ``vault.blind_index(...)`` (keyed HMAC), never plain text; a
person's ``person_ref`` is a stable pseudonym usable as a key across clues.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import logging
import os
import re
import secrets
import unicodedata
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4, uuid5

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libs.events.devmode import MissingSecret, dev_mode
from libs.kit.db import CONNECTION_BROKEN, driver

SHREDDED = "[已销毁]"
"""What a clerk reads where a shredded person's data was."""

UNOPENABLE = "[无法解封]"
"""What a clerk reads where a sealed token does not open for its matter and field: forged,
copied from another matter or field, or corrupted (never a clear text, never a 500)."""

log = logging.getLogger(__name__)


class Unopenable(ValueError):
    """A sealed token (or file) that does not open for the context and field it is read in:
    forged, copied from another matter or field, or corrupted. It says which matter and
    field, never the token's content; an explicit reveal answers it as a 409 problem
    (``libs/kit/problems.py``), an answer's free text reads :data:`UNOPENABLE`."""

    def __init__(self, context: str, field: str) -> None:
        super().__init__(f"sealed {field} does not open for {context}")
        self.context = context
        self.field = field


TOKEN_PREFIX = "pii1"
FILE_MAGIC = b"zhengfeng-sealed-file-v1\n"
"""How a file sealed under persons' keys begins (a .docx begins with ``PK``)."""
DEFAULT_SCHEMA = "pii_vault"
DEV_KEY_FILE = Path.home() / ".zhengfeng" / "pii-master.key"
_LOCK_ID = 0x5A465049  # advisory lock serialising vault DDL between processes


def display(value: str | None) -> str:
    """A revealed value as a clerk reads it: the value, or ``[已销毁]`` if shredded."""
    return SHREDDED if value is None else value


def mask_name(name: str) -> str:
    """A name with all but its first character hidden: ``王*``, ``欧阳**``→``欧**``."""
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_id_number(number: str) -> str:
    """A resident ID number showing only its region and last character."""
    return number[:3] + "*" * (len(number) - 4) + number[-1:] if len(number) > 4 else "*"


def _secret(name: str) -> str:
    """``<name>`` or the file ``<name>_FILE`` names (a mounted secret); empty if neither."""
    value = os.environ.get(name, "")
    if not value and (path := os.environ.get(f"{name}_FILE", "")):
        value = Path(path).read_text().strip()
    return value


def _key(value: str, name: str) -> bytes:
    key = base64.b64decode(value)
    if len(key) != 32:
        raise ValueError(f"{name} must be 32 bytes, base64-encoded")
    return key


def master_key_from_env() -> bytes:
    """The master key: ``ZF_PII_MASTER_KEY`` (base64) or the file ``ZF_PII_MASTER_KEY_FILE``
    names (a mounted secret); in development mode only, the generated development key."""
    configured = _secret("ZF_PII_MASTER_KEY")
    if not configured and not dev_mode():
        raise MissingSecret(
            "ZF_PII_MASTER_KEY (or ZF_PII_MASTER_KEY_FILE) is not set: every replica must "
            "use the same personal-data master key, from a secret (32 bytes, base64; "
            '`python -c "import base64,os;print(base64.b64encode(os.urandom(32)).decode())"`). '
            "For a local run set ZF_DEV_MODE=1 to use a generated development key."
        )
    if configured:
        return _key(configured, "ZF_PII_MASTER_KEY")
    if not DEV_KEY_FILE.exists():
        DEV_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(DEV_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(base64.b64encode(secrets.token_bytes(32)).decode())
    return base64.b64decode(DEV_KEY_FILE.read_text().strip())


def previous_master_keys_from_env() -> list[bytes]:
    """Master keys being rotated out (``ZF_PII_PREVIOUS_MASTER_KEYS[_FILE]``, base64,
    comma-separated): data keys wrapped under them still open until re-wrapped."""
    listed = _secret("ZF_PII_PREVIOUS_MASTER_KEYS")
    return [_key(v.strip(), "ZF_PII_PREVIOUS_MASTER_KEYS") for v in listed.split(",") if v.strip()]


def index_key_from_env(master_key: bytes, previous: Sequence[bytes]) -> bytes:
    """The blind-index key: ``ZF_PII_INDEX_KEY[_FILE]``, else derived from the master key.

    Blind indexes are how a person is found again, so this key must outlive a master key's
    rotation: before rotating, store ``zhengfeng pii index-key``'s answer as this secret.
    """
    if configured := _secret("ZF_PII_INDEX_KEY"):
        return _key(configured, "ZF_PII_INDEX_KEY")
    if previous:
        raise MissingSecret(
            "ZF_PII_PREVIOUS_MASTER_KEYS is set but ZF_PII_INDEX_KEY is not: the blind-index "
            "key would change with the master key and no known person would be found again. "
            "Set ZF_PII_INDEX_KEY to what `zhengfeng pii index-key` printed while the old "
            "master key was current (see deploy/README.md, rotating the master key)."
        )
    return derived_index_key(master_key)


def derived_index_key(master_key: bytes) -> bytes:
    """The blind-index key of a deployment that never set ``ZF_PII_INDEX_KEY``."""
    return hmac.new(master_key, b"zhengfeng blind index v1", "sha256").digest()


def key_id(master_key: bytes) -> bytes:
    """The 8-byte id a wrapped data key names its master key by (not secret)."""
    return hashlib.sha256(b"zhengfeng master key id|" + master_key).digest()[:8]


@dataclass(frozen=True)
class Rewrapped:
    """What ``Vault.rewrap`` did."""

    rewrapped: int
    already_current: int


def _normal(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().upper()


_MATTER_KEY_COLUMNS = """(SELECT wrapped_key FROM matter_found), EXISTS (SELECT FROM matter_found),
                    EXISTS (SELECT FROM matter_made)"""
"""What a statement with ``Vault._matter_key_ctes`` answers of the matter's key: the key
found, whether it was, whether it was made."""


class Vault:
    """The data keys of persons, wrapped by the master key, in the ``pii_vault`` schema."""

    def __init__(
        self,
        engine: AsyncEngine,
        master_key: bytes,
        schema: str = DEFAULT_SCHEMA,
        *,
        previous: Sequence[bytes] = (),
        index_key: bytes | None = None,
        separate: bool = False,
    ) -> None:
        self.engine = engine
        self.schema = schema
        self.separate = separate
        """The vault lives in a database of its own (each service has its own database):
        callers' connections cannot reach it."""
        self._current = key_id(master_key)
        # Every master key that may have wrapped a data key, by id; the current one first.
        self._masters = {key_id(k): AESGCM(k) for k in (master_key, *previous)}
        self._index_key = index_key or derived_index_key(master_key)
        # The data keys a transaction has read or made, so sealing a person's name, ID
        # number and narrative reads their key once (dropped with the transaction).
        self._keys_of: weakref.WeakKeyDictionary[Any, dict[UUID, bytes]] = (
            weakref.WeakKeyDictionary()
        )
        # The (matter, person) pairs a transaction has remembered (Vault.seal links them).
        self._links_of: weakref.WeakKeyDictionary[Any, set[tuple[str, UUID]]] = (
            weakref.WeakKeyDictionary()
        )
        self._ensured_with: tuple[AsyncEngine, str] | None = None
        """Where ``_ready`` last found the vault's tables made (engine and schema)."""

    @property
    def _where(self) -> tuple[str, str]:
        return (self.engine.url.render_as_string(hide_password=True), self.schema)

    @classmethod
    def from_env(cls, engine: AsyncEngine, schema: str | None = None) -> Vault:
        """The vault as configured by ``ZF_PII_MASTER_KEY``, ``ZF_PII_PREVIOUS_MASTER_KEYS``,
        ``ZF_PII_INDEX_KEY``, ``ZF_PII_VAULT_SCHEMA`` and ``ZF_PII_VAULT_DATABASE_URL`` (unset:
        the vault is reached with ``engine``, in the service's own database)."""
        master, previous = master_key_from_env(), previous_master_keys_from_env()
        url = os.environ.get(VAULT_URL_ENV, "").strip()
        return cls(
            _vault_engine(url) if url else engine,
            master,
            schema or os.environ.get("ZF_PII_VAULT_SCHEMA", DEFAULT_SCHEMA),
            previous=previous,
            index_key=index_key_from_env(master, previous),
            separate=bool(url),
        )

    async def _row(self, conn: AsyncConnection | None, query: str, *args: Any) -> Any:
        """The first row (or None) of one vault statement (``$n`` parameters), run where
        vault statements run: in the caller's transaction when the vault shares its
        database, else alone (:meth:`_alone`)."""
        if conn is not None and not self.separate:
            return await _in_transaction(conn, query, args, every=False)
        return await self._alone(query, args, every=False)

    async def _rows(self, conn: AsyncConnection | None, query: str, *args: Any) -> list[Any]:
        """Every row of one vault statement, run as :meth:`_row` runs it."""
        if conn is not None and not self.separate:
            rows: list[Any] = await _in_transaction(conn, query, args, every=True)
        else:
            rows = await self._alone(query, args, every=True)
        return rows

    async def _alone(self, query: str, args: Sequence[Any], *, every: bool) -> Any:
        """One statement by itself on one of the vault's pooled connections, at the driver:
        one round trip (no BEGIN, no COMMIT; its prepared form kept by the connection), and
        it commits by itself — a key made on a vault with a database of its own outlives a
        caller that then rolls back (and seals nothing).

        A connection that turns out dropped (the server ended it, the network cut it) is
        given up and the statement runs once more on a fresh one: every vault statement
        run alone finds what is there before it makes anything, so running it again after
        it may have committed finds what it made, and a command does not fail for it."""
        for attempt in (1, 2):
            pooled = await self.engine.raw_connection()
            own: asyncpg.Connection = pooled.driver_connection
            try:
                if every:
                    return await own.fetch(query, *args)
                return await own.fetchrow(query, *args)
            except BaseException as exc:
                dropped = own.is_closed() or (
                    isinstance(exc, CONNECTION_BROKEN)
                    and not isinstance(exc, asyncpg.DataError)  # an argument it cannot send
                )
                if dropped or not isinstance(exc, asyncpg.PostgresError):
                    # SQLAlchemy never saw it fail: the pool would hand it out again.
                    pooled.invalidate(exc if isinstance(exc, Exception) else None)
                if attempt == 2 or not dropped or not isinstance(exc, Exception):
                    raise
                log.info(
                    "the vault's connection was dropped (%r); running its statement "
                    "again on a fresh one",
                    exc,
                )
            finally:
                pooled.close()  # back to the pool (or, invalidated, gone)
        raise AssertionError("unreachable")

    @property
    def _t(self) -> str:
        return f'"{self.schema}"'

    @property
    def _matter_key_ctes(self) -> str:
        """CTEs that find (``matter_found``) or make (``matter_made``) a matter's key in the
        statement that finds a person: ``$6`` the matter, ``$7`` its fresh key wrapped; the
        statement ends selecting ``_MATTER_KEY_COLUMNS``."""
        return f""",
                matter_found AS (
                    SELECT wrapped_key FROM {self._t}.data_keys WHERE person_id = $6),
                matter_made AS (
                    INSERT INTO {self._t}.data_keys (person_id, wrapped_key, created_at)
                    SELECT $6, $7, now() WHERE NOT EXISTS (SELECT FROM matter_found)
                    ON CONFLICT (person_id) DO NOTHING
                    RETURNING 1)"""

    async def ensure(self) -> None:
        """Create the vault's schema and tables if they do not exist (idempotent)."""
        async with self.engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
            await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {self._t}"))
            await conn.execute(
                text(
                    f"""CREATE TABLE IF NOT EXISTS {self._t}.data_keys (
                           person_id uuid PRIMARY KEY,
                           wrapped_key bytea,
                           created_at timestamptz NOT NULL,
                           shredded_at timestamptz,
                           shredded_by text,
                           reason text)"""
                )
            )
            await conn.execute(
                text(
                    f"""CREATE TABLE IF NOT EXISTS {self._t}.persons (
                           blind_index char(64) PRIMARY KEY,
                           person_id uuid NOT NULL
                               REFERENCES {self._t}.data_keys (person_id) ON DELETE CASCADE)"""
                )
            )
            # Which matters (contexts) a person was sealed in: shredding the person shreds
            # those matters' keys too, and with them the matters' free text (seal_matter_text).
            await conn.execute(
                text(
                    f"""CREATE TABLE IF NOT EXISTS {self._t}.matter_persons (
                           context text NOT NULL,
                           person_id uuid NOT NULL,
                           PRIMARY KEY (person_id, context))"""
                )
            )
        _ENSURED.add(self._where)

    def blind_index(self, kind: str, *parts: str) -> str:
        """A keyed hash of a value for equality lookups (``"id"``: ID number; ``"name_unit"``)."""
        message = "\x1f".join([kind, *(_normal(p) for p in parts)]).encode()
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()

    async def known_as(self, blind_index: str, conn: AsyncConnection | None = None) -> UUID | None:
        """The person known by this blind index, if any (nothing is created); on ``conn``
        when the caller holds one (a second connection from the same pool would wait on
        the pool while holding one)."""
        row = await self._row(
            conn, f"SELECT person_id FROM {self._t}.persons WHERE blind_index = $1", blind_index
        )
        return None if row is None else UUID(str(row[0]))

    async def person_for(
        self, conn: AsyncConnection, blind_index: str, now: datetime, *, sealed_in: str = ""
    ) -> UUID:
        """The person known by this blind index; a new person with a new key if none is.

        With ``sealed_in`` (a context the caller is about to ``seal`` their fields in), the
        same statement remembers them as one of that matter's and reads their key, so that
        those seals in this transaction need no round trip of their own (also where the
        vault has a database of its own: its statement commits by itself, and the key is
        remembered for the caller's transaction)."""
        if sealed_in:
            return await self._person_in(conn, blind_index, now, sealed_in)
        return await self._person_for(conn, blind_index, now)

    @property
    def _person_found_or_made(self) -> str:
        """The CTEs ``known``, ``made`` and ``taken`` of both person statements: the person
        known by the blind index ``$1``, else a new key ``$3`` for ``$2`` made at ``$4``
        and the index taken for it (when another transaction took the index first, its
        person; the key made here then seals nothing)."""
        return f"""WITH known AS (
                    SELECT person_id FROM {self._t}.persons WHERE blind_index = $1),
                made AS (
                    INSERT INTO {self._t}.data_keys (person_id, wrapped_key, created_at)
                    SELECT $2, $3, $4 WHERE NOT EXISTS (SELECT FROM known)
                    RETURNING person_id),
                taken AS (
                    INSERT INTO {self._t}.persons (blind_index, person_id)
                    SELECT $1, person_id FROM made
                    ON CONFLICT (blind_index) DO UPDATE SET blind_index = EXCLUDED.blind_index
                    RETURNING person_id)"""

    async def _person_in(
        self, conn: AsyncConnection | None, blind_index: str, now: datetime, context: str
    ) -> UUID:
        # _person_for's statement, then the link _read_data_key makes and the key it reads
        # (the statement's snapshot does not see a key it made: that one is known here).
        # The first person of a matter in a transaction also brings the matter's key, found
        # or made as _matter_key does: the matter's free text, sealed next in the same
        # command (a clue's), then needs no round trip of its own.
        person_id, key = uuid4(), secrets.token_bytes(32)
        known, links = self._known_keys(conn), self._known_links(conn)
        matter = matter_key_id(context) if _CONTEXT.fullmatch(context) else None
        if known is None or matter in known:
            matter = None
        fresh = secrets.token_bytes(32)
        query = f"""{self._person_found_or_made},
                who AS (SELECT person_id FROM known UNION ALL SELECT person_id FROM taken),
                link AS (
                    INSERT INTO {self._t}.matter_persons (context, person_id)
                    SELECT $5, person_id FROM who ON CONFLICT DO NOTHING)"""
        args: list[Any] = [blind_index, person_id, self._wrap(person_id, key), now, context]
        if matter is None:
            query += """
                SELECT who.person_id, k.wrapped_key, k.person_id IS NOT NULL AS seen"""
        else:
            query += (
                self._matter_key_ctes
                + """
                SELECT who.person_id, k.wrapped_key, k.person_id IS NOT NULL AS seen,
                    """
                + _MATTER_KEY_COLUMNS
            )
            args += [matter, self._wrap(matter, fresh)]
        query += f"""
                FROM who LEFT JOIN {self._t}.data_keys AS k USING (person_id)"""
        row = await self._row(conn, query, *args)
        taken = UUID(str(row[0]))
        if known is None or links is None:
            return taken
        if matter is not None:
            if row[5]:
                known[matter] = fresh
            elif row[4] and row[3] is not None:
                known[matter] = self._unwrap(matter, bytes(row[3]))
            # else shredded (seal_matter_text answers [已销毁]), or made by a transaction
            # this statement could not see: read when a text is sealed
        if taken == person_id:
            known[taken] = key
        elif row[2] and row[1] is not None:
            known[taken] = self._unwrap(taken, bytes(row[1]))
        else:  # shredded, or made by a transaction this statement could not see: read later
            return taken
        links.add((context, taken))
        return taken

    async def persons_in(
        self, conn: AsyncConnection, blind_indexes: Sequence[str], now: datetime, context: str
    ) -> list[UUID]:
        """``person_for(..., sealed_in=context)`` for each of these blind indexes, in order,
        in one statement: a transfer naming several persons asks the vault once."""
        distinct = sorted(set(blind_indexes))  # one order for every statement's row locks
        if not distinct:
            return []
        if len(distinct) == 1:
            return [await self._person_in(conn, distinct[0], now, context)] * len(blind_indexes)
        known, links = self._known_keys(conn), self._known_links(conn)
        matter = matter_key_id(context) if _CONTEXT.fullmatch(context) else None
        if known is None or matter in known:
            matter = None
        made = {b: (uuid4(), secrets.token_bytes(32)) for b in distinct}
        fresh = secrets.token_bytes(32)
        # As _person_in's statement, for many: each index's person known, else made with
        # the index taken for it (another transaction's person if it took it first).
        query = f"""WITH wanted AS (
                    SELECT * FROM unnest($1::text[], $2::uuid[], $3::bytea[]) AS w (b, p, k)),
                known AS (
                    SELECT w.b, s.person_id
                    FROM wanted AS w JOIN {self._t}.persons AS s ON s.blind_index = w.b),
                made AS (
                    INSERT INTO {self._t}.data_keys (person_id, wrapped_key, created_at)
                    SELECT w.p, w.k, $4 FROM wanted AS w
                    WHERE NOT EXISTS (SELECT FROM known WHERE known.b = w.b)
                    RETURNING person_id),
                taken AS (
                    INSERT INTO {self._t}.persons (blind_index, person_id)
                    SELECT w.b, w.p FROM wanted AS w JOIN made ON made.person_id = w.p
                    ORDER BY w.b
                    ON CONFLICT (blind_index) DO UPDATE SET blind_index = EXCLUDED.blind_index
                    RETURNING blind_index::text AS b, person_id),
                who AS (SELECT b, person_id FROM known UNION ALL SELECT b, person_id FROM taken),
                link AS (
                    INSERT INTO {self._t}.matter_persons (context, person_id)
                    SELECT DISTINCT $5, person_id FROM who ON CONFLICT DO NOTHING)"""
        args: list[Any] = [
            distinct,
            [made[b][0] for b in distinct],
            [self._wrap(*made[b]) for b in distinct],
            now,
            context,
        ]
        if matter is None:
            query += """
                SELECT who.b, who.person_id, k.wrapped_key, k.person_id IS NOT NULL AS seen"""
        else:
            query += (
                self._matter_key_ctes
                + """
                SELECT who.b, who.person_id, k.wrapped_key, k.person_id IS NOT NULL AS seen,
                    """
                + _MATTER_KEY_COLUMNS
            )
            args += [matter, self._wrap(matter, fresh)]
        query += f"""
                FROM who LEFT JOIN {self._t}.data_keys AS k USING (person_id)"""
        rows = await self._rows(conn, query, *args)
        found = {str(r[0]): UUID(str(r[1])) for r in rows}
        if known is not None and links is not None:
            if matter is not None and rows:
                if rows[0][6]:
                    known[matter] = fresh
                elif rows[0][5] and rows[0][4] is not None:
                    known[matter] = self._unwrap(matter, bytes(rows[0][4]))
            for r in rows:
                taken = found[str(r[0])]
                if taken == made[str(r[0])][0]:
                    known[taken] = made[str(r[0])][1]
                elif r[3] and r[2] is not None:
                    known[taken] = self._unwrap(taken, bytes(r[2]))
                else:  # shredded, or made by a transaction this one could not see
                    continue
                links.add((context, taken))
        return [found[b] for b in blind_indexes]

    async def _person_for(
        self, conn: AsyncConnection | None, blind_index: str, now: datetime
    ) -> UUID:
        # One statement: the person known by the index, else a new key and the index taken
        # for it (when another transaction took the index first, its person; the key made
        # here then seals nothing).
        person_id, key = uuid4(), secrets.token_bytes(32)
        row = await self._row(
            conn,
            f"""{self._person_found_or_made}
                SELECT person_id FROM known UNION ALL SELECT person_id FROM taken""",
            blind_index,
            person_id,
            self._wrap(person_id, key),
            now,
        )
        taken = UUID(str(row[0]))
        if taken == person_id and (known := self._known_keys(conn)) is not None:
            known[person_id] = key
        return taken

    async def seal(
        self, conn: AsyncConnection, person_id: UUID, value: str, *, context: str, field: str
    ) -> str:
        """A token of ``value`` readable only with the person's key, for this context and field.

        The person is remembered as one of the matter's (``context``): shredding them shreds
        the matter's free text too."""
        await self._ready()
        key = await self._data_key(conn, person_id, linking=context)
        if key is None:
            raise LookupError(f"person {person_id} has no key (shredded or unknown)")
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(key).encrypt(nonce, value.encode(), _aad(person_id, context, field))
        return f"{TOKEN_PREFIX}.{person_id}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    async def reveal(
        self,
        token: str,
        *,
        context: str,
        field: str,
        conn: AsyncConnection | None = None,
        keys: dict[UUID, bytes | None] | None = None,
    ) -> str | None:
        """The plain value of a token, or None once its person was shredded; ``keys`` caches
        the persons' keys for one answer (a person's name and ID number, a conversation's
        messages: their key read once).

        A token that does not open for this context and field raises :class:`Unopenable`.
        """
        try:
            person_id, blob = _parse(token)
        except ValueError as exc:
            raise Unopenable(context, field) from exc
        if keys is not None and person_id in keys:
            key = keys[person_id]
        else:
            key = await self._data_key(conn, person_id)
            if keys is not None:
                keys[person_id] = key
        if key is None:
            return None
        try:
            plain = AESGCM(key).decrypt(blob[:12], blob[12:], _aad(person_id, context, field))
            return plain.decode()
        except (InvalidTag, ValueError) as exc:
            raise Unopenable(context, field) from exc

    async def seal_file(
        self, conn: AsyncConnection, persons: Sequence[UUID], content: bytes, *, context: str
    ) -> bytes:
        """``content`` encrypted under every person's key in turn: it opens only while all of
        them have their keys, so shredding any one makes it unreadable."""
        order = list(dict.fromkeys(persons))
        blob = content
        known = self._known_keys(conn)
        keys: dict[UUID, bytes | None] = dict(known or {})
        if missing := [p for p in order if p not in keys]:  # every one at once
            read = await self._data_keys(conn, missing)
            keys |= read
            if known is not None:
                known.update((p, k) for p, k in read.items() if k is not None)
        for person_id in order:
            key = keys[person_id]
            if key is None:
                raise LookupError(f"person {person_id} has no key (shredded or unknown)")
            nonce = secrets.token_bytes(12)
            blob = nonce + AESGCM(key).encrypt(nonce, blob, _aad(person_id, context, "file"))
        header = ",".join(str(p) for p in order).encode()
        return FILE_MAGIC + len(header).to_bytes(4, "big") + header + blob

    async def open_file(self, sealed: bytes, *, context: str) -> bytes | None:
        """The content of a sealed file, or None once any of its persons was shredded;
        :class:`Unopenable` when it does not open for ``context`` (altered, another's)."""
        size = int.from_bytes(sealed[len(FILE_MAGIC) : len(FILE_MAGIC) + 4], "big")
        start = len(FILE_MAGIC) + 4
        try:
            header, blob = sealed[start : start + size].decode(), sealed[start + size :]
            persons = [UUID(p) for p in header.split(",") if p]
        except ValueError as exc:
            raise Unopenable(context, "file") from exc
        keys = await self._data_keys(None, persons) if persons else {}
        for person in reversed(persons):
            key = keys[person]
            if key is None:
                return None
            try:
                blob = AESGCM(key).decrypt(blob[:12], blob[12:], _aad(person, context, "file"))
            except (InvalidTag, ValueError) as exc:
                raise Unopenable(context, "file") from exc
        return blob

    async def shred(self, person_id: UUID, *, by: str, reason: str, now: datetime) -> bool:
        """Destroy a person's key (and forget their blind indexes). False if already gone."""
        for known in list(self._keys_of.values()):  # no open transaction of ours seals with it
            known.pop(person_id, None)
        async with self.engine.begin() as conn:
            done = await conn.execute(
                text(
                    f"""UPDATE {self._t}.data_keys
                        SET wrapped_key = NULL, shredded_at = :at, shredded_by = :by, reason = :r
                        WHERE person_id = :p AND wrapped_key IS NOT NULL RETURNING 1"""
                ),
                {"p": person_id, "at": now, "by": by, "r": reason},
            )
            shredded = done.first() is not None
            await conn.execute(
                text(f"DELETE FROM {self._t}.persons WHERE person_id = :p"), {"p": person_id}
            )
            if shredded:
                # The free text of every matter the person was sealed in goes with them.
                await self._ready()
                contexts = (
                    await conn.execute(
                        text(f"SELECT context FROM {self._t}.matter_persons WHERE person_id = :p"),
                        {"p": person_id},
                    )
                ).scalars()
                matters = [matter_key_id(c) for c in contexts]
                for known in list(self._keys_of.values()):
                    for matter in matters:
                        known.pop(matter, None)
                if matters:
                    await conn.execute(
                        text(
                            f"""UPDATE {self._t}.data_keys
                                SET wrapped_key = NULL, shredded_at = :at, shredded_by = :by,
                                    reason = :r
                                WHERE person_id = ANY(:ms) AND wrapped_key IS NOT NULL"""
                        ),
                        {
                            "ms": matters,
                            "at": now,
                            "by": by,
                            "r": f"{reason}（随人员 {person_id}）",
                        },
                    )
        return shredded

    async def shred_matter(self, context: str, *, by: str, reason: str, now: datetime) -> bool:
        """Destroy a matter's key (a clue's, a case's, an inquiry's): its free text becomes
        unreadable everywhere. False if it had none or it was already gone."""
        for known in list(self._keys_of.values()):
            known.pop(matter_key_id(context), None)
        async with self.engine.begin() as conn:
            done = await conn.execute(
                text(
                    f"""UPDATE {self._t}.data_keys
                        SET wrapped_key = NULL, shredded_at = :at, shredded_by = :by, reason = :r
                        WHERE person_id = :p AND wrapped_key IS NOT NULL RETURNING 1"""
                ),
                {"p": matter_key_id(context), "at": now, "by": by, "r": reason},
            )
            return done.first() is not None

    async def matters_of(self, person_id: UUID) -> list[str]:
        """The matters (contexts) a person was sealed in."""
        await self._ready()
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text(
                    f"SELECT context FROM {self._t}.matter_persons WHERE person_id = :p "
                    "ORDER BY context"
                ),
                {"p": person_id},
            )
            return [str(c) for c in rows.scalars()]

    async def _ready(self) -> None:
        """The vault's tables exist (a vault made before ``matter_persons`` gets it now):
        looked at once per process and vault (services ensure it when they start)."""
        # Known by the engine itself: rendering its URL costs more than the seal that asks.
        if self._ensured_with == (self.engine, self.schema):
            return
        if self._where not in _ENSURED:
            await self.ensure()
        self._ensured_with = (self.engine, self.schema)

    async def seal_matter_text(
        self, conn: AsyncConnection | None, value: str, *, context: str
    ) -> str:
        """Free text of a matter (a reason, a note, a finding) sealed with the matter's key:
        ``pii1m.<context>.<nonce+ciphertext>``. It opens while the matter's key lives;
        shredding the matter, or any person sealed in it, makes it unreadable. A matter
        already shredded gets ``[已销毁]`` in place of new text."""
        if not _CONTEXT.fullmatch(context):
            raise ValueError(f"context {context!r} cannot name a matter")
        matter = matter_key_id(context)
        # Once per transaction of the caller's (on a vault of its own too: a key made there
        # has committed, and a shred forgets it in every transaction, as below).
        known = self._known_keys(conn)
        key = known.get(matter) if known is not None else None
        if key is None:
            key = await self._matter_key(conn, matter)
            if key is not None and known is not None:
                known[matter] = key
        if key is None:
            return SHREDDED
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(key).encrypt(nonce, value.encode(), _text_aad(context))
        return f"{MATTER_TEXT_PREFIX}{context}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    async def _matter_key(self, conn: AsyncConnection | None, matter: UUID) -> bytes | None:
        """A matter's key (``None``: shredded), made now for a new matter — in one statement
        either way, and with no insert tried for a matter that has one."""
        fresh = secrets.token_bytes(32)
        row = await self._row(
            conn,
            f"""WITH found AS (
                    SELECT wrapped_key FROM {self._t}.data_keys WHERE person_id = $1),
                made AS (
                    INSERT INTO {self._t}.data_keys (person_id, wrapped_key, created_at)
                    SELECT $1, $2, now() WHERE NOT EXISTS (SELECT FROM found)
                    ON CONFLICT (person_id) DO NOTHING
                    RETURNING 1)
                SELECT wrapped_key, false AS made FROM found
                UNION ALL SELECT NULL, true FROM made""",
            matter,
            self._wrap(matter, fresh),
        )
        if row is None:  # made meanwhile by a transaction this statement could not see
            return await self._read_data_key(conn, matter)
        if row[1]:
            return fresh
        return None if row[0] is None else self._unwrap(matter, bytes(row[0]))

    async def open_matter_text(
        self, token: str, *, conn: AsyncConnection | None = None, keys: dict[str, Any] | None = None
    ) -> str | None:
        """The plain text of one ``seal_matter_text`` token, or None once its matter (or a
        person of it) was shredded; ``keys`` caches the matters' keys for one answer.
        :class:`Unopenable` when it does not open for the matter it names (forged, copied
        from another matter, corrupted)."""
        found = MATTER_TEXT.fullmatch(token)
        if found is None:
            raise Unopenable("?", "text")
        context = found["context"]
        try:
            blob = base64.urlsafe_b64decode(found["blob"])
        except ValueError as exc:  # binascii.Error: a blob cut short
            raise Unopenable(context, "text") from exc
        cache = {} if keys is None else keys
        if context not in cache:
            cache[context] = await self._data_key(conn, matter_key_id(context))
        key = cache[context]
        if key is None:
            return None
        try:
            plain = AESGCM(key).decrypt(blob[:12], blob[12:], _text_aad(context))
            return plain.decode()
        except (InvalidTag, ValueError) as exc:
            raise Unopenable(context, "text") from exc

    async def read_matter_keys(
        self, contexts: Iterable[str], keys: dict[str, Any], *, conn: AsyncConnection | None = None
    ) -> None:
        """The keys of these matters, read in one round trip into ``keys`` (the cache
        ``open_matter_text`` takes): an answer listing twenty cases opens their texts with
        one query, not twenty. A matter without a key (shredded) gets None, as there."""
        wanted = {c: matter_key_id(c) for c in set(contexts) if c not in keys}
        if not wanted:
            return
        found = await self._data_keys(conn, list(wanted.values()))
        for context, key_id in wanted.items():
            keys[context] = found[key_id]

    async def _data_keys(
        self, conn: AsyncConnection | None, ids: Sequence[UUID]
    ) -> dict[UUID, bytes | None]:
        """The keys of these persons or matters, read in one round trip (``None``: shredded
        or unknown)."""
        rows = await self._rows(
            conn,
            f"SELECT person_id, wrapped_key FROM {self._t}.data_keys WHERE person_id = ANY($1)",
            list(ids),
        )
        found = {
            UUID(str(r[0])): bytes(r[1])
            for r in rows
            if r[1] is not None  # shredded: the row stays, the key is gone
        }
        return {i: None if (blob := found.get(i)) is None else self._unwrap(i, blob) for i in ids}

    def _known_keys(self, conn: AsyncConnection | None) -> dict[UUID, bytes] | None:
        """The data keys ``conn``'s transaction has read or made (``None``: none is open)."""
        if conn is None:
            return None
        tx = conn.sync_connection.get_transaction() if conn.sync_connection else None
        if tx is None:
            return None
        known = self._keys_of.get(tx)
        if known is None:
            known = self._keys_of[tx] = {}
        return known

    async def _data_key(
        self, conn: AsyncConnection | None, person_id: UUID, linking: str | None = None
    ) -> bytes | None:
        known = self._known_keys(conn)
        links = self._known_links(conn) if linking is not None else None
        link = (linking or "", person_id)
        if known is not None and person_id in known and (links is None or link in links):
            return known[person_id]
        key = await self._read_data_key(conn, person_id, linking)
        if known is not None and key is not None:
            known[person_id] = key
        if links is not None:
            links.add(link)
        return key

    def _known_links(self, conn: AsyncConnection | None) -> set[tuple[str, UUID]] | None:
        if conn is None:
            return None
        tx = conn.sync_connection.get_transaction() if conn.sync_connection else None
        if tx is None:
            return None
        links = self._links_of.get(tx)
        if links is None:
            links = self._links_of[tx] = set()
        return links

    async def _read_data_key(
        self, conn: AsyncConnection | None, person_id: UUID, linking: str | None = None
    ) -> bytes | None:
        if linking is None:
            row = await self._row(
                conn, f"SELECT wrapped_key FROM {self._t}.data_keys WHERE person_id = $1", person_id
            )
        else:  # one round trip: remember the person as one of the matter's, read the key
            row = await self._row(
                conn,
                f"""WITH link AS (
                       INSERT INTO {self._t}.matter_persons (context, person_id)
                       VALUES ($2, $1) ON CONFLICT DO NOTHING)
                    SELECT wrapped_key FROM {self._t}.data_keys WHERE person_id = $1""",
                person_id,
                linking,
            )
        if row is None or row[0] is None:
            return None
        return self._unwrap(person_id, bytes(row[0]))

    def _wrap(self, person_id: UUID, key: bytes) -> bytes:
        """``WRAP_V2`` + the master key's id + nonce + the data key sealed under it."""
        nonce = secrets.token_bytes(12)
        sealed = self._masters[self._current].encrypt(nonce, key, _dek_aad(person_id))
        return WRAP_V2 + self._current + nonce + sealed

    def _unwrap(self, person_id: UUID, blob: bytes) -> bytes:
        if blob.startswith(WRAP_V2) and len(blob) == _V2_LENGTH:
            kid, body = blob[2:10], blob[10:]
            if (master := self._masters.get(kid)) is None:
                raise LookupError(
                    f"the data key of person {person_id} is wrapped by master key {kid.hex()}, "
                    "which is not configured (ZF_PII_MASTER_KEY / ZF_PII_PREVIOUS_MASTER_KEYS)"
                )
            return master.decrypt(body[:12], body[12:], _dek_aad(person_id))
        # Wrapped before keys had ids: whichever configured master key opens it.
        for master in self._masters.values():
            try:
                return master.decrypt(blob[:12], blob[12:], _dek_aad(person_id))
            except InvalidTag:
                continue
        raise LookupError(f"no configured master key opens the data key of person {person_id}")

    async def rewrap(self, batch: int = 500) -> Rewrapped:
        """Wrap every data key not yet under the current master key with it, in batches
        (each its own transaction, rows locked): safe to run again or on a live platform."""
        done = current = 0
        after = UUID(int=0)
        while True:
            async with self.engine.begin() as conn:
                rows = (
                    await conn.execute(
                        text(
                            f"""SELECT person_id, wrapped_key FROM {self._t}.data_keys
                                WHERE wrapped_key IS NOT NULL AND person_id > :after
                                ORDER BY person_id LIMIT :n FOR UPDATE"""
                        ),
                        {"after": after, "n": batch},
                    )
                ).all()
                for person_id, wrapped in rows:
                    blob = bytes(wrapped)
                    if blob.startswith(WRAP_V2 + self._current) and len(blob) == _V2_LENGTH:
                        current += 1
                        continue
                    key = self._unwrap(person_id, blob)
                    await conn.execute(
                        text(
                            f"UPDATE {self._t}.data_keys SET wrapped_key = :k WHERE person_id = :p"
                        ),
                        {"k": self._wrap(person_id, key), "p": person_id},
                    )
                    done += 1
            if len(rows) < batch:
                return Rewrapped(rewrapped=done, already_current=current)
            after = rows[-1][0]


_ENSURED: set[tuple[str, str]] = set()
"""The vaults (database, schema) this process has made sure of."""


async def _in_transaction(
    conn: AsyncConnection, query: str, args: Sequence[Any], *, every: bool
) -> Any:
    """One vault statement in the caller's transaction, at the driver (``driver`` begins
    it if nothing has yet: a vault statement must not run outside the transaction it was
    meant for); on a connection with none, through SQLAlchemy, which begins one."""
    if conn.in_transaction():
        c = await driver(conn)
        return await (c.fetch if every else c.fetchrow)(query, *args)
    result = await conn.exec_driver_sql(query, tuple(args))
    return result.all() if every else result.first()


WRAP_V2 = b"k2"
"""How a data key wrapped under a named master key begins (older ones are bare)."""
_V2_LENGTH = 2 + 8 + 12 + 32 + 16


def _dek_aad(person_id: UUID) -> bytes:
    return b"zhengfeng dek|" + person_id.bytes


MATTER_TEXT_PREFIX = "pii1m."
"""How a matter's sealed free text (``Vault.seal_matter_text``) begins."""
_CONTEXT = re.compile(r"[A-Za-z0-9_:-]{1,120}")
MATTER_TEXT = re.compile(
    r"pii1m\.(?P<context>[A-Za-z0-9_:-]{1,120})\.(?P<blob>[A-Za-z0-9_-]{40,}={0,2})"
)
"""A matter text token, where it stands whole or inside a longer string."""
_MATTER_NS = UUID("6a1f3c2e-57a4-4f0e-9d7b-2f3e8c1d9b40")


@functools.lru_cache(maxsize=1024)
def matter_key_id(context: str) -> UUID:
    """The vault row of a matter's key (beside persons' keys, never a person); kept for
    recent matters, as a command asks for its matter's several times."""
    return uuid5(_MATTER_NS, f"matter|{context}")


def _text_aad(context: str) -> bytes:
    return f"zhengfeng matter text v1|{context}".encode()


WITHHELD = "[已封存]"
"""What a reader who may not read a matter's free text gets in its place."""


async def open_texts(
    vault: Vault,
    data: Any,
    *,
    readable: bool = True,
    conn: AsyncConnection | None = None,
    keys: dict[str, Any] | None = None,
    strict: bool = False,
) -> Any:
    """``data`` (JSON-like) with every matter text token opened (``[已销毁]`` once
    shredded, ``[无法解封]`` — logged — when it does not open for its matter), or replaced
    by ``[已封存]`` when not ``readable``; a token inside a longer string is opened in place,
    and a text that holds tokens is opened again. ``strict``: a token that does not open
    raises :class:`Unopenable` instead (a body about to be decided on)."""
    cache: dict[str, Any] = {} if keys is None else keys
    if keys is None and (read := getattr(vault, "read_matter_keys", None)) is not None:
        contexts: set[str] = set()
        _matters_in(data, contexts)
        if len(contexts) > 1:  # every matter's key at once, before the walk opens them
            await read(contexts, cache, conn=conn)
    if isinstance(data, str):
        if MATTER_TEXT_PREFIX not in data:
            return data
        for _ in range(4):  # a sealed text may quote another (an alert's summary)
            parts, last = [], 0
            for found in MATTER_TEXT.finditer(data):
                parts.append(data[last : found.start()])
                if readable:
                    parts.append(await _opened_text(vault, found[0], conn, cache, strict))
                else:
                    parts.append(WITHHELD)
                last = found.end()
            data = "".join(parts) + data[last:]
            if MATTER_TEXT_PREFIX not in data:
                break
        return data
    if isinstance(data, list):
        return [
            await open_texts(vault, v, readable=readable, conn=conn, keys=cache, strict=strict)
            for v in data
        ]
    if isinstance(data, dict):
        return {
            k: await open_texts(vault, v, readable=readable, conn=conn, keys=cache, strict=strict)
            for k, v in data.items()
        }
    return data


async def _opened_text(
    vault: Vault, token: str, conn: AsyncConnection | None, cache: dict[str, Any], strict: bool
) -> str:
    try:
        return display(await vault.open_matter_text(token, conn=conn, keys=cache))
    except Unopenable as exc:
        if strict:
            raise
        unopenable(exc)
        return UNOPENABLE


def unopenable(exc: Unopenable) -> None:
    """Log a token that did not open: its matter and field, never its content."""
    log.warning(
        "sealed %s does not open for matter %s (forged, copied from another matter, or "
        "corrupted); answered as %s",
        exc.field,
        exc.context,
        UNOPENABLE,
    )


async def revealed_or_marked(
    vault: Vault,
    token: str,
    *,
    context: str,
    field: str,
    conn: AsyncConnection | None = None,
    keys: dict[UUID, bytes | None] | None = None,
) -> str:
    """A token's value for a list or a conversation: opened, ``[已销毁]`` once shredded,
    ``[无法解封]`` (logged) when it does not open — one bad token must not cost the reader
    the rest of the answer. ``keys``: as :meth:`Vault.reveal`'s."""
    try:
        return display(
            await vault.reveal(token, context=context, field=field, conn=conn, keys=keys)
        )
    except Unopenable as exc:
        unopenable(exc)
        return UNOPENABLE


def _matters_in(data: Any, out: set[str]) -> None:
    """The matters whose sealed texts JSON-like ``data`` holds, added to ``out``."""
    if isinstance(data, str):
        if MATTER_TEXT_PREFIX in data:
            out.update(found["context"] for found in MATTER_TEXT.finditer(data))
    elif isinstance(data, list):
        for v in data:
            _matters_in(v, out)
    elif isinstance(data, dict):
        for v in data.values():
            _matters_in(v, out)


def holds_sealed_text(data: Any) -> bool:
    """Whether JSON-like ``data`` holds a matter text token anywhere."""
    if isinstance(data, str):
        return MATTER_TEXT_PREFIX in data
    if isinstance(data, list):
        return any(holds_sealed_text(v) for v in data)
    if isinstance(data, dict):
        return any(holds_sealed_text(v) for v in data.values())
    return False


TEXT_PREFIX = "pii1t."
"""How a sealed free text (``seal_text``) begins."""


async def seal_text(
    vault: Vault, conn: AsyncConnection, persons: Sequence[UUID], value: str, *, context: str
) -> str:
    """Free text that may name persons (a clue's narrative), sealed under each of their keys
    in turn: it opens only while every one of them has a key, so shredding any of them
    makes it unreadable."""
    sealed = await vault.seal_file(conn, persons, value.encode(), context=context)
    return TEXT_PREFIX + base64.urlsafe_b64encode(sealed).decode()


async def reveal_text(vault: Vault, token: str, *, context: str) -> str | None:
    """The plain text of ``seal_text``'s token, or None once any of its persons was shredded."""
    try:
        if not token.startswith(TEXT_PREFIX):
            raise ValueError("not a sealed text")
        sealed = base64.urlsafe_b64decode(token[len(TEXT_PREFIX) :])
        opened = await vault.open_file(sealed, context=context)
        return None if opened is None else opened.decode()
    except ValueError as exc:  # Unopenable (as a file) included: the narrative does not open
        raise Unopenable(context, "narrative") from exc


def redacted(text: str, names: Iterable[str], id_numbers: Iterable[str] = ()) -> str:
    """``text`` with every given name and ID number masked as answers mask them (``周**``),
    longest first so that a name inside another is not half-masked."""
    masks = {n: mask_name(n) for n in names if len(n) > 1}
    masks |= {n: mask_id_number(n) for n in id_numbers if n}
    for plain in sorted(masks, key=len, reverse=True):
        text = text.replace(plain, masks[plain])
    return text


VAULT_URL_ENV = "ZF_PII_VAULT_DATABASE_URL"
"""Where the vault is when each service has a database of its own (``zhengfeng up`` sets
it to the platform database); unset, every service reaches it in its own database."""

_engines: dict[tuple[str, int], AsyncEngine] = {}


def _vault_engine(url: str) -> AsyncEngine:
    """One small pool per process (and event loop: a pool's connections belong to the loop
    that made them) for a vault in a database of its own."""
    try:
        loop = id(asyncio.get_running_loop())
    except RuntimeError:
        loop = 0
    if (url, loop) not in _engines:
        from libs.kit.db import make_engine

        _engines[url, loop] = make_engine(url, "public", pool_size=2, app="zhengfeng-vault")
    return _engines[url, loop]


PRIVATE_KEYS = frozenset({"sealed", "blind_index", "sealed_name", "sealed_narrative"})
"""Keys of event data that never leave a service in an answer."""

_NAME_KEYS = ("person_name", "subject_name")


def person_index(vault: Vault, name: str, unit: str, id_number: str | None) -> str:
    """The blind index that identifies a person: the ID number, else name and unit."""
    if id_number:
        return vault.blind_index("id", id_number)
    return vault.blind_index("name_unit", name, unit)


async def seal_values(
    vault: Vault,
    conn: AsyncConnection,
    person_id: UUID,
    values: dict[str, str | None],
    *,
    context: str,
) -> dict[str, str]:
    """The non-empty ``values`` as sealed tokens of one person, field by field."""
    return {
        field: await vault.seal(conn, person_id, value, context=context, field=field)
        for field, value in values.items()
        if value
    }


async def sealed_person(
    vault: Vault,
    conn: AsyncConnection,
    *,
    name: str,
    unit: str,
    id_number: str | None = None,
    context: str,
    now: datetime,
) -> dict[str, Any]:
    """What an event carries for a person instead of their name and ID number: masked
    forms, their pseudonym ``person_ref``, the blind index and the sealed tokens (a model's
    ``model_copy(update=...)``)."""
    index = person_index(vault, name, unit, id_number)
    # Sealed in the matter: the statement that finds the person reads their key for the
    # seals below (and brings the matter's key for its texts), no round trip per field.
    ref = await vault.person_for(conn, index, now, sealed_in=context)
    plain = {"name": name, "id_number": id_number}
    return {
        "name": mask_name(name),
        **({"id_number": mask_id_number(id_number)} if id_number else {}),
        "person_ref": ref,
        "blind_index": index,
        "sealed": await seal_values(vault, conn, ref, plain, context=context),
    }


async def revealed(
    vault: Vault, shown: dict[str, Any], sealed: dict[str, str], *, context: str
) -> dict[str, Any]:
    """A masked person's answer with their sealed fields opened (``[已销毁]`` if shredded)."""
    out, keys = dict(shown), dict[UUID, bytes | None]()  # the person's key read once
    for field, token in sealed.items():
        out[field] = display(await vault.reveal(token, context=context, field=field, keys=keys))
    return out


def _is_person(data: dict[str, Any]) -> bool:
    # A named dict is a person when it has a unit, sealed fields or is a leader (an
    # organisation on a responsibility list has neither).
    return "unit" in data or bool(data.get("sealed")) or data.get("kind") == "leader"


def scrubbed(data: Any) -> Any:
    """A copy of event data fit for an answer: sealed tokens and blind indexes left out,
    every name and ID number masked (also where an event from before sealing kept them)."""
    if isinstance(data, list):
        return [scrubbed(item) for item in data]
    if not isinstance(data, dict):
        return data
    out = {k: scrubbed(v) for k, v in data.items() if k not in PRIVATE_KEYS}
    if isinstance(out.get("name"), str) and _is_person(data):
        out["name"] = mask_name(out["name"])
    for key in _NAME_KEYS:
        if isinstance(out.get(key), str):
            out[key] = mask_name(out[key])
    if isinstance(out.get("id_number"), str) and out["id_number"]:
        out["id_number"] = mask_id_number(out["id_number"])
    return out


def is_sealed_file(content: bytes) -> bool:
    """Whether stored bytes are a file sealed by :meth:`Vault.seal_file`."""
    return content.startswith(FILE_MAGIC)


def person_of(token: str) -> UUID:
    """Whose key opens a token."""
    return _parse(token)[0]


def now() -> datetime:
    """The current time in UTC (for callers without a store clock)."""
    return datetime.now(UTC)


def _aad(person_id: UUID, context: str, field: str) -> bytes:
    return f"zhengfeng pii v1|{person_id}|{context}|{field}".encode()


def _parse(token: str) -> tuple[UUID, bytes]:
    try:
        prefix, person, blob = token.split(".", 2)
        if prefix != TOKEN_PREFIX:
            raise ValueError(prefix)
        return UUID(person), base64.urlsafe_b64decode(blob.encode())
    except (ValueError, TypeError) as exc:
        raise ValueError("not a sealed personal-data token") from exc
