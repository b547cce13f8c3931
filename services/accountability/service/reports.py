"""Reports: the month's statistics and a leader's 廉情通报 put together from the read
models, and 典型案例通报曝光 as a command of the pipeline (a decided case published once)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events import measures, pii
from libs.events.contracts import Event
from libs.events.contracts.accountability import TypicalCasePublished
from libs.kit.approvals.gate import Approvable
from libs.kit.commands import Aggregate, Command, Context
from libs.kit.fields import STRIPPED
from libs.kit.problems import Problem, invalid_field
from libs.kit.refusal import Refused
from services.accountability import queries
from services.accountability.domain.analysis import MONTH_PATTERN
from services.accountability.queries import CaseScope, Days, Period
from services.accountability.service import Deps

MONTH = re.compile(MONTH_PATTERN)


def month_period(month: str, tz: ZoneInfo) -> Period:
    """The month ``YYYY-MM`` in the reports' time zone; 422 when it is not one."""
    if not MONTH.match(month):
        raise invalid_field("month", "应为年月，格式 YYYY-MM")
    year, mon = int(month[:4]), int(month[5:])
    start = datetime(year, mon, 1, tzinfo=tz)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=tz)
    return Period(start, end)


async def monthly_statistics(conn: AsyncConnection, month: str, deps: Deps) -> dict[str, Any]:
    """The month's counts: decided cases by category, rank and unit; 形态一 to 形态四 (decided
    cases and 形态一 on clues); new, closed, overdue."""
    rules = deps.rules
    figures = await queries.month_figures(
        conn, month_period(month, ZoneInfo(rules.reports.timezone))
    )
    overdue_labels = rules.rating.overdue_labels
    return {
        "month": month,
        "timezone": rules.reports.timezone,
        "decided": figures["decided"],
        "new": figures["new"],
        "closed": figures["closed"],
        "overdue": sum(r["count"] for r in figures["overdue_by_kind"]),
        "inquiries_opened": figures["inquiries_opened"],
        # by class: a manifestation counts under its class, a former code under today's
        "by_category": [
            {"code": code, "count": count, "label": label}
            for code, label, count in deps.taxonomy.by_class(
                (r["code"], r["count"]) for r in figures["by_category"]
            )
        ],
        "by_rank": figures["by_rank"],
        "first_form_on_clues": figures["first_form_on_clues"],
        "by_form": four_forms(figures),
        "by_unit": figures["by_unit"],
        "overdue_by_kind": [
            {**r, "label": overdue_labels.get(r["item_kind"], r["item_kind"])}
            for r in figures["overdue_by_kind"]
        ],
    }


def four_forms(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """形态一 to 形态四, each with its count: the decided cases of that form plus, for 形态一,
    the clues that ended in a 第一种形态 measure (谈话提醒, 批评教育, 责令检查, 诫勉)."""
    catalogue = measures.load()
    decided = {r["form"]: r["count"] for r in figures["decided_by_form"] if r["form"]}
    on_clues = {1: figures["first_form_on_clues"]}
    return [
        {
            "form": f,
            "label": catalogue.form_label(f),
            "count": decided.get(f, 0) + on_clues.get(f, 0),
            "decided": decided.get(f, 0),
            "on_clues": on_clues.get(f, 0),
        }
        for f in (1, 2, 3, 4)
    ]


def _is_leader(person: dict[str, Any], leader: str, index: str) -> bool:
    """Whether a list's person is ``leader``: by the keyed blind index of name and unit
    (names are sealed); a list from before sealing by its name."""
    if person.get("blind_index"):
        return bool(person["blind_index"] == index)
    return bool(person["name"] == leader)


def _roles_of(leader: str, body: dict[str, Any], vault: pii.Vault) -> list[tuple[str, str | None]]:
    """The places of ``leader`` in a list: first responsible, discipline head, or the
    leader in charge of a department (一岗双责)."""
    index = vault.blind_index("name_unit", leader, body["unit"])
    roles: list[tuple[str, str | None]] = []
    if _is_leader(body["first_responsible"], leader, index):
        roles.append(("first_responsible", None))
    if _is_leader(body["discipline_head"], leader, index):
        roles.append(("discipline_head", None))
    roles += [
        ("department_leader", d["department"])
        for d in body["department_leaders"]
        if _is_leader(d["leader"], leader, index)
    ]
    return roles


def _case_entry(case: dict[str, Any], deps: Deps) -> dict[str, Any]:
    return {
        **{k: v for k, v in case.items() if k not in ("decided_at", "misconduct_date")},
        "category_labels": [deps.taxonomy.label(x) for x in case["categories"]],
        "misconduct_date": case["misconduct_date"].isoformat(),
        "decided_at": case["decided_at"].isoformat() if case["decided_at"] else None,
    }


async def leader_briefing(
    conn: AsyncConnection, leader: str, days: Days, deps: Deps
) -> dict[str, Any]:
    """廉情通报: the cases of every unit and department ``leader`` was in charge of during
    ``days``, by the lists in force then, and those units' ratings."""
    scopes: list[dict[str, Any]] = []
    for lst in await queries.lists_in_force(conn, days):
        start = max(days.first, lst["valid_from"])
        end = min(days.last, lst["valid_to"] or days.last)
        for role, department in _roles_of(leader, lst["body"], deps.vault):
            cases = await queries.cases_in_scope(
                conn, CaseScope(lst["unit"], department, Days(start, end))
            )
            scopes.append(
                {
                    "unit": lst["unit"],
                    "department": department,
                    "role": role,
                    "list_version": lst["version"],
                    "from": start.isoformat(),
                    "to": end.isoformat(),
                    "cases": [_case_entry(c, deps) for c in cases],
                }
            )
    units = sorted({s["unit"] for s in scopes})
    ratings = {
        r["unit"]: {"level": r["level"], "explanation": r["explanation"]}
        for r in await queries.ratings_of(conn, units)
    }
    return {
        "leader": leader,
        "from": days.first.isoformat(),
        "to": days.last.isoformat(),
        "scopes": scopes,
        "ratings": ratings,
    }


class TypicalCaseIn(BaseModel):
    model_config = STRIPPED

    case_id: UUID
    title: Annotated[str, Field(min_length=1, max_length=200)]
    text: Annotated[str, Field(min_length=1, max_length=20000)]


class TypicalCaseOut(BaseModel):
    publication_id: UUID
    case_id: UUID
    title: str
    text: str
    published_by: str
    published_at: datetime


Publication = TypicalCasePublished | None


def _published(state: Publication, event: Event) -> Publication:
    return event if isinstance(event, TypicalCasePublished) else state


TYPICAL_CASE: Aggregate[Publication] = Aggregate(
    noun="typical case",
    label="典型案例",
    stream=lambda case_id: f"typical-{case_id}",
    initial=lambda: None,
    evolve=_published,
    # A case not yet published is still one to publish: the command says why it may not.
    exists=lambda state: True,
)
"""The publication of one case (keyed by the case): at most one event."""


async def _publish(state: Publication, body: TypicalCaseIn, ctx: Context) -> list[Event]:
    if not await queries.case_decided(ctx.conn, body.case_id):
        raise Problem(
            422,
            "case-not-decided",
            "只有已作出决定的案件才能通报曝光",
            f"尚未收到案件 {body.case_id} 的处分决定。",
            errors=[{"field": "case_id", "reason": "尚无处分决定"}],
        )
    if state is not None:
        raise Refused(
            "already-published",
            "典型案例只通报曝光一次，通报记录永久保留。",
            kind="conflict",
            title="该案件已通报曝光",
        )
    return [
        TypicalCasePublished(
            publication_id=uuid4(),
            case_id=body.case_id,
            title=body.title,
            text=body.text,
            published_by=ctx.actor,
            published_at=ctx.now,
        )
    ]


PUBLISH_TYPICAL_CASE: Command[Publication] = Command(
    name="publish_typical_case",
    aggregate=TYPICAL_CASE,
    decide=_publish,
    render=lambda state, ctx: state.model_dump(mode="json") if state else {},
    status_code=201,
    body_model=TypicalCaseIn,
    label="典型案例通报曝光",
)
"""Publish a decided case by name; each case is published once, after its chain in
``data/approvals.json`` (点名道姓通报曝光 is the commission's decision, not the office's)."""

TYPICAL_CASE_APPROVALS = Approvable(
    aggregate=TYPICAL_CASE,
    commands={PUBLISH_TYPICAL_CASE.name: PUBLISH_TYPICAL_CASE},
    facts=lambda state, body: {},
    path="/v1/typical-cases/{key}",
)
"""A publication's proposals are read and signed under the case it names."""
