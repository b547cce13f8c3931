"""文书 of 问责: the commission's decision on a measure issues its 问责决定书 (and, for a
通报, the 通报 itself), numbered in the decision's transaction, stored by hash and recorded
as ``DocumentIssued`` on the inquiry's stream — the same way casework issues its own.

Which decision issues which document is data (``data/documents.json``); the templates are
``data/documents/`` (one file per kind). A decision of another body (组织部门) is that
body's document: the commission records its number, it issues none.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events import pii
from libs.events.contracts import Event
from libs.events.contracts.accountability import MeasureDecided, MeasureProposed
from libs.events.contracts.documents import DocumentIssued
from libs.events.store import EventStore, Recorded
from libs.kit import documents
from libs.kit.auth import Principal
from libs.kit.commands import Context
from libs.kit.documents import MEDIA_TYPE, TemplateError, Templates
from libs.kit.problems import Problem
from services.accountability.domain.inquiry import Inquiry, inquiry_stream, replay
from services.accountability.domain.rules import Rules
from services.accountability.personal import party_name

__all__ = ["MEDIA_TYPE", "InquiryDocuments", "issue", "list_documents", "read_document"]

DATA = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class InquiryDocuments:
    """Templates, which decision issues which, and where files go; built once at start."""

    templates: Templates
    by_the_commission: tuple[str, ...]
    by_measure: Mapping[str, tuple[str, ...]]
    directory: Path

    @classmethod
    def load(
        cls, directory: Path, templates_dir: str = "", issuing_file: str = ""
    ) -> InquiryDocuments:
        """The shipped templates and rules unless others are named."""
        path = Path(issuing_file) if issuing_file else DATA / "documents.json"
        rules = json.loads(path.read_text(encoding="utf-8"))["decide_measure"]
        return cls(
            templates=documents.load(Path(templates_dir) if templates_dir else DATA / "documents"),
            by_the_commission=tuple(rules.get("by_the_commission", ())),
            by_measure={k: tuple(v) for k, v in rules.get("by_measure", {}).items()},
            directory=directory,
        )

    def kinds(self, decided: MeasureDecided, measure: str) -> list[str]:
        """The documents a decision issues: none unless the commission approved it."""
        if not decided.approved or decided.decided_by_body != "commission":
            return []
        return [*self.by_the_commission, *self.by_measure.get(measure, ())]


def fields(state: Inquiry, decided: MeasureDecided, rules: Rules, name: str) -> dict[str, str]:
    """What the templates fill in, from the inquiry as the decision left it (``name``: the
    party's, revealed from the vault)."""
    opened, measure = state.opened, state.measures[decided.measure_id]
    assert opened is not None
    party = state.party(measure.proposed.party_id)
    finding = state.findings.get(party.party_id)
    misconduct = opened.misconduct_date
    return {
        "unit": opened.unit,
        "department": opened.department or "",
        "party_name": name,
        "party_post": party.post or "",
        "responsibility_label": rules.responsibilities.get(
            party.responsibility, party.responsibility
        ),
        "responsibility_kind_label": _kind_text(rules, measure.proposed),
        "measure_label": rules.measure_label(measure.proposed.measure),
        "measure_reasons": measure.proposed.reasons,
        "findings": "；".join(finding.reasons) + "。" if finding and finding.reasons else "",
        "trigger_reason": opened.trigger.reason,
        "misconduct_date": documents.date_text(misconduct),
    }


def _kind_text(rules: Rules, proposed: MeasureProposed) -> str:
    """「的主要领导责任（个人责任）」; nothing for a measure proposed before kinds were named."""
    kinds = rules.responsibility_kinds
    if proposed.responsibility_kind not in kinds.kinds:
        return ""
    return (
        f"中的{kinds.kind_label(proposed.responsibility_kind)}"
        f"（{kinds.bearing_label(proposed.bearing)}）"
    )


async def _name(vault: pii.Vault | None, state: Inquiry, decided: MeasureDecided) -> str:
    return await party_name(
        vault, state.party(state.measures[decided.measure_id].proposed.party_id)
    )


def persons_of(state: Inquiry) -> list[UUID]:
    """Whose keys an inquiry's documents are sealed under: its leaders and direct subject."""
    opened = state.opened
    if opened is None:
        return []
    refs = [p.person_ref for p in opened.parties if p.person_ref and p.sealed]
    if opened.direct_subject_ref and opened.direct_subject_sealed:
        refs.append(opened.direct_subject_ref)
    return list(dict.fromkeys(refs))


async def _store_again(
    docs: InquiryDocuments,
    vault: pii.Vault | None,
    store: EventStore,
    state: Inquiry,
    content: bytes,
) -> None:
    assert state.opened is not None
    async with store.engine.begin() as conn:
        context = str(state.opened.inquiry_id)
        await documents.store(
            docs.directory, content, documents.sealed_for(vault, conn, persons_of(state), context)
        )


async def issue(state: Inquiry, events: list[Event], ctx: Context) -> None:
    """``after`` a measure's decision: the documents the commission's decision issues."""
    docs: InquiryDocuments | None = ctx.deps.documents
    decided = next((e for e in events if isinstance(e, MeasureDecided)), None)
    if docs is None or decided is None or state.opened is None:
        return
    kinds = docs.kinds(decided, state.measures[decided.measure_id].proposed.measure)
    if not kinds:
        return
    filled = fields(state, decided, ctx.deps.rules, await _name(ctx.deps.vault, state, decided))
    matter = documents.Matter(
        state.opened.inquiry_id, ctx.version, "decide_measure", "accountability"
    )
    context = str(state.opened.inquiry_id)
    seal = documents.sealed_for(ctx.deps.vault, ctx.conn, persons_of(state), context)
    issued: list[Event] = [
        await documents.issue(
            ctx.conn,
            docs.templates,
            docs.directory,
            kind,
            ctx.now,
            filled,
            matter,
            seal,
            vault=ctx.deps.vault,
        )
        for kind in kinds
    ]
    recorded = await ctx.store.append(
        inquiry_stream(state.opened.inquiry_id),
        issued,
        expected_version=ctx.version,
        meta=ctx.meta,
        conn=ctx.conn,
    )
    ctx.version = recorded[-1].version


def document_body(state: Inquiry, d: DocumentIssued) -> dict[str, Any]:
    """A document as the list shows it: whether and how it was served, where to download it."""
    served = state.served.get(d.document_id)
    return {
        **d.model_dump(mode="json"),
        "served_on": served.served_on.isoformat() if served else None,
        "manner": served.manner.value if served else None,
        "manner_label": served.manner.label if served else None,
        "href": f"/v1/inquiries/{d.matter_id}/documents/{d.document_id}",
    }


async def record_read(
    conn: AsyncConnection, inquiry_id: UUID, reader: Principal, view: str
) -> None:
    """A read of an inquiry's documents is recorded (who, which view), in the read's transaction."""
    await conn.execute(
        text("INSERT INTO inquiry_reads (inquiry_id, actor, view) VALUES (:i, :a, :v)"),
        {"i": inquiry_id, "a": reader.actor, "v": view},
    )


async def _read(
    store: EventStore, inquiry_id: UUID, reader: Principal, view: str
) -> list[Recorded]:
    async with store.engine.begin() as conn:
        records = await store.read_stream(inquiry_stream(inquiry_id), conn=conn)
        if not records:
            raise Problem(404, "not-found", "问责调查不存在", f"没有问责调查{inquiry_id}。")
        await record_read(conn, inquiry_id, reader, view)
    return records


async def list_documents(
    store: EventStore, inquiry_id: UUID, reader: Principal
) -> list[dict[str, Any]]:
    """The inquiry's documents, oldest first, with where to download each (a recorded read)."""
    state = replay([r.event for r in await _read(store, inquiry_id, reader, "documents")])
    return [document_body(state, d) for d in state.documents.values()]


async def read_document(
    store: EventStore,
    docs: InquiryDocuments,
    rules: Rules,
    inquiry_id: UUID,
    document_id: UUID,
    reader: Principal,
    vault: pii.Vault | None = None,
) -> tuple[DocumentIssued, bytes]:
    """One document and its file (rendered again from the events if the file is lost); the
    download is a recorded read."""
    records = await _read(store, inquiry_id, reader, f"document:{document_id}")
    found = replay([r.event for r in records]).documents.get(document_id)
    if found is None:
        raise Problem(
            404, "not-found", "文书不存在", f"问责调查{inquiry_id}没有文书{document_id}。"
        )
    try:
        content = await documents.stored_content(
            docs.directory, found.sha256, documents.opener(vault, str(inquiry_id))
        )
    except documents.Unreadable:
        raise Problem(
            410,
            "document-shredded",
            "文书已不可读取",
            f"{found.number}所涉人员的个人信息已依法销毁，该文书不能再读取。",
        ) from None
    if content is None:
        content = await rerender(docs, rules, records, found, vault)
        if hashlib.sha256(content).hexdigest() != found.sha256:
            raise Problem(
                500, "document-unavailable", "文书文件缺失", f"{found.number}无法重新生成。"
            )
        await _store_again(docs, vault, store, replay([r.event for r in records]), content)
    return found, content


async def rerender(
    docs: InquiryDocuments,
    rules: Rules,
    records: list[Recorded],
    issued: DocumentIssued,
    vault: pii.Vault | None = None,
) -> bytes:
    """The document rendered again from the inquiry's events, as it was when issued."""
    before = [r.event for r in records if r.version <= issued.matter_version]
    decided = next(e for e in reversed(before) if isinstance(e, MeasureDecided))
    state = replay(before)
    filled = await documents.opened(
        vault, fields(state, decided, rules, await _name(vault, state, decided))
    )
    try:
        return documents.rerender(docs.templates, issued, filled)
    except TemplateError:
        return b""
