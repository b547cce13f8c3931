"""异常预警 and 线下核查: the alert board, one alert's evidence, the verifier's finding."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from libs.events.contracts.analysis import AlertLevel
from libs.kit.commands import Commands, IdempotencyKey, IfMatch
from libs.kit.pagination import Page
from libs.kit.service import ReadConnection, Store
from services.analysis import queries
from services.analysis.api.deps import AnalysisDeps, Operator, Verifier
from services.analysis.domain.alerts import Verification
from services.analysis.queries import AlertFilter
from services.analysis.service import (
    ALERT,
    VERIFY_ALERT,
    AlertDetail,
    AlertOut,
    alert_view,
    reveal_alert,
)

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])


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
    return Page[AlertOut](items=[alert_view(r) for r in rows], next_cursor=next_cursor)


@router.get("/{alert_id}", response_model=AlertDetail)
async def get_alert(
    alert_id: UUID,
    operator: Operator,
    store: Store,
    deps: AnalysisDeps,
    reveal: bool = False,
) -> JSONResponse:
    """One alert with the evidence rows its rule version found; the person's name masked,
    ``reveal=true`` shows it to allowed roles (the read is recorded)."""
    async with store.engine.connect() as conn:  # given back before the reveal takes its own
        row = await queries.alert(conn, alert_id)
    if row is None:
        raise ALERT.missing_problem(alert_id)
    detail = alert_view(row, AlertDetail)
    body = detail.model_dump(mode="json")
    if reveal:
        await reveal_alert(store, deps, alert_id, operator, body)
    return JSONResponse(body, headers={"ETag": f'"{detail.version}"'})


@router.post("/{alert_id}/verification", response_model=AlertDetail)
async def verify_alert(
    alert_id: UUID,
    body: Verification,
    verifier: Verifier,
    commands: Commands,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Record the verifier's finding (属实 / 不属实 / 无法核实) with notes; it counts in
    the rule's precision. One finding per alert."""
    return await commands.run(
        VERIFY_ALERT,
        alert_id,
        body,
        verifier,
        if_match=if_match,
        idempotency_key=idempotency_key,
    )
