"""Reports: monthly statistics (JSON, CSV, printable HTML), 廉情通报 per leader, typical cases."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.taxonomy import load as load_taxonomy
from libs.kit.commands import Commands, IdempotencyKey
from libs.kit.pagination import Keyset, Page, fetch_page
from libs.kit.problems import Problem
from libs.kit.service import Store
from services.accountability.api.deps import Officer, Reader
from services.accountability.domain.rules import load_rules
from services.accountability.service.reports import (
    PUBLISH_TYPICAL_CASE,
    TypicalCaseIn,
    TypicalCaseOut,
)

router = APIRouter(prefix="/v1", tags=["reports"])

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _month_bounds(month: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    if not MONTH.match(month):
        raise Problem(
            422,
            "validation-error",
            "The request is not valid",
            f"month {month!r} is not YYYY-MM.",
            errors=[{"field": "month", "reason": "expected YYYY-MM"}],
        )
    year, mon = int(month[:4]), int(month[5:])
    start = datetime(year, mon, 1, tzinfo=tz)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=tz)
    return start, end


async def _rows(conn: AsyncConnection, sql: str, **params: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in (await conn.execute(text(sql), params)).mappings().all()]


async def monthly_statistics(conn: AsyncConnection, month: str) -> dict[str, Any]:
    """The month's counts: decided cases by category, rank, form and unit; new, closed, overdue."""
    rules = load_rules()
    tz = ZoneInfo(rules.reports.timezone)
    start, end = _month_bounds(month, tz)
    p = {"s": start, "e": end}
    decided = "FROM case_facts WHERE decided_at >= :s AND decided_at < :e"
    label = load_taxonomy().label

    async def scalar(sql: str) -> int:
        return int((await conn.execute(text(sql), p)).scalar_one())

    by_category = await _rows(
        conn,
        f"SELECT c AS code, count(*) AS count FROM (SELECT unnest(categories) AS c {decided}) x"
        " GROUP BY c ORDER BY count(*) DESC, c",
        **p,
    )
    overdue_by_kind = await _rows(
        conn,
        "SELECT item_kind, count(*) AS count FROM overdue_facts"
        " WHERE noticed_at >= :s AND noticed_at < :e GROUP BY item_kind ORDER BY item_kind",
        **p,
    )
    overdue_labels = rules.rating.overdue_labels
    return {
        "month": month,
        "timezone": rules.reports.timezone,
        "decided": await scalar(f"SELECT count(*) {decided}"),
        "new": await scalar(
            "SELECT count(*) FROM case_facts WHERE filed_at >= :s AND filed_at < :e"
        ),
        "closed": await scalar(
            "SELECT count(*) FROM case_facts WHERE closed_at >= :s AND closed_at < :e"
        ),
        "overdue": sum(r["count"] for r in overdue_by_kind),
        "inquiries_opened": await scalar(
            "SELECT count(*) FROM inquiries WHERE opened_at >= :s AND opened_at < :e"
        ),
        "by_category": [{**r, "label": label(r["code"])} for r in by_category],
        "by_rank": await _rows(
            conn,
            f"SELECT coalesce(rank, '未注明') AS rank, count(*) AS count {decided}"
            " GROUP BY 1 ORDER BY count(*) DESC, 1",
            **p,
        ),
        "by_form": await _rows(
            conn,
            f"SELECT form, count(*) AS count {decided} GROUP BY form ORDER BY form",
            **p,
        ),
        "by_unit": await _rows(
            conn,
            f"SELECT unit, count(*) AS count {decided} GROUP BY unit ORDER BY count(*) DESC, unit",
            **p,
        ),
        "overdue_by_kind": [
            {**r, "label": overdue_labels.get(r["item_kind"], r["item_kind"])}
            for r in overdue_by_kind
        ],
    }


def _csv(stats: dict[str, Any]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["month", "section", "key", "label", "count"])
    for key in ("decided", "new", "closed", "overdue", "inquiries_opened"):
        w.writerow([stats["month"], "total", key, "", stats[key]])
    for r in stats["by_category"]:
        w.writerow([stats["month"], "category", r["code"], r["label"], r["count"]])
    for r in stats["by_rank"]:
        w.writerow([stats["month"], "rank", r["rank"], r["rank"], r["count"]])
    for r in stats["by_form"]:
        w.writerow([stats["month"], "form", r["form"], f"第{r['form']}种形态", r["count"]])
    for r in stats["by_unit"]:
        w.writerow([stats["month"], "unit", r["unit"], r["unit"], r["count"]])
    for r in stats["overdue_by_kind"]:
        w.writerow([stats["month"], "overdue", r["item_kind"], r["label"], r["count"]])
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
    totals = [
        ["作出处理决定", stats["decided"]],
        ["新立案", stats["new"]],
        ["办结", stats["closed"]],
        ["超期事项", stats["overdue"]],
        ["启动一案双查", stats["inquiries_opened"]],
    ]
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
            [[f"第{r['form']}种形态", r["count"]] for r in stats["by_form"]],
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
    store: Store,
    month: str,
    format: Annotated[str, Query(pattern="^(json|csv|html)$")] = "json",
) -> Response:
    """Monthly statistics for the level above, as JSON, CSV or a printable HTML page."""
    async with store.engine.connect() as conn:
        stats = await monthly_statistics(conn, month)
    if format == "csv":
        return Response(
            _csv(stats),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="statistics-{month}.csv"'},
        )
    if format == "html":
        return HTMLResponse(_html(stats))
    return JSONResponse(stats)


@router.get("/reports/briefing")
async def briefing(
    reader: Reader,
    store: Store,
    leader: Annotated[str, Query(min_length=1)],
    date_from: Annotated[date, Query(alias="from")],
    date_to: Annotated[date, Query(alias="to")],
    format: Annotated[str, Query(pattern="^(json|html)$")] = "json",
) -> Response:
    """廉情通报: what happened in the units and departments a leader was in charge of
    (JSON, or a printable HTML page with ``format=html``)."""
    if date_to < date_from:
        raise Problem(
            422,
            "validation-error",
            "The request is not valid",
            "to is before from.",
            errors=[{"field": "to", "reason": "before from"}],
        )
    label = load_taxonomy().label
    scopes: list[dict[str, Any]] = []
    async with store.engine.connect() as conn:
        lists = await _rows(
            conn,
            """SELECT unit, version, valid_from, valid_to, body FROM responsibility_lists
               WHERE valid_from <= :t AND (valid_to IS NULL OR valid_to >= :f)
               ORDER BY unit, version""",
            f=date_from,
            t=date_to,
        )
        for lst in lists:
            body = lst["body"]
            roles: list[tuple[str, str | None]] = []
            if body["first_responsible"]["name"] == leader:
                roles.append(("first_responsible", None))
            if body["discipline_head"]["name"] == leader:
                roles.append(("discipline_head", None))
            roles += [
                ("department_leader", d["department"])
                for d in body["department_leaders"]
                if d["leader"]["name"] == leader
            ]
            start = max(date_from, lst["valid_from"])
            end = min(date_to, lst["valid_to"] or date_to)
            for role, department in roles:
                cases = await _rows(
                    conn,
                    """SELECT case_number, subject_name, department, categories, form,
                              misconduct_date, decided_at
                       FROM case_facts WHERE unit = :u AND misconduct_date BETWEEN :s AND :e
                         AND (CAST(:d AS text) IS NULL OR department = :d)
                       ORDER BY misconduct_date, case_number""",
                    u=lst["unit"],
                    s=start,
                    e=end,
                    d=department,
                )
                scopes.append(
                    {
                        "unit": lst["unit"],
                        "department": department,
                        "role": role,
                        "list_version": lst["version"],
                        "from": start.isoformat(),
                        "to": end.isoformat(),
                        "cases": [
                            {
                                **{
                                    k: v
                                    for k, v in c.items()
                                    if k not in ("decided_at", "misconduct_date")
                                },
                                "category_labels": [label(x) for x in c["categories"]],
                                "misconduct_date": c["misconduct_date"].isoformat(),
                                "decided_at": c["decided_at"].isoformat()
                                if c["decided_at"]
                                else None,
                            }
                            for c in cases
                        ],
                    }
                )
        units = sorted({s["unit"] for s in scopes})
        ratings = {
            r["unit"]: {"level": r["level"], "explanation": r["explanation"]}
            for r in await _rows(conn, "SELECT * FROM unit_ratings WHERE unit = ANY(:u)", u=units)
        }
    doc = {
        "leader": leader,
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "scopes": scopes,
        "ratings": ratings,
    }
    return HTMLResponse(_briefing_html(doc)) if format == "html" else JSONResponse(doc)


ROLE_LABELS = {
    "first_responsible": "第一责任人",
    "discipline_head": "纪检监察组组长",
    "department_leader": "分管领导（一岗双责）",
}


def _briefing_html(doc: dict[str, Any]) -> str:
    level_labels = load_rules().rating.level_labels
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


@router.post("/typical-cases", status_code=201, response_model=TypicalCaseOut)
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


BY_PUBLICATION = Keyset(
    ("published_at", "publication_id"), ("timestamptz", "uuid"), (datetime.fromisoformat, UUID)
)


@router.get("/typical-cases", response_model=Page[TypicalCaseOut])
async def typical_cases(
    reader: Reader,
    store: Store,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[TypicalCaseOut]:
    """Published typical cases, oldest first."""
    async with store.engine.connect() as conn:
        rows, next_cursor = await fetch_page(
            conn,
            "SELECT * FROM typical_cases",
            keyset=BY_PUBLICATION,
            where={},
            cursor=cursor,
            limit=limit,
        )
    return Page[TypicalCaseOut](items=[TypicalCaseOut(**r) for r in rows], next_cursor=next_cursor)
