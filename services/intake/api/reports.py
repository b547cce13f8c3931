"""Public reports without login, and follow-up with a receipt code and a secret.

Nothing internal reaches the reporter: no clue id or number, no handler, no method —
only the status, the outcome casework wrote for the source, and the clerk's messages.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import secrets
import time
from datetime import date, timedelta
from typing import Annotated, Any
from uuid import UUID, uuid4

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from libs.events.contracts import Event
from libs.events.contracts.intake import ClueReceived, ReportMessagePosted, ReportReceived
from libs.events.pii import Vault
from libs.events.store import ANY, EventStore, Metadata
from libs.kit import idempotency
from libs.kit.conflicts import rerun_on_conflict
from libs.kit.logs import correlation_id
from libs.kit.problems import Problem
from libs.kit.service import Store
from services.intake.api.deps import DuplicateRulesDep, Jurisdiction, Settings, VaultDep
from services.intake.api.transfers import SENT_AS_IS, PersonIn, check_categories
from services.intake.domain import clue_stream
from services.intake.domain.progress import SourceView, evolve, status_label
from services.intake.domain.reports import FileReport, file_report, normal_code, receipt_code
from services.intake.personal import seal_persons
from services.intake.references import next_clue_number
from services.intake.service.repeats import hold_persons, merged_into, record_clue
from services.intake.settings import IntakeSettings

router = APIRouter(prefix="/v1", tags=["public reports"])

_hasher = PasswordHasher()  # Argon2id with the library's recommended parameters
_DUMMY = _hasher.hash("not a secret")
SecretHeader = Annotated[str, Header(alias="X-Report-Secret", min_length=1, max_length=128)]


class ReporterIn(BaseModel):
    """A real-name reporter's contact details (sealed under their own key)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=50)
    phone: str = Field(min_length=5, max_length=20, pattern=r"^[0-9+\-() ]+$")


class ReportIn(BaseModel):
    """A report (举报) from a member of the public."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    anonymous: bool
    reporter: ReporterIn | None = None
    secret: str | None = Field(
        default=None,
        min_length=8,
        max_length=128,
        pattern=r"^[\x21-\x7e]+$",
        description="Chosen to follow up later; sent back in the X-Report-Secret header, "
        "so printable ASCII without spaces",
    )
    reported_persons: list[PersonIn] = Field(min_length=1, max_length=20)
    categories: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=20
    )
    narrative: str = Field(min_length=1, max_length=20000)
    place: str | None = Field(default=None, max_length=200)
    occurred_from: date | None = None
    occurred_to: date | None = None


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


class MessageIn(BaseModel):
    """A message to the other side."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=5000)


class MessageOut(BaseModel):
    """One message; the clerk is shown as 信访室, never by name."""

    author: str
    text: str
    posted_at: Any


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _code_hash(code: str) -> str:
    return hashlib.sha256(normal_code(code).encode()).hexdigest()


@router.post("/reports", status_code=201, response_model=ReceiptOut)
async def file_public_report(
    body: ReportIn,
    request: Request,
    store: Store,
    vault: VaultDep,
    settings: Settings,
    duplicate_rules: DuplicateRulesDep,
    jurisdiction: Jurisdiction,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> ReceiptOut:
    """File a report without logging in; rate-limited per client address.

    A report on a matter already open is merged into that clue as a repeat report; the
    reporter's receipt works the same, and the status reads 已并入.
    """
    address = _address(request)
    wait = request.app.state.deps.report_limiter.allow(address, time.monotonic())
    if wait is not None:
        raise Problem(
            429,
            "too-many-reports",
            "Too many reports from this address",
            "Please try again later.",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    if body.anonymous and body.reporter is not None:
        raise _field_problem("reporter", "must be empty for an anonymous report")
    if body.anonymous and body.secret is None:
        raise _field_problem("secret", "an anonymous reporter needs a secret to follow up")
    if not body.anonymous and body.reporter is None:
        raise _field_problem("reporter", "required for a real-name report")
    check_categories(body.categories)
    request_hash = idempotency.fingerprint(body.model_dump(mode="json"))
    code = receipt_code(secrets.token_bytes(15)) if body.secret else None
    secret_hash = await asyncio.to_thread(_hasher.hash, body.secret) if body.secret else None
    now = store.clock()
    acknowledge_by = jurisdiction.calendar.add_workdays(
        now.date(), settings.report_acknowledge_workdays
    )
    principal = f"public:{address}"

    async def once() -> Any:
        async with store.engine.begin() as conn:
            held = await hold_persons(conn, vault, body.reported_persons)
            if idempotency_key is not None:
                stored = await idempotency.claim(conn, principal, idempotency_key, request_hash)
                if stored is not None:
                    return ReceiptOut(**stored.body)
            clue_id = uuid4()
            reporter_ref = await vault.person_for(
                conn, vault.blind_index("reporter", str(clue_id)), now
            )
            contact = {}
            if body.reporter is not None:
                for field, value in (("name", body.reporter.name), ("phone", body.reporter.phone)):
                    contact[field] = await vault.seal(
                        conn, reporter_ref, value, context=str(clue_id), field=f"reporter.{field}"
                    )
            command = FileReport(
                anonymous=body.anonymous,
                **body.model_dump(include=SENT_AS_IS),
                reported_persons=list(
                    await seal_persons(
                        vault, conn, body.reported_persons, context=str(clue_id), now=now
                    )
                ),
                reporter_ref=reporter_ref,
                sealed_contact=contact,
            )
            events = file_report(
                command,
                clue_id=clue_id,
                clue_number=await next_clue_number(conn, now),
                now=now,
                acknowledge_by=acknowledge_by,
            )
            await record_clue(
                conn,
                store,
                duplicate_rules,
                events,
                held,
                meta=Metadata(
                    actor="public:reporter", correlation_id=correlation_id.get() or str(uuid4())
                ),
                on_receipt=jurisdiction.on_receipt,
            )
            if code is not None:
                await conn.execute(
                    text(
                        "INSERT INTO report_receipts (code_hash, clue_id, secret_hash) VALUES (:c, :id, :s)"
                    ),
                    {"c": _code_hash(code), "id": clue_id, "s": secret_hash},
                )
            out = ReceiptOut(
                receipt_code=code,
                status_url=f"/v1/reports/{code}" if code else None,
                acknowledge_by=None if body.anonymous else acknowledge_by,
            )
            if idempotency_key is not None:
                # The code is not kept in the clear anywhere; a replay does not repeat it.
                replay = out.model_copy(update={"receipt_code": None, "status_url": None})
                await idempotency.remember(
                    conn, principal, idempotency_key, 201, replay.model_dump(mode="json")
                )
        return out

    return await rerun_on_conflict(once, pinned=False)


def _field_problem(field: str, reason: str) -> Problem:
    return Problem(
        422,
        "validation-error",
        "The request is not valid",
        f"Check these fields: {field}",
        errors=[{"field": field, "reason": reason}],
    )


async def _unlock(store: EventStore, settings: IntakeSettings, code: str, secret: str) -> UUID:
    """The report behind a receipt code, if the secret is right; wrong secrets are throttled.

    An unknown code and a wrong secret answer the same, so codes cannot be probed.
    """
    now = store.clock()
    refused = Problem(
        401,
        "wrong-receipt-or-secret",
        "Receipt code or secret not recognised",
        "Check both and try again; repeated wrong attempts lock the receipt for a while.",
    )
    async with store.engine.begin() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT clue_id, secret_hash, failures, locked_until FROM report_receipts"
                    " WHERE code_hash = :c FOR UPDATE"
                ),
                {"c": _code_hash(code)},
            )
        ).first()
        if row is not None and row.locked_until is not None and row.locked_until > now:
            wait = math.ceil((row.locked_until - now).total_seconds())
            raise Problem(
                429,
                "receipt-locked",
                "Too many wrong secrets",
                "This receipt is locked for a while after repeated wrong secrets.",
                headers={"Retry-After": str(wait)},
            )
        ok = await asyncio.to_thread(_verify, row.secret_hash if row else _DUMMY, secret)
        if row is None:
            raise refused
        if ok:
            await conn.execute(
                text("UPDATE report_receipts SET failures = 0 WHERE code_hash = :c"),
                {"c": _code_hash(code)},
            )
            return UUID(str(row.clue_id))
        failures = row.failures + 1
        lock = failures >= settings.report_secret_max_failures
        await conn.execute(
            text(
                "UPDATE report_receipts SET failures = :f, locked_until = :l WHERE code_hash = :c"
            ),
            {
                "f": 0 if lock else failures,
                "l": now + timedelta(seconds=settings.report_lock_seconds) if lock else None,
                "c": _code_hash(code),
            },
        )
    raise refused


def _verify(secret_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


async def _history(store: EventStore, clue_id: UUID) -> list[Event]:
    return [r.event for r in await store.read_stream(clue_stream(clue_id))]


@router.get("/reports/{code}", response_model=PublicStatusOut)
async def report_status(
    code: str, secret: SecretHeader, store: Store, settings: Settings
) -> PublicStatusOut:
    """The public status of a report, with the receipt code and the secret."""
    clue_id = await _unlock(store, settings, code, secret)
    history = await _history(store, clue_id)
    view = SourceView()
    for event in history:
        view = evolve(view, event)
    received = next((e for e in history if isinstance(e, ClueReceived)), None)
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


async def messages_of(vault: Vault, clue_id: UUID, history: list[Event]) -> list[MessageOut]:
    """The conversation of a report, oldest first (clerks shown as 信访室)."""
    out = []
    for e in history:
        if isinstance(e, ReportMessagePosted):
            plain = await vault.reveal(
                e.sealed_text, context=str(clue_id), field=f"message:{e.message_id}"
            )
            out.append(
                MessageOut(
                    author="信访室" if e.author == "clerk" else "举报人",
                    text=plain if plain is not None else "[已销毁]",
                    posted_at=e.posted_at,
                )
            )
    return out


async def post_message(
    store: EventStore, vault: Vault, clue_id: UUID, text_: str, *, author: str, actor: str
) -> None:
    """Seal a message under the reporter's key and record it on the clue."""
    history = await _history(store, clue_id)
    report = next((e for e in history if isinstance(e, ReportReceived)), None)
    if report is None:
        raise Problem(404, "not-a-report", "Not found", "This clue has no reporter to write to.")
    message_id = uuid4()
    async with store.engine.begin() as conn:
        sealed = await vault.seal(
            conn, report.reporter_ref, text_, context=str(clue_id), field=f"message:{message_id}"
        )
        await store.append(
            clue_stream(clue_id),
            [
                ReportMessagePosted(
                    clue_id=clue_id,
                    message_id=message_id,
                    author=author,
                    clerk=actor if author == "clerk" else None,
                    sealed_text=sealed,
                    posted_at=store.clock(),
                )
            ],
            expected_version=ANY,
            meta=Metadata(actor=actor, correlation_id=correlation_id.get() or str(uuid4())),
            conn=conn,
        )


@router.get("/reports/{code}/messages", response_model=list[MessageOut])
async def reporter_reads_messages(
    code: str, secret: SecretHeader, store: Store, vault: VaultDep, settings: Settings
) -> list[MessageOut]:
    """The conversation with the intake clerk."""
    clue_id = await _unlock(store, settings, code, secret)
    return await messages_of(vault, clue_id, await _history(store, clue_id))


@router.post("/reports/{code}/messages", status_code=201, response_model=list[MessageOut])
async def reporter_writes(
    code: str,
    body: MessageIn,
    secret: SecretHeader,
    store: Store,
    vault: VaultDep,
    settings: Settings,
) -> list[MessageOut]:
    """Write to the intake clerk; answers with the whole conversation."""
    clue_id = await _unlock(store, settings, code, secret)
    await post_message(store, vault, clue_id, body.text, author="reporter", actor="public:reporter")
    return await messages_of(vault, clue_id, await _history(store, clue_id))
