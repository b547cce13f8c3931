"""信息汇集: partner systems send feed batches (NDJSON or CSV, gzip accepted, streamed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from libs.kit.auth import CurrentPrincipal
from libs.kit.problems import Problem
from libs.kit.service import ReadConnection, Store
from services.analysis import queries
from services.analysis.api.deps import AnalysisDeps, Operator
from services.analysis.feeds.spec import FEEDS, FeedSpec
from services.analysis.service import take_batch

router = APIRouter(prefix="/v1/feeds", tags=["feeds"])

BATCH_ID_MAX = 200


def _spec(kind: str) -> FeedSpec:
    spec = FEEDS.get(kind)
    if spec is None:
        raise Problem(
            404,
            "unknown-feed",
            "数据类型不存在",
            f"没有数据类型 {kind}，可选：{'、'.join(f'{k}（{s.label}）' for k, s in FEEDS.items())}。",
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
        "请以 NDJSON 或 CSV 格式报送",
        f"不支持 Content-Type {ctype}：请使用 application/x-ndjson 或 text/csv"
        "（压缩时以 Content-Encoding: gzip 标明）。",
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
    store: Store,
    deps: AnalysisDeps,
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
            "无权报送",
            f"访问凭证缺少权限范围：{spec.scope}。",
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope" scope="{spec.scope}"'},
        )
    if not 0 < len(batch_id) <= BATCH_ID_MAX:
        raise Problem(
            422,
            "validation-error",
            "批次号无效",
            f"批次号须为 1 至 {BATCH_ID_MAX} 个字符。",
            errors=[{"field": "batch_id", "reason": f"须为 1 至 {BATCH_ID_MAX} 个字符"}],
        )
    report = await take_batch(
        deps,
        store,
        spec,
        batch_id,
        request.stream(),
        fmt=_format(request),
        gzipped=True if request.headers.get("content-encoding", "").lower() == "gzip" else None,
        partner=principal.actor,
        run_rules=run_rules,
    )
    return JSONResponse(
        report.as_dict(),
        status_code=200 if report.replayed else 201,
        headers={"Idempotent-Replayed": "true"} if report.replayed else None,
    )


@router.get("/{kind}/batches/{batch_id}")
async def get_batch(
    kind: str, batch_id: str, principal: CurrentPrincipal, conn: ReadConnection
) -> dict[str, Any]:
    """The report of a batch taken in before."""
    _spec(kind)
    done = await queries.batch(conn, batch_id)
    if done is None or done["kind"] != kind or done["report"] is None:
        raise Problem(404, "unknown-batch", "批次不存在", f"没有 {kind} 数据批次 {batch_id}。")
    report: dict[str, Any] = done["report"]
    return report
