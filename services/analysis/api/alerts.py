"""异常预警 and 线下核查: the alert board, one alert's evidence, the verifier's finding."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.contracts.analysis import AlertLevel, AlertVerified
from libs.events.store import ConcurrencyError, Metadata
from libs.kit import idempotency
from libs.kit.pagination import Page
from libs.kit.problems import Problem
from libs.kit.service import ReadConnection, Runtime, ServiceRuntime
from services.analysis import queries
from services.analysis.api.deps import Operator, Verifier
from services.analysis.domain.alerts import (
    FINDING_LABEL,
    LEVEL_LABEL,
    Alert,
    AlreadyVerified,
    Finding,
    alert_stream,
    evolve,
    replay,
    verify,
)
from services.analysis.queries import AlertFilter

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])


class AlertOut(BaseModel):
    """An alert as the board lists it."""

    alert_id: UUID
    rule_id: str
    rule_version: int
    level: AlertLevel
    level_label: str
    raised_level: AlertLevel
    category: str
    source: str
    person_id: str | None
    person_name: str | None
    unit_code: str | None
    unit_name: str | None
    plate: str | None
    evidence_key: str
    summary: str
    occurred_on: date
    raised_at: datetime
    escalation_reason: str | None
    finding: str | None
    case_id: UUID | None
    version: int


class AlertDetail(AlertOut):
    """An alert with its evidence rows and the verifier's finding."""

    identity: str
    evidence: list[dict[str, Any]]
    finding_label: str | None
    finding_notes: str | None
    verified_by: str | None
    verified_at: datetime | None
    case_number: str | None
    clue_id: UUID | None


class Verification(BaseModel):
    """线下核查结论."""

    finding: Finding
    notes: str = Field(default="", max_length=4000)
    case_id: UUID | None = None


def _out(row: Any, cls: type[AlertOut] = AlertOut) -> Any:
    d = dict(row)
    d["level_label"] = LEVEL_LABEL[AlertLevel(d["level"])]
    d["version"] = d.pop("stream_version")
    if cls is AlertDetail:
        d["finding_label"] = FINDING_LABEL[Finding(d["finding"])] if d["finding"] else None
    fields = cls.model_fields
    return cls(**{k: v for k, v in d.items() if k in fields})


@router.get("", response_model=Page[AlertOut])
async def list_alerts(
    operator: Operator,
    conn: ReadConnection,
    level: AlertLevel | None = None,
    rule: str | None = None,
    category: str | None = None,
    unit: str | None = None,
    person: str | None = None,
    plate: str | None = None,
    finding: str | None = None,
    period_from: date | None = None,
    period_to: date | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[AlertOut]:
    """Alerts by level, rule, category, unit, person, vehicle, finding and the period
    they concern, oldest raised first."""
    where = AlertFilter(level, rule, category, unit, person, plate, finding, period_from, period_to)
    rows, next_cursor = await queries.alerts(conn, where, cursor, limit)
    return Page[AlertOut](items=[_out(r) for r in rows], next_cursor=next_cursor)


def unknown_alert(alert_id: UUID) -> Problem:
    """404: no alert with this id."""
    return Problem(404, "unknown-alert", "No such alert", f"No alert {alert_id}.")


@router.get("/{alert_id}", response_model=AlertDetail)
async def get_alert(alert_id: UUID, operator: Operator, conn: ReadConnection) -> JSONResponse:
    """One alert with the evidence rows its rule version found."""
    row = await queries.alert(conn, alert_id)
    if row is None:
        raise unknown_alert(alert_id)
    detail = _out(row, AlertDetail)
    return JSONResponse(detail.model_dump(mode="json"), headers={"ETag": f'"{detail.version}"'})


async def _verify(
    rt: Runtime,
    conn: AsyncConnection,
    alert_id: UUID,
    body: Verification,
    actor: str,
    if_match: str | None,
) -> tuple[Alert, AlertVerified]:
    """Decide on the alert as its stream has it and record the finding; an unpinned
    finding is decided again when the stream moved meanwhile (a clue linked, say)."""
    while True:
        stream = alert_stream(alert_id)
        alert = replay((r.event, r.version) for r in await rt.store.read_stream(stream, conn=conn))
        if alert is None:
            raise unknown_alert(alert_id)
        if if_match and if_match.strip('"W/') != str(alert.stream_version):
            raise _stale(alert.stream_version)
        try:
            event = verify(
                alert=asdict(alert),
                finding=body.finding,
                notes=body.notes,
                verified_by=actor,
                case_id=body.case_id,
                now=rt.store.clock(),
            )
        except AlreadyVerified as exc:
            raise Problem(
                409,
                "already-verified",
                "The alert has a finding already",
                f"It was verified as {exc}; findings are not overwritten.",
            ) from exc
        try:
            await rt.store.append(
                stream,
                [event],
                expected_version=alert.stream_version,
                meta=Metadata(actor=actor),
                conn=conn,
            )
        except ConcurrencyError:
            if if_match:
                raise _stale(await rt.store.stream_version(stream, conn=conn)) from None
            continue
        return alert, event


def _stale(version: int) -> Problem:
    return Problem(
        409,
        "stale-version",
        "The alert changed since you read it",
        f"It is at version {version}. Reload it and try again.",
        current_version=version,
    )


@router.post("/{alert_id}/verification", response_model=AlertDetail)
async def verify_alert(
    alert_id: UUID,
    body: Verification,
    verifier: Verifier,
    rt: ServiceRuntime,
    idempotency_key: Annotated[str | None, Header()] = None,
    if_match: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Record the verifier's finding (属实 / 不属实 / 无法核实) with notes; it counts in
    the rule's precision. One finding per alert."""
    async with rt.engine.begin() as conn:
        if idempotency_key:
            done = await idempotency.claim(
                conn,
                verifier.actor,
                idempotency_key,
                idempotency.fingerprint([str(alert_id), body.model_dump(mode="json")]),
            )
            if done is not None:
                return JSONResponse(
                    done.body, status_code=done.status_code, headers={"Idempotent-Replayed": "true"}
                )
        alert, event = await _verify(rt, conn, alert_id, body, verifier.actor, if_match)
        verified = evolve(alert, event, alert.stream_version + 1)
        # The answer is the alert with the event just recorded (the board catches up after).
        detail = _out(asdict(verified), AlertDetail).model_dump(mode="json")
        if idempotency_key:
            await idempotency.remember(conn, verifier.actor, idempotency_key, 200, detail)
    return JSONResponse(detail, headers={"ETag": f'"{detail["version"]}"'})
