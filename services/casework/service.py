"""Casework's service layer: the case aggregate and its commands, declared for the pipeline,
and the reads every case view shares."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libs.events import pii
from libs.events.contracts import Event
from libs.events.store import EventStore, Recorded
from libs.kit import documents
from libs.kit.approvals import policy as approvals_policy
from libs.kit.approvals.gate import Approvable, Approvals
from libs.kit.auth import Principal
from libs.kit.commands import Aggregate, Context
from libs.kit.commands import Command as PipelineCommand
from libs.kit.documents import TemplateError
from libs.kit.problems import Problem
from libs.kit.refusal import Refused
from services.casework import queries
from services.casework.documents import Documents, issue, persons_of, rerender
from services.casework.domain import (
    COMMANDS,
    CaseState,
    Command,
    Rules,
    accept_link,
    allowed_commands,
    clue_stream,
    decide,
    evolve,
    replay,
)
from services.casework.domain.decide import command_label
from services.casework.domain.documents import ServeDocument, serve
from services.casework.domain.state import IssuedDocument
from services.casework.personal import seal_body
from services.casework.policy import may_read, refusal
from services.casework.queries import CaseFilter


async def load(
    store: EventStore,
    case_id: UUID,
    *,
    as_of: datetime | None = None,
    conn: AsyncConnection | None = None,
) -> tuple[CaseState, list[Recorded]]:
    """A matter as it stands (or stood at ``as_of``) and its recorded events."""
    records = await store.read_stream(clue_stream(case_id), as_of=as_of, conn=conn)
    return replay(r.event for r in records), records


@dataclass
class Deps:
    """What casework's commands and views need besides the store: the rules, loaded once by
    ``app.create``, and the personal-data vault, opened when the service starts."""

    rules: Rules
    vault: pii.Vault | None = None
    documents: Documents | None = None
    """Templates, issuing rules and where document files go (``None``: issue none)."""

    async def start(self, engine: AsyncEngine) -> None:
        """Open what needs the database: the vault (its tables made if missing)."""
        self.vault = pii.Vault.from_env(engine)
        await self.vault.ensure()


def not_found(case_id: UUID) -> Problem:
    return Problem(404, "not-found", "案件不存在", f"案件登记簿中没有 {case_id}。")


def case_body(state: CaseState) -> dict[str, Any]:
    """A case as the API shows it: its state, labels, open limits and what may come next.

    Reported persons and the subject appear masked (sealed fields and blind indexes left out).
    """
    body = state.model_dump(mode="json")
    body["reported_persons"] = pii.scrubbed(body["reported_persons"])
    body["subject"] = pii.scrubbed(body["subject"])
    body["status_label"] = state.status.label
    body["overdue"] = state.overdue
    body["allowed_commands"] = allowed_commands(state)
    return body


def commands_for(principal: Principal, state: CaseState) -> list[str]:
    """The commands allowed now that this caller may give (roles and assignment): the ones a
    console offers as buttons. One under approval still becomes a proposal."""
    return [name for name in allowed_commands(state) if refusal(principal, name, state) is None]


CASE: Aggregate[CaseState] = Aggregate(
    noun="case",
    label="案件",
    stream=clue_stream,
    initial=CaseState,
    evolve=evolve,
    exists=lambda state: state.case_id is not None,
    facts=lambda state: {"allowed_commands": allowed_commands(state)},
    missing="案件登记簿中没有 {key}。",
)
"""A matter (案件): one stream from the clue's registration to 销号."""


def _authorized(state: CaseState, command: Command, ctx: Context) -> None:
    why = refusal(ctx.principal, command.name, state)
    if why is not None:
        raise Refused("forbidden", why, kind="forbidden", title="无权办理")


def _decide(state: CaseState, command: Command, ctx: Context) -> list[Event]:
    rules: Rules = ctx.deps.rules
    return decide(state, command, ctx.now, rules, actor=ctx.actor)


async def _link_back(state: CaseState, events: list[Event], ctx: Context) -> None:
    """关联: the other case records the link too, in the same transaction."""
    command = ctx.body
    other = getattr(command, "other_case_id", None)
    if other is None:
        return
    records = await ctx.store.read_stream(clue_stream(other), conn=ctx.conn)
    other_state = replay(r.event for r in records)
    if other_state.case_id is None:
        raise Problem(
            422,
            "invalid-command",
            "要关联的案件不存在",
            f"案件登记簿中没有 {other}。",
            errors=[{"field": "other_case_id", "reason": "没有这个案件"}],
        )
    relation = str(getattr(command, "relation", ""))
    linked = accept_link(other_state, ctx.key, relation, command.reason, ctx.now)
    await ctx.store.append(
        clue_stream(other),
        linked,
        expected_version=other_state.version,
        meta=ctx.meta,
        conn=ctx.conn,
    )


async def _after(state: CaseState, events: list[Event], ctx: Context) -> None:
    """What a decision writes besides its events: the link's other side, its documents."""
    await _link_back(state, events, ctx)
    await issue(state, events, ctx)


def _answer(state: CaseState, ctx: Context) -> dict[str, Any]:
    """The case as the command left it (with the documents ``after`` issued, if any)."""
    return case_body(ctx.result if isinstance(ctx.result, CaseState) else state)


CASE_COMMANDS: dict[str, PipelineCommand[CaseState]] = {
    name: PipelineCommand(
        name=name,
        aggregate=CASE,
        decide=_decide,
        render=_answer,
        if_match="required",
        guards=(_authorized,),
        after=_after,
        body_model=COMMANDS[name],
        seal=seal_body,
        label=command_label(name),
    )
    for name in COMMANDS
}
"""Every case command: If-Match required, the caller's role and assignment checked first;
those with a chain in ``data/approvals.json`` take effect when the chain approves them."""


def approval_facts(state: CaseState, body: Any) -> dict[str, Any]:
    """What the approval policy's key test may name about a matter (and the command)."""
    persons = state.reported_persons
    return {
        "top_leader": any(p.top_leader for p in persons),
        "key_minority": any(p.key_minority for p in persons),
        "leader_owned": state.leader is not None,
        "supervised": state.supervision is not None,
        "repeat_count": state.repeat_count,
        "major": state.major or bool(getattr(body, "major", False)),
    }


CASE_APPROVALS = Approvable(
    aggregate=CASE,
    commands=CASE_COMMANDS,
    facts=approval_facts,
    path="/v1/cases/{key}",
    escalate_to=lambda state: state.supervisor or state.leader,
    may_read=may_read,
)
"""A matter's decisions go through the chains of ``data/approvals.json``."""

APPROVALS_FILE = Path(__file__).parent / "data" / "approvals.json"


def load_approvals(rules: Rules, path: str | None = None) -> Approvals:
    """Casework's approvals: its policy file (the shipped one unless another is named) on
    the rules' working-day calendar."""
    return Approvals(
        approvals_policy.load(path or APPROVALS_FILE), rules.calendar, [CASE_APPROVALS]
    )


def _serve(state: CaseState, command: ServeDocument, ctx: Context) -> list[Event]:
    docs: Documents | None = ctx.deps.documents
    clocks = docs.issuing.starts_clock if docs is not None else {}
    return serve(state, command, ctx.now, clocks, ctx.actor, ctx.deps.rules)


SERVE: PipelineCommand[CaseState] = PipelineCommand(
    name="serve",
    aggregate=CASE,
    decide=_serve,
    render=_answer,
    if_match="optional",
    guards=(_authorized,),
    body_model=ServeDocument,
    label="送达",
)
"""送达: a document of the case reached its addressee (date and manner)."""


async def read_case(
    store: EventStore, case_id: UUID, principal: Principal, view: str, as_of: datetime | None
) -> tuple[CaseState, list[Recorded]]:
    """A case (as of a past time, if asked) for a reader allowed to see it; the read is
    recorded in the same transaction."""
    async with store.engine.begin() as conn:
        state, records = await load(store, case_id, as_of=as_of, conn=conn)
        if state.case_id is None:
            if as_of is not None and await store.stream_version(clue_stream(case_id), conn):
                raise Problem(
                    404,
                    "not-found",
                    "该时点尚无此案件",
                    f"案件 {case_id} 在 {as_of.isoformat()} 时尚未登记。",
                )
            raise not_found(case_id)
        current, _ = (state, records) if as_of is None else await load(store, case_id, conn=conn)
        if not may_read(principal, current):
            raise Problem(403, "forbidden", "无权查看", "此案件不在您的查看范围内。")
        await record_read(conn, case_id, principal, view, as_of)
    return state, records


async def read_document(
    store: EventStore, deps: Deps, case_id: UUID, document_id: UUID, principal: Principal
) -> tuple[IssuedDocument, bytes]:
    """A document of the case and its file, for a reader allowed to see the case; the read
    is recorded. A file missing from the store is rendered again from the events and
    served only if it has the hash its ``DocumentIssued`` recorded."""
    state, records = await read_case(store, case_id, principal, f"document:{document_id}", None)
    document = state.document(document_id)
    if document is None or deps.documents is None:
        raise Problem(404, "not-found", "文书不存在", f"案件{case_id}没有文书{document_id}。")
    content = await _stored(deps, case_id, document)
    if content is None:
        try:
            content = await rerender(deps.documents, deps.rules, deps.vault, records, document_id)
        except TemplateError:
            content = b""
        if hashlib.sha256(content).hexdigest() != document.sha256:
            raise Problem(
                500,
                "document-unavailable",
                "文书文件缺失",
                f"{document.number}的文件缺失，重新生成的内容与制发时的哈希值不一致。",
            )
        async with store.engine.begin() as conn:
            seal = documents.sealed_for(deps.vault, conn, persons_of(state), str(case_id))
            await documents.store(deps.documents.directory, content, seal)
    return document, content


async def _stored(deps: Deps, case_id: UUID, document: IssuedDocument) -> bytes | None:
    """A document's file as issued, opened; 410 once a person it names was shredded."""
    assert deps.documents is not None
    open_ = documents.opener(deps.vault, str(case_id))
    try:
        return await documents.stored_content(deps.documents.directory, document.sha256, open_)
    except documents.Unreadable:
        raise Problem(
            410,
            "document-shredded",
            "文书已不可读取",
            f"{document.number}所涉人员的个人信息已依法销毁，该文书不能再读取。",
        ) from None


async def list_register(
    store: EventStore, where: CaseFilter, principal: Principal, cursor: str | None, limit: int
) -> tuple[list[CaseState], str | None]:
    """A page of the case register; each case listed is a recorded read."""
    async with store.engine.begin() as conn:
        states, next_cursor = await queries.cases(conn, where, cursor, limit)
        ids = [s.case_id for s in states if s.case_id is not None]
        await record_read(conn, ids, principal, "list", None)
    return states, next_cursor


async def record_read(
    conn: AsyncConnection,
    case_id: UUID | list[UUID],
    principal: Principal,
    view: str,
    as_of: datetime | None,
) -> None:
    """Every read of a case is recorded (who, which view, as of when); a list, per case."""
    ids = case_id if isinstance(case_id, list) else [case_id]
    if not ids:
        return
    await conn.execute(
        text("INSERT INTO case_reads (case_id, actor, view, as_of) VALUES (:c, :a, :v, :t)"),
        [{"c": i, "a": principal.actor, "v": view, "t": as_of} for i in ids],
    )
