"""Reports: monthly statistics (JSON, CSV, printable HTML), 廉情通报 per leader, typical cases."""

from __future__ import annotations

import csv
import html
import io
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from libs.kit.approvals.proposals import STATUS_LABELS as PROPOSAL_STATUS
from libs.kit.commands import Commands, IdempotencyKey
from libs.kit.fields import DATE_ORDER
from libs.kit.openapi import refusals
from libs.kit.pagination import Page
from libs.kit.problems import dates_out_of_order
from libs.kit.service import ReadConnection
from services.accountability import queries
from services.accountability.api.deps import AccountabilityDeps, Officer, Reader
from services.accountability.domain.analysis import MONTH_PATTERN
from services.accountability.queries import Days
from services.accountability.service.reports import (
    PUBLISH_TYPICAL_CASE,
    TYPICAL_CASE_APPROVALS,
    TypicalCaseIn,
    TypicalCaseOut,
    leader_briefing,
    monthly_statistics,
)

router = APIRouter(prefix="/v1", tags=["reports"])


TOTAL_LABELS = {
    "decided": "作出处理决定",
    "new": "新立案",
    "closed": "办结",
    "overdue": "超期事项",
    "inquiries_opened": "启动一案双查",
    "first_form_on_clues": "线索处置中运用第一种形态",
}

CSV_HEADER = ["月份", "统计项", "代码", "名称", "数量"]
"""The monthly CSV's columns as a clerk reads them (代码 keeps the machine code)."""


def _csv(stats: dict[str, Any]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(CSV_HEADER)
    month = stats["month"]
    for key, label in TOTAL_LABELS.items():
        w.writerow([month, "总体情况", key, label, stats[key]])
    for r in stats["by_category"]:
        w.writerow([month, "按问题类别", r["code"], r["label"], r["count"]])
    for r in stats["by_rank"]:
        w.writerow([month, "按职级", r["rank"], r["rank"], r["count"]])
    for r in stats["by_form"]:
        w.writerow([month, "按四种形态", r["form"], r["label"], r["count"]])
    for r in stats["by_unit"]:
        w.writerow([month, "按单位", r["unit"], r["unit"], r["count"]])
    for r in stats["overdue_by_kind"]:
        w.writerow([month, "超期事项", r["item_kind"], r["label"], r["count"]])
    return out.getvalue()


def _table(title: str, head: list[str], rows: list[list[Any]]) -> str:
    cells = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    return f"<h2>{html.escape(title)}</h2><table><tr>{header}</tr>{cells or '<tr><td>—</td></tr>'}</table>"


PRINT_CSS = """<style>
body{font-family:"SimSun","Songti SC",serif;margin:2cm;color:#000}
h1{text-align:center;font-size:20pt} h2{font-size:14pt;margin-top:1.2em}
table{border-collapse:collapse;width:100%} td,th{border:1px solid #000;padding:4px 8px}
@media print{@page{size:A4;margin:2cm} body{margin:0}}
</style>"""


def _html(stats: dict[str, Any]) -> str:
    totals = [[label, stats[key]] for key, label in TOTAL_LABELS.items()]
    parts = [
        f"<!doctype html><html lang='zh'><head><meta charset='utf-8'>"
        f"<title>{stats['month']} 月度统计</title>{PRINT_CSS}</head><body>",
        f"<h1>{html.escape(stats['month'])} 作风问题案件月度统计</h1>",
        _table("总体情况", ["项目", "数量"], totals),
        _table(
            "按问题类别", ["类别", "数量"], [[r["label"], r["count"]] for r in stats["by_category"]]
        ),
        _table("按职级", ["职级", "数量"], [[r["rank"], r["count"]] for r in stats["by_rank"]]),
        _table(
            "按四种形态",
            ["形态", "数量"],
            [[r["label"], r["count"]] for r in stats["by_form"]],
        ),
        _table("按单位", ["单位", "数量"], [[r["unit"], r["count"]] for r in stats["by_unit"]]),
        _table(
            "超期事项",
            ["事项", "数量"],
            [[r["label"], r["count"]] for r in stats["overdue_by_kind"]],
        ),
        "</body></html>",
    ]
    return "".join(parts)


@router.get("/reports/monthly")
async def monthly_report(
    reader: Reader,
    conn: ReadConnection,
    deps: AccountabilityDeps,
    month: Annotated[str, Query(pattern=MONTH_PATTERN, examples=["2026-10"])],
    format: Annotated[str, Query(pattern="^(json|csv|html)$")] = "json",
) -> Response:
    """Monthly statistics for the level above, as JSON, CSV or a printable HTML page."""
    stats = await monthly_statistics(conn, month, deps)
    if format == "csv":
        return Response(
            _csv(stats),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="statistics-{month}.csv"'},
        )
    if format == "html":
        return HTMLResponse(_html(stats))
    return JSONResponse(stats)


@router.get("/reports/briefing", responses=refusals(DATE_ORDER))
async def briefing(
    reader: Reader,
    conn: ReadConnection,
    deps: AccountabilityDeps,
    leader: Annotated[str, Query(min_length=1)],
    date_from: Annotated[date, Query(alias="from")],
    date_to: Annotated[date, Query(alias="to")],
    format: Annotated[str, Query(pattern="^(json|html)$")] = "json",
) -> Response:
    """廉情通报: what happened in the units and departments a leader was in charge of
    (JSON, or a printable HTML page with ``format=html``)."""
    if date_to < date_from:
        raise dates_out_of_order("to", "截止日期不得早于起始日期")
    doc = await leader_briefing(conn, leader, Days(date_from, date_to), deps)
    if format == "html":
        return HTMLResponse(_briefing_html(doc, deps.rules.rating.level_labels))
    return JSONResponse(doc)


ROLE_LABELS = {
    "first_responsible": "第一责任人",
    "discipline_head": "纪检监察组组长",
    "department_leader": "分管领导（一岗双责）",
}


def _briefing_html(doc: dict[str, Any], level_labels: dict[str, str]) -> str:
    parts = [
        f"<!doctype html><html lang='zh'><head><meta charset='utf-8'>"
        f"<title>廉情通报 {html.escape(doc['leader'])}</title>{PRINT_CSS}</head><body>",
        f"<h1>廉情通报</h1><p>致：{html.escape(doc['leader'])}同志　期间：{doc['from']} 至 {doc['to']}</p>",
    ]
    for scope in doc["scopes"]:
        where = scope["unit"] + (f" {scope['department']}" if scope["department"] else "")
        rating = doc["ratings"].get(scope["unit"])
        title = f"{where}（{ROLE_LABELS.get(scope['role'], scope['role'])}）"
        if rating:
            title += f" 评级：{level_labels.get(rating['level'], rating['level'])}"
        parts.append(
            _table(
                title,
                ["案件编号", "对象", "问题类别", "形态", "违纪日期"],
                [
                    [
                        c["case_number"],
                        c["subject_name"],
                        "、".join(c["category_labels"]),
                        f"第{c['form']}种形态" if c["form"] else "",
                        c["misconduct_date"],
                    ]
                    for c in scope["cases"]
                ],
            )
        )
        if rating:
            parts.append(f"<p>{html.escape(rating['explanation'])}</p>")
    if not doc["scopes"]:
        parts.append("<p>期间内未分管任何单位或部门。</p>")
    parts.append("</body></html>")
    return "".join(parts)


@router.post(
    "/typical-cases",
    status_code=201,
    response_model=TypicalCaseOut,
    responses=refusals((422, "case-not-decided", "该案件尚无处分决定")),
)
async def publish_typical_case(
    body: TypicalCaseIn,
    officer: Officer,
    commands: Commands,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """典型案例通报曝光: publish a decided case by name; each case is published once."""
    return await commands.run(
        PUBLISH_TYPICAL_CASE, body.case_id, body, officer, idempotency_key=idempotency_key
    )


@router.get("/typical-cases", response_model=Page[TypicalCaseOut])
async def typical_cases(
    reader: Reader,
    conn: ReadConnection,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[TypicalCaseOut]:
    """Published typical cases, oldest first."""
    rows, next_cursor = await queries.typical_cases(conn, cursor, limit)
    return Page[TypicalCaseOut](items=[TypicalCaseOut(**r) for r in rows], next_cursor=next_cursor)


ProposalStatus = Annotated[str | None, Query(pattern="^(open|returned|withdrawn|effective)$")]


def proposal_rows(rows: list[Any], path: str) -> JSONResponse:
    """Proposals of a matter not yet created, as the console signs them: each with its
    matter's key, the step it waits on, ``version`` (its If-Match) and ``location``."""
    items = [
        {
            "proposal_id": str(r["proposal_id"]),
            "matter": r["matter"],
            "proposer": r["proposer"],
            "status": r["status"],
            "status_label": PROPOSAL_STATUS[r["status"]],
            "step": r["step"],
            "round": r["round"],
            "role": r["role"],
            "label": r["label"],
            "due_on": r["due_on"].isoformat() if r["due_on"] else None,
            "overdue": r["overdue"],
            "returned_reason": r["returned_reason"],
            "submitted_at": r["submitted_at"].isoformat(),
            "version": r["version"],
            "location": f"{path.format(key=r['matter'])}/proposals/{r['proposal_id']}",
        }
        for r in rows
    ]
    return JSONResponse({"items": items, "next_cursor": None})


@router.get("/typical-case-proposals")
async def typical_case_proposals(
    reader: Reader, conn: ReadConnection, status: ProposalStatus = None
) -> JSONResponse:
    """典型案例通报曝光 under approval (``status=open``) or all: each proposal with the case it
    names (``matter``), the step it waits on and ``version``, the If-Match its sign-off
    sends (read the chain at ``location``)."""
    rows = await queries.proposals_of(conn, PUBLISH_TYPICAL_CASE.name, status)
    return proposal_rows(rows, TYPICAL_CASE_APPROVALS.path)
