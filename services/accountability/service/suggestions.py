"""纪检监察建议书 as commands of the pipeline: issued (after its sign-off chain in
``data/approvals.json``) with its numbered document, the unit's reply opening the unit's
rectification list, the late reply noticed by the scheduler."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from pydantic import BaseModel, Field

from libs.events.contracts import Event
from libs.events.contracts.documents import DocumentIssued
from libs.events.contracts.rectification import RectificationSource, SuggestionReplyOverdue
from libs.events.store import EventStore
from libs.kit import documents
from libs.kit.approvals.gate import Approvable
from libs.kit.auth import Principal
from libs.kit.commands import Aggregate, Command, Context
from libs.kit.fields import STRIPPED
from libs.kit.problems import Problem
from services.accountability import queries
from services.accountability import queries_rectification as rq
from services.accountability.domain import rectification as rect
from services.accountability.domain import suggestions as domain
from services.accountability.domain.inquiry import inquiry_stream
from services.accountability.domain.rectification import RectificationList, list_stream
from services.accountability.domain.suggestions import Suggestion, evolve, suggestion_stream
from services.accountability.service import overdue
from services.accountability.service.rectification import (
    ItemIn,
    OpenIn,
    SourceIn,
    local_today,
    open_list_events,
)

Text = Annotated[str, Field(min_length=1, max_length=2000)]


class _In(BaseModel):
    model_config = STRIPPED


class BasisIn(_In):
    kind: Literal["case", "inquiry"] = Field(
        description="case（已作出决定的案件）或 inquiry（问责调查）"
    )
    reference: UUID = Field(description="案件或问责调查的 id")


class IssueIn(_In):
    """纪检监察建议书: the unit, what it rests on, the problems and the recommendations."""

    unit: Annotated[str, Field(min_length=1, max_length=100)]
    basis: BasisIn
    problems: list[Text] = Field(min_length=1, max_length=20)
    recommendations: list[Text] = Field(min_length=1, max_length=20)


class ReplyIn(_In):
    """The unit's reply: what it did and will do, one item per problem it rectifies."""

    summary: Text
    items: list[ItemIn] = Field(min_length=1, max_length=50)


SUGGESTION: Aggregate[Suggestion] = Aggregate(
    noun="suggestion",
    label="纪检监察建议书",
    stream=suggestion_stream,
    initial=Suggestion,
    evolve=evolve,
    # Not issued yet is still one to issue (after its chain): the commands say why not.
    exists=lambda state: True,
)


def new_suggestion_id(principal: Principal, idempotency_key: str | None) -> UUID:
    """A retry with the same Idempotency-Key names the same 建议书."""
    if idempotency_key is None:
        return uuid4()
    return uuid5(NAMESPACE_URL, f"zhengfeng:suggestion:{principal.actor}:{idempotency_key}")


def reply_list_id(suggestion_id: UUID) -> UUID:
    """The rectification list a 建议书's reply opens (one per 建议书)."""
    return uuid5(NAMESPACE_URL, f"zhengfeng:suggestion:{suggestion_id}:rectification")


def view(state: Suggestion, version: int, ctx_rules: rect.RectificationRules) -> dict[str, Any]:
    """The 建议书 as a clerk reads it: basis, problems, recommendations, document, reply."""
    i = state.issued
    if i is None:
        return {"version": version, "status": None}
    d, r = state.document, state.replied
    return {
        "suggestion_id": str(i.suggestion_id),
        "version": version,
        "unit": i.unit,
        "basis": {
            **i.basis.model_dump(mode="json"),
            "kind_label": ctx_rules.suggestion_bases.get(i.basis.kind, i.basis.kind),
        },
        "problems": i.problems,
        "recommendations": i.recommendations,
        "reply_due": i.reply_due.isoformat(),
        "status": state.status,
        "status_label": domain.STATUS_LABELS[state.status],
        "overdue": state.overdue and r is None,
        "number": d.number if d else None,
        "document": (
            {
                "number": d.number,
                "title": d.title,
                "sha256": d.sha256,
                "href": f"/v1/suggestions/{i.suggestion_id}/document",
            }
            if d
            else None
        ),
        "issued_by": i.issued_by,
        "issued_at": i.issued_at.isoformat(),
        "reply": (
            {
                "summary": r.summary,
                "list_id": str(r.list_id),
                "replied_at": r.replied_at.isoformat(),
                "rectification": f"/v1/rectifications/{r.list_id}",
            }
            if r
            else None
        ),
    }


def _render(state: Suggestion, ctx: Context) -> dict[str, Any]:
    if isinstance(ctx.result, DocumentIssued):  # appended by ``after``, after the decision
        state = evolve(state, ctx.result)
    return view(state, ctx.version, ctx.deps.rectification)


def _ctx(ctx: Context) -> rect.Context:
    return rect.Context(ctx.actor, ctx.now, local_today(ctx.now, ctx.deps.rectification))


async def _basis_exists(body: IssueIn, ctx: Context) -> None:
    b = body.basis
    if b.kind == "case":
        found = await queries.case_decided(ctx.conn, b.reference)
    else:
        found = bool(await ctx.store.read_stream(inquiry_stream(b.reference), conn=ctx.conn))
    if not found:
        what = "已作出决定的案件" if b.kind == "case" else "问责调查"
        raise Problem(
            422,
            "unknown-basis",
            "建议书的依据不存在",
            f"没有{what} {b.reference}，建议书须依据已作出决定的案件或问责调查制发。",
            errors=[{"field": "basis.reference", "reason": f"没有该{what}"}],
        )


async def _issue(state: Suggestion, body: IssueIn, ctx: Context) -> list[Event]:
    await _basis_exists(body, ctx)
    command = domain.IssueSuggestion(
        suggestion_id=ctx.key,
        unit=body.unit,
        basis=RectificationSource(kind=body.basis.kind, reference=str(body.basis.reference)),
        problems=tuple(body.problems),
        recommendations=tuple(body.recommendations),
    )
    d = ctx.deps
    return domain.decide(state, command, _ctx(ctx), d.rectification, d.calendar)


_ORDINALS = "一二三四五六七八九十"


def _enumerate(lines: list[str]) -> str:
    return (
        "；".join(
            f"{_ORDINALS[n] if n < 10 else n + 1}是{x.rstrip('。；')}" for n, x in enumerate(lines)
        )
        + "。"
    )


def fields(state: Suggestion, rules: rect.RectificationRules) -> dict[str, str]:
    """What the 建议书's template fills in, from its issue (no person is named)."""
    i = state.issued
    assert i is not None
    basis = rules.suggestion_bases.get(i.basis.kind, i.basis.kind)
    return {
        "unit": i.unit,
        "basis_text": f"查办{basis}" if i.basis.kind == "case" else f"开展{basis}",
        "problems": _enumerate(i.problems),
        "recommendations": _enumerate(i.recommendations),
        "reply_due": documents.date_text(i.reply_due),
    }


async def issue_document(state: Suggestion, events: list[Event], ctx: Context) -> None:
    """``after`` the 建议书 is issued: its numbered document on its stream."""
    docs = ctx.deps.documents
    if docs is None or state.issued is None:
        return
    matter = documents.Matter(state.issued.suggestion_id, ctx.version, ISSUE.name, "accountability")
    issued = await documents.issue(
        ctx.conn, docs.templates, docs.directory, "suggestion", ctx.now,
        fields(state, ctx.deps.rectification), matter, vault=ctx.deps.vault,
    )  # fmt: skip
    recorded = await ctx.store.append(
        suggestion_stream(state.issued.suggestion_id),
        [issued],
        expected_version=ctx.version,
        meta=ctx.meta,
        conn=ctx.conn,
    )
    ctx.version, ctx.result = recorded[-1].version, issued


ISSUE: Command[Suggestion] = Command(
    name="issue_suggestion",
    aggregate=SUGGESTION,
    decide=_issue,
    render=_render,
    status_code=201,
    after=issue_document,
    body_model=IssueIn,
    label="制发纪检监察建议书",
    location=lambda body: f"/v1/suggestions/{body['suggestion_id']}",
)
"""Issue a 建议书; the accountability office proposes it, its chain in ``data/approvals.json``
signs it, and the last sign-off issues it with its numbered document."""


async def _reply(state: Suggestion, body: ReplyIn, ctx: Context) -> list[Event]:
    command = domain.Reply(body.summary, reply_list_id(ctx.key))
    d = ctx.deps
    return domain.decide(state, command, _ctx(ctx), d.rectification, d.calendar)


async def _open_list(state: Suggestion, events: list[Event], ctx: Context) -> None:
    """``after`` the reply: the unit's measures become its rectification list."""
    issued, replied = state.issued, state.replied
    assert issued is not None and replied is not None
    body: ReplyIn = ctx.body
    reference = state.document.number if state.document else str(issued.suggestion_id)
    opening = OpenIn(
        unit=issued.unit,
        title=f"落实纪检监察建议书（{reference}）整改清单",
        source=SourceIn(kind="suggestion", reference=reference, summary=replied.summary),
        items=body.items,
    )
    opened = await open_list_events(RectificationList(), ctx, list_id=replied.list_id, body=opening)
    await ctx.store.append(
        list_stream(replied.list_id), opened, expected_version=0, meta=ctx.meta, conn=ctx.conn
    )


REPLY: Command[Suggestion] = Command(
    name="reply_suggestion",
    aggregate=SUGGESTION,
    decide=_reply,
    render=_render,
    after=_open_list,
    label="建议书回复",
)
"""The unit's reply, recorded once; its items open the unit's rectification list."""

SUGGESTION_APPROVALS = Approvable(
    aggregate=SUGGESTION,
    commands={ISSUE.name: ISSUE},
    facts=lambda state, body: {},
    path="/v1/suggestions/{key}",
)
"""A 建议书's proposals are read and signed under it."""


async def read_suggestion(store: EventStore, suggestion_id: UUID) -> tuple[Suggestion, int]:
    """A 建议书 as it stands and its version; 404 when none was issued."""
    history = await store.read_stream(suggestion_stream(suggestion_id))
    state = SUGGESTION.replay([r.event for r in history])
    if state.issued is None:
        raise SUGGESTION.missing_problem(suggestion_id)
    return state, history[-1].version


# -- late replies -----------------------------------------------------------------------


async def notice_late_replies(store: EventStore, deps: Any, today: date) -> int:
    """Record ``SuggestionReplyOverdue`` once for every 建议书 not replied to in time, and
    note it on the unit (its rating and the monthly report count it); how many."""
    async with store.engine.connect() as conn:
        late = await rq.suggestions_awaiting(conn, today)

    def decide(state: Suggestion, ctx: rect.Context) -> list[Event]:
        return domain.decide(state, domain.NoticeReplyOverdue(), ctx, deps.rectification,
                             deps.calendar)  # fmt: skip

    def counted(n: SuggestionReplyOverdue) -> overdue.Late:
        event_id = uuid5(NAMESPACE_URL, f"zhengfeng:suggestion:{n.suggestion_id}:overdue")
        return overdue.Late(event_id, f"suggestion_reply:{n.suggestion_id}", "suggestion_reply",
                            n.reply_due)  # fmt: skip

    async def notice(suggestion_id: UUID) -> int:
        stream = suggestion_stream(suggestion_id)
        return await overdue.notice_once(store, deps, stream, SUGGESTION, decide, counted, today)

    return await overdue.each(late, notice)
