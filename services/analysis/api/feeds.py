"""信息汇集: partner systems send feed batches (NDJSON or CSV, gzip accepted, streamed)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from libs.kit.auth import CurrentPrincipal
from libs.kit.logs import correlation_id
from libs.kit.problems import Problem
from libs.kit.service import ServiceRuntime
from services.analysis.api.deps import Operator, RuleEngine
from services.analysis.feeds.ingest import (
    BatchKindMismatch,
    ingest,
    previous_report,
    save_alert_count,
)
from services.analysis.feeds.spec import FEEDS, FeedSpec

router = APIRouter(prefix="/v1/feeds", tags=["feeds"])
log = logging.getLogger(__name__)

BATCH_ID_MAX = 200


def _spec(kind: str) -> FeedSpec:
    spec = FEEDS.get(kind)
    if spec is None:
        raise Problem(
            404,
            "unknown-feed",
            "No such feed",
            f"{kind!r} is not a feed kind; known: {', '.join(FEEDS)}.",
        )
    return spec


def _format(request: Request) -> str:
    ctype = request.headers.get("content-type", "application/x-ndjson").split(";")[0].strip()
    if ctype in ("text/csv", "application/csv"):
        return "csv"
    if ctype in (
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/json-seq",
        "application/json",
    ):
        return "ndjson"
    raise Problem(
        415,
        "unsupported-media-type",
        "Send NDJSON or CSV",
        f"Content-Type {ctype!r}: use application/x-ndjson or text/csv (gzip as Content-Encoding).",
    )


@router.get("")
async def list_feeds(operator: Operator) -> list[dict[str, Any]]:
    """Feed kinds, their fields and the scope a partner client needs for each."""
    return [
        {
            "kind": s.kind,
            "label": s.label,
            "scope": s.scope,
            "key": list(s.key),
            "fields": [
                {"name": f.name, "type": f.type, "required": f.required, "check": f.check}
                for f in s.fields
            ],
        }
        for s in FEEDS.values()
    ]


@router.post("/{kind}/batches/{batch_id}")
async def post_batch(
    kind: str,
    batch_id: str,
    request: Request,
    principal: CurrentPrincipal,
    rt: ServiceRuntime,
    rules: RuleEngine,
    run_rules: bool = True,
) -> JSONResponse:
    """Take in one batch of a feed. The batch id makes it idempotent: sending it again
    returns the first report and changes nothing. Bad rows are listed by row number,
    field and reason; good rows are kept. Rules run over the batch's period afterwards."""
    spec = _spec(kind)
    if spec.scope not in principal.scopes:
        raise Problem(
            403,
            "insufficient-scope",
            "Not allowed",
            f"This needs the scope {spec.scope}.",
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope" scope="{spec.scope}"'},
        )
    if not 0 < len(batch_id) <= BATCH_ID_MAX:
        raise Problem(
            422,
            "validation-error",
            "Invalid batch id",
            errors=[{"field": "batch_id", "reason": f"1 to {BATCH_ID_MAX} characters"}],
        )
    fmt = _format(request)
    encoding = request.headers.get("content-encoding", "").lower()
    gzipped = True if encoding == "gzip" else None
    try:
        report = await ingest(
            rt.engine,
            rt.store,
            spec,
            batch_id,
            request.stream(),
            fmt=fmt,
            gzipped=gzipped,
            partner=principal.actor,
            now=rules.clock(),
            correlation_id=correlation_id.get() or None,
        )
    except BatchKindMismatch as exc:
        raise Problem(
            409,
            "batch-id-reused",
            "Batch id already used",
            f"Batch {batch_id!r} was a {exc.kind} batch; use a new batch id.",
        ) from exc
    if not report.replayed and run_rules and report.accepted and spec.period:
        try:
            outcome = await rules.run_for_feed(spec.kind, report.period_from, report.period_to)
        except Exception as exc:
            # The rows are in; a failed rule run is reported and can be re-run.
            log.exception("rules after batch %s failed", batch_id)
            report.rules_error = f"{type(exc).__name__}; re-run with POST /v1/rules/run"
        else:
            report.alerts_raised = outcome.raised
        await save_alert_count(rt.engine, report)
    return JSONResponse(
        report.as_dict(),
        status_code=200 if report.replayed else 201,
        headers={"Idempotent-Replayed": "true"} if report.replayed else None,
    )


@router.get("/{kind}/batches/{batch_id}")
async def get_batch(
    kind: str, batch_id: str, principal: CurrentPrincipal, rt: ServiceRuntime
) -> dict[str, Any]:
    """The report of a batch taken in before."""
    _spec(kind)
    async with rt.engine.connect() as conn:
        done = await previous_report(conn, batch_id)
    if done is None or done["kind"] != kind or done["report"] is None:
        raise Problem(404, "unknown-batch", "No such batch", f"No {kind} batch {batch_id!r}.")
    report: dict[str, Any] = done["report"]
    return report
