"""定期分析报告 over HTTP: issue one by hand, list them, read one (JSON, printable HTML with
the 八项规定精神 table, CSV of the table) and download its document."""

from __future__ import annotations

import csv
import html
import io
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from libs.kit import documents
from libs.kit.commands import Commands, IdempotencyKey
from libs.kit.openapi import refusals
from libs.kit.problems import Problem
from libs.kit.service import ReadConnection, Store
from services.accountability import queries
from services.accountability.api.deps import AccountabilityDeps, Officer, Reader
from services.accountability.api.reports import PRINT_CSS, _table
from services.accountability.domain.analysis import REPORT_PERIOD_PATTERN
from services.accountability.service.analysis import (
    ISSUE_ANALYSIS_REPORT,
    REPORT,
    AnalysisReportIn,
    period_of,
    report_body,
)
from services.accountability.service.appraisal import PERIOD_NOT_ENDED

ReportPeriodCode = Annotated[str, Path(pattern=REPORT_PERIOD_PATTERN, examples=["2026-Q3"])]

router = APIRouter(prefix="/v1", tags=["analysis reports"])


@router.post("/analysis-reports", status_code=201, responses=refusals(PERIOD_NOT_ENDED))
async def issue_analysis_report(
    body: AnalysisReportIn,
    officer: Officer,
    commands: Commands,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Issue the analysis of an ended month, quarter or half-year now (the schedule issues
    each by itself once it ends); a period has one report (409 the second time)."""
    period_of(body.period)
    return await commands.run(
        ISSUE_ANALYSIS_REPORT, body.period, body, officer, idempotency_key=idempotency_key
    )


@router.get("/analysis-reports")
async def analysis_reports(
    reader: Reader,
    conn: ReadConnection,
    kind: Annotated[str | None, Query(pattern="^(month|quarter|half_year)$")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> JSONResponse:
    """Issued reports, oldest period first; ``kind`` filters 月/季/半年."""
    rows, next_cursor = await queries.analysis_reports(conn, kind, cursor, limit)
    items = [
        {
            **{k: v for k, v in r.items() if k not in ("first_day", "last_day", "issued_at")},
            "first_day": r["first_day"].isoformat(),
            "last_day": r["last_day"].isoformat(),
            "issued_at": r["issued_at"].isoformat(),
            "document_id": str(r["document_id"]) if r["document_id"] else None,
        }
        for r in rows
    ]
    return JSONResponse({"items": items, "next_cursor": next_cursor})


async def _report(store: Any, period: str) -> Any:
    period_of(period)
    records = await store.read_stream(REPORT.stream(period))
    state = REPORT.replay([r.event for r in records])
    if state.issued is None:
        raise REPORT.missing_problem(period)
    return state


TABLE_CSV_HEADER = ["问题类型", "查处问题数", "处理人数"]


def table_rows(table: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """The 八项规定精神 table as printed: a header and one row per problem type."""
    ranks = [r["label"] for r in table["ranks"]]
    head = [*TABLE_CSV_HEADER, *(f"其中{label}" for label in ranks), "党纪政务处分人数"]
    rows = [
        [
            ("　" if r["level"] else "") + r["label"],
            r["problems"],
            r["persons"],
            *(r["by_rank"][c["code"]] for c in table["ranks"]),
            r["sanctioned"],
        ]
        for r in table["rows"]
    ]
    return head, rows


def _html(body: dict[str, Any]) -> str:
    head, rows = table_rows(body["figures"]["eight_rules_table"])
    number = body["document"]["number"] if body.get("document") else ""
    parts = [
        f"<!doctype html><html lang='zh'><head><meta charset='utf-8'>"
        f"<title>{html.escape(body['label'])}分析报告</title>{PRINT_CSS}</head><body>",
        f"<h1>关于{html.escape(body['label'])}作风建设情况的分析报告</h1>",
        f"<p style='text-align:center'>{html.escape(number)}</p>",
        *(f"<p>{html.escape(p)}</p>" for p in body["summary"]),
        _table(body["figures"]["eight_rules_table"]["title"], head, rows),
        _table(
            "按单位",
            ["单位", "处理决定数"],
            [[r["unit"], r["count"]] for r in body["figures"]["by_unit"]],
        ),
        "</body></html>",
    ]
    return "".join(parts)


@router.get("/analysis-reports/{period}")
async def analysis_report(
    period: ReportPeriodCode,
    reader: Reader,
    store: Store,
    format: Annotated[str, Query(pattern="^(json|html|csv)$")] = "json",
) -> Response:
    """One period's report: JSON, a printable page (``html``) or the 八项规定精神 table as CSV."""
    body = report_body(await _report(store, period))
    if format == "html":
        return HTMLResponse(_html(body))
    if format == "csv":
        head, rows = table_rows(body["figures"]["eight_rules_table"])
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(head)
        writer.writerows(
            [[str(c).strip("　") if i == 0 else c for i, c in enumerate(r)] for r in rows]
        )
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="eight-rules-{period}.csv"'},
        )
    return JSONResponse(body)


@router.get("/analysis-reports/{period}/document")
async def analysis_report_document(
    period: ReportPeriodCode, reader: Reader, store: Store, deps: AccountabilityDeps
) -> Response:
    """The report's document (.docx, GB/T 9704 layout) as it was issued."""
    state = await _report(store, period)
    doc = state.document
    if doc is None or deps.documents is None:
        raise Problem(404, "not-found", "文书不存在", f"{period} 的分析报告没有生成文书。")
    content = await documents.stored_content(deps.documents.directory, doc.sha256, None)
    if content is None:
        raise Problem(500, "document-unavailable", "文书文件缺失", f"{doc.number}的文件缺失。")
    return documents.download(
        content, number=doc.number, title=doc.title, sha256=doc.sha256, media_type=doc.media_type
    )
