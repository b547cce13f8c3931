"""信访举报: a public report as a source of the receive path, and the reporter's way back —
a receipt code and a secret — to the status and the conversation with the clerk.

Nothing internal reaches the reporter: no clue id or number, no handler, no method —
only the status, the outcome casework wrote for the source, and the clerk's messages.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import secrets
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.contracts import Event
from libs.events.contracts.intake import ClueReceived, ReportMessagePosted, ReportReceived
from libs.events.pii import Vault, revealed_or_marked
from libs.events.store import EventStore
from libs.kit.auth import Principal
from libs.kit.commands import Aggregate, Command, Context
from libs.kit.problems import Problem, invalid_field
from services.intake.domain import clue_stream
from services.intake.domain.progress import SourceView, evolve, status_label
from services.intake.domain.reports import FileReport, file_report, normal_code, receipt_code
from services.intake.personal import seal_persons
from services.intake.service import Deps
from services.intake.service.receive import (
    SENT_AS_IS,
    Arrival,
    Source,
    check_categories,
    receiving,
)
from services.intake.service.repeats import merged_into
from services.intake.settings import IntakeSettings

REPORTER = Principal(subject="reporter", kind="public")
"""How events record a member of the public (never their address)."""

_hasher = PasswordHasher()  # Argon2id with the library's recommended parameters


class ReceiptOut(BaseModel):
    """What the reporter keeps: the receipt code (with their secret, the way back)."""

    receipt_code: str | None
    status_url: str | None
    acknowledge_by: date | None = None


class PublicStatusOut(BaseModel):
    """What a reporter may know of their report."""

    status: str
    status_label: str
    outcome: str | None
    received_on: date
    messages_url: str


class MessageOut(BaseModel):
    """One message; the clerk is shown as 信访室, never by name."""

    author: str
    text: str
    posted_at: Any


async def admit(deps: Deps, address: str, body: Any) -> None:
    """What a report must be before it is received: within the address's hourly limit
    (shared by every replica), real-name or anonymous as it says, its categories in the
    taxonomy."""
    key = deps.vault.blind_index("report-address", address)
    wait = await deps.report_limiter.allow(deps.engine, key)
    if wait is not None:
        raise Problem(
            429,
            "too-many-reports",
            "举报提交过于频繁",
            "请稍后再试。",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    if body.anonymous and body.reporter is not None:
        raise invalid_field("reporter", "匿名举报不填写举报人")
    if body.anonymous and body.secret is None:
        raise invalid_field("secret", "匿名举报须设置查询密码，以便后续查询")
    if not body.anonymous and body.reporter is None:
        raise invalid_field("reporter", "实名举报须填写举报人")
    check_categories(body.categories, deps.taxonomy)


def public(address: str) -> Principal:
    """A member of the public, known by their address (whose retries are whose)."""
    return Principal(subject=address, kind="public")


def _code_hash(code: str) -> str:
    return hashlib.sha256(normal_code(code).encode()).hexdigest()


async def _record(body: Any, arrival: Arrival, ctx: Context) -> dict[str, list[Event]]:
    """The report and its reporter's side: contact sealed under their own key, a receipt."""
    assert arrival.clue_id is not None and arrival.clue_number is not None
    deps: Deps = ctx.deps
    clue_id, context = arrival.clue_id, str(arrival.clue_id)
    # A reporter who gives their contact is sealed in the clue (the statement that finds
    # them reads their key for the seals below); an anonymous one is not one of its persons.
    reporter_ref = await deps.vault.person_for(
        ctx.conn,
        deps.vault.blind_index("reporter", context),
        ctx.now,
        sealed_in=context if body.reporter is not None else "",
    )
    contact = {}
    if body.reporter is not None:
        for field, value in (("name", body.reporter.name), ("phone", body.reporter.phone)):
            contact[field] = await deps.vault.seal(
                ctx.conn, reporter_ref, value, context=context, field=f"reporter.{field}"
            )
    command = FileReport(
        anonymous=body.anonymous,
        **body.model_dump(include=SENT_AS_IS),
        reported_persons=list(
            await seal_persons(
                deps.vault, ctx.conn, body.reported_persons, context=context, now=ctx.now
            )
        ),
        reporter_ref=reporter_ref,
        sealed_contact=contact,
    )
    acknowledge_by = deps.jurisdiction.calendar.add_workdays(
        ctx.now.date(), deps.settings.report_acknowledge_workdays
    )
    events = file_report(
        command,
        clue_id=clue_id,
        clue_number=arrival.clue_number,
        now=ctx.now,
        acknowledge_by=acknowledge_by,
    )
    arrival.facts["acknowledge_by"] = None if body.anonymous else acknowledge_by
    if body.secret:
        code = arrival.facts["receipt_code"] = receipt_code(secrets.token_bytes(15))
        secret_hash = await asyncio.to_thread(_hasher.hash, body.secret)
        await ctx.conn.execute(
            text(
                "INSERT INTO report_receipts (code_hash, clue_id, secret_hash) VALUES (:c, :id, :s)"
            ),
            {"c": _code_hash(code), "id": clue_id, "s": secret_hash},
        )
    return {clue_stream(clue_id): events}


async def _answer(arrival: Arrival, ctx: Context) -> dict[str, Any]:
    code = arrival.facts.get("receipt_code")
    return ReceiptOut(
        receipt_code=code,
        status_url=f"/v1/reports/{code}" if code else None,
        acknowledge_by=arrival.facts["acknowledge_by"],
    ).model_dump(mode="json")


REPORTS = Source(
    name="file_report",
    persons=lambda body: body.reported_persons,
    record=_record,
    answer=_answer,
    also_named=lambda body: [body.reporter.name] if body.reporter is not None else [],
)
REPORT = receiving(
    REPORTS,
    # The code is not kept in the clear anywhere; a retry's answer does not repeat it.
    remembered=lambda answer: {**answer, "receipt_code": None, "status_url": None},
    actor=lambda principal: REPORTER.actor,
)
"""A report from a member of the public, without logging in. A report on a matter already
open is merged into that clue as a repeat report; the reporter's receipt works the same."""


def _refused() -> Problem:
    """An unknown code and a wrong secret: the same answer, so codes cannot be probed."""
    return Problem(
        401,
        "wrong-receipt-or-secret",
        "查询码或密码不正确",
        "请核对后重试；多次输错，该查询码将被暂时锁定。",
    )


async def unlock(store: EventStore, settings: IntakeSettings, code: str, secret: str) -> UUID:
    """The report behind a receipt code, if the secret is right; wrong secrets are throttled.

    The code is looked up first (by its hash): an unknown one is refused at once, without
    an Argon2 hash, with the answer a wrong secret gets. Codes carry 120 random bits, so
    the quicker answer tells a prober nothing they could use.
    """
    now = store.clock()
    async with store.engine.begin() as conn:
        code_hash = _code_hash(code)
        row = await _receipt(conn, code_hash)
        if row is None:
            raise _refused()
        _not_locked(row.locked_until, now)
        if await asyncio.to_thread(_verify, row.secret_hash, secret):
            await _set_failures(conn, code_hash, 0, None)
            return UUID(str(row.clue_id))
        failures = row.failures + 1
        if failures >= settings.report_secret_max_failures:
            until = now + timedelta(seconds=settings.report_lock_seconds)
            await _set_failures(conn, code_hash, 0, until)
        else:
            await _set_failures(conn, code_hash, failures, None)
    raise _refused()


async def _receipt(conn: AsyncConnection, code_hash: str) -> Any:
    """The receipt of a code's hash (locked for this transaction), or None."""
    sql = text(
        "SELECT clue_id, secret_hash, failures, locked_until FROM report_receipts"
        " WHERE code_hash = :c FOR UPDATE"
    )
    return (await conn.execute(sql, {"c": code_hash})).first()


def _not_locked(locked_until: datetime | None, now: datetime) -> None:
    """429 while a receipt is locked after too many wrong secrets."""
    if locked_until is not None and locked_until > now:
        raise Problem(
            429,
            "receipt-locked",
            "密码错误次数过多",
            "因多次输错密码，该查询码已被暂时锁定，请稍后再试。",
            headers={"Retry-After": str(math.ceil((locked_until - now).total_seconds()))},
        )


async def _set_failures(
    conn: AsyncConnection, code_hash: str, failures: int, locked_until: datetime | None
) -> None:
    sql = text("UPDATE report_receipts SET failures = :f, locked_until = :l WHERE code_hash = :c")
    await conn.execute(sql, {"f": failures, "l": locked_until, "c": code_hash})


def _verify(secret_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


async def history(store: EventStore, clue_id: UUID) -> list[Event]:
    """The events of a clue's stream, oldest first."""
    return [r.event for r in await store.read_stream(clue_stream(clue_id))]


async def report_status(store: EventStore, clue_id: UUID, code: str) -> PublicStatusOut:
    """The public status of an unlocked report."""
    events = await history(store, clue_id)
    view = SourceView()
    for event in events:
        view = evolve(view, event)
    received = next((e for e in events if isinstance(e, ClueReceived)), None)
    if received is not None:
        received_on = received.received_at.date()
    else:  # a repeat report (重复件): merged into a clue the reporter is not told about
        merged = await merged_into(store, clue_id)
        assert merged is not None, f"report {clue_id} is neither a clue nor a repeat"
        view = SourceView(status="merged")
        received_on = (merged.received_at or merged.merged_at).date()
    return PublicStatusOut(
        status=view.status,
        status_label=status_label(view.status),
        outcome=view.outcome,
        received_on=received_on,
        messages_url=f"/v1/reports/{normal_code(code)}/messages",
    )


async def messages_of(vault: Vault, clue_id: UUID, events: list[Event]) -> list[MessageOut]:
    """The conversation of a report, oldest first (clerks shown as 信访室)."""
    out: list[MessageOut] = []
    keys: dict[UUID, bytes | None] = {}  # the reporter's key (it seals them all) read once
    for e in events:
        if isinstance(e, ReportMessagePosted):
            plain = await revealed_or_marked(  # one bad token does not cost the conversation
                vault,
                e.sealed_text,
                context=str(clue_id),
                field=f"message:{e.message_id}",
                keys=keys,
            )
            out.append(
                MessageOut(
                    author="信访室" if e.author == "clerk" else "举报人",
                    text=plain,
                    posted_at=e.posted_at,
                )
            )
    return out


async def conversation(store: EventStore, vault: Vault, clue_id: UUID) -> list[MessageOut]:
    """The conversation of a report as it stands."""
    return await messages_of(vault, clue_id, await history(store, clue_id))


class Message(BaseModel):
    """A message to the other side of a report, and who writes it."""

    model_config = ConfigDict(frozen=True)

    text: str
    author: str
    """``clerk`` or ``reporter``."""


def _reporter_of(state: ReportReceived | None, event: Event) -> ReportReceived | None:
    return event if state is None and isinstance(event, ReportReceived) else state


REPORT_SIDE: Aggregate[ReportReceived | None] = Aggregate(
    noun="report",
    label="举报",
    stream=clue_stream,
    initial=lambda: None,
    evolve=_reporter_of,
    exists=lambda state: state is not None,
    missing="该线索没有可以联系的举报人。",
    missing_title="没有举报人",
    missing_slug="not-a-report",
)
"""A clue as its reporter's side: who the reporter is (their key seals the messages)."""


async def _post(state: ReportReceived | None, body: Message, ctx: Context) -> list[Event]:
    assert state is not None
    message_id = uuid4()
    sealed = await ctx.deps.vault.seal(
        ctx.conn, state.reporter_ref, body.text, context=str(ctx.key), field=f"message:{message_id}"
    )
    return [
        ReportMessagePosted(
            clue_id=ctx.key,
            message_id=message_id,
            author=body.author,
            clerk=ctx.actor if body.author == "clerk" else None,
            sealed_text=sealed,
            posted_at=ctx.now,
        )
    ]


POST_MESSAGE: Command[ReportReceived | None] = Command(
    name="post_message",
    aggregate=REPORT_SIDE,
    decide=_post,
    render=lambda state, ctx: {},
    status_code=201,
    etag=False,
)
"""A message to the other side, sealed under the reporter's key and recorded on the clue."""
