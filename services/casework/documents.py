"""文书: the documents casework's decisions issue, served and read back.

Which decision issues which document is data (``data/documents.json``), the documents
themselves are templates (``data/documents/``, one file per kind). A decision's ``after``
step issues them in the command's transaction — the one the approval completion runs too:
each gets the next number of its kind and year, is rendered from the matter as the
decision left it (names revealed from the vault, never written to an event), stored by
its hash and recorded as ``DocumentIssued`` on the matter's stream. Rendering that version
of the matter again gives the same bytes (:func:`rerender`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events import measures as measures_catalogue
from libs.events import pii, taxonomy
from libs.events.contracts import Event
from libs.events.contracts.casework import CaseTransitioned
from libs.events.contracts.documents import DocumentIssued
from libs.events.store import Recorded
from libs.kit import documents
from libs.kit.commands import Context
from libs.kit.documents import Templates
from libs.kit.workdays import Period, Unit
from services.casework.domain import CaseState, Rules, clue_stream, replay
from services.casework.domain.rules import DATA

_UNITS = {Unit.WORKING_DAYS: "个工作日", Unit.DAYS: "日", Unit.MONTHS: "个月"}


@dataclass(frozen=True)
class Rule:
    """One document a decision issues: its kind, when the decision's details match ``when``,
    and (for a sanction) only when a measure of the group ``measures`` was decided."""

    kind: str
    when: Mapping[str, Any] = field(default_factory=dict)
    measures: str | None = None


@dataclass(frozen=True)
class Issuing:
    """Which decisions issue which documents, and the words those documents use."""

    version: str
    commands: Mapping[str, tuple[Rule, ...]]
    measures: Mapping[str, Mapping[str, str]]
    forms: Mapping[str, str]
    outcomes: Mapping[str, str]
    starts_clock: Mapping[str, str]
    """Kind of document -> the clock its service starts (``decision``, ``inquiry_reply``…)."""

    def kinds(self, transition: CaseTransitioned) -> list[str]:
        """The kinds of document this decision issues, in the file's order."""
        details, chosen = transition.details, []
        for rule in self.commands.get(transition.command, ()):
            if any(details.get(k) != v for k, v in rule.when.items()):
                continue
            group = self.measures.get(rule.measures or "", {})
            if rule.measures and not set(details.get("measures", [])) & set(group):
                continue
            chosen.append(rule.kind)
        return chosen

    def measure_labels(self, codes: Sequence[str], group: str | None = None) -> str:
        """Measures as a document names them (``严重警告``), joined with 、."""
        groups = [self.measures.get(group, {})] if group else list(self.measures.values())
        labels = [next((g[c] for g in groups if c in g), None if group else c) for c in codes]
        return "、".join(label for label in labels if label)


def load_issuing(path: Path = DATA / "documents.json") -> Issuing:
    """The issuing rules from their file."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    catalogue = measures_catalogue.load()
    return Issuing(
        version=str(doc["version"]),
        commands={
            name: tuple(Rule(**rule) for rule in rules) for name, rules in doc["commands"].items()
        },
        # Measure words come from the catalogue (libs/events/measures.py), by kind.
        measures={
            kind: {m.code: m.label for m in catalogue.of_kind(kind)} for kind in catalogue.kinds
        },
        forms=doc.get("forms", {}),
        outcomes=doc.get("outcomes", {}),
        starts_clock=_clocks(doc.get("service_starts_clock", {})),
    )


def _clocks(value: Mapping[str, str] | Sequence[str]) -> Mapping[str, str]:
    # A list of kinds (the file's first shape) meant the decisions' clock.
    if isinstance(value, Mapping):
        return dict(value)
    return dict.fromkeys(value, "decision")


@dataclass(frozen=True)
class Documents:
    """Everything issuing needs, built once by the composition root."""

    templates: Templates
    issuing: Issuing
    directory: Path
    categories: taxonomy.Taxonomy = field(default_factory=taxonomy.load)

    @classmethod
    def load(cls, directory: Path, templates_dir: str = "", issuing_file: str = "") -> Documents:
        """The shipped templates and rules, unless others are named; files go to ``directory``."""
        return cls(
            templates=documents.load(Path(templates_dir) if templates_dir else DATA / "documents"),
            issuing=load_issuing(Path(issuing_file) if issuing_file else DATA / "documents.json"),
            directory=directory,
        )


def _period(period: Period) -> str:
    return f"{period.amount}{_UNITS[period.unit]}"


async def names(
    vault: pii.Vault | None, state: CaseState, conn: AsyncConnection | None = None
) -> list[str]:
    """The reported persons' names as the document prints them: revealed from their sealed
    tokens (``[已销毁]`` once shredded); a person recorded before sealing keeps their name."""
    out = []
    for person in state.reported_persons:
        token = person.sealed.get("name")
        if token is None or vault is None:
            out.append(person.name)
            continue
        value = await vault.reveal(token, context=str(state.case_id), field="name", conn=conn)
        out.append(pii.display(value))
    return out


def fields(
    docs: Documents, rules: Rules, state: CaseState, transition: CaseTransitioned, people: list[str]
) -> dict[str, str]:
    """What the templates fill in, from the matter as the decision left it."""
    person = state.reported_persons[0] if state.reported_persons else None
    subject = state.subject
    unit = subject.unit if subject else (person.unit if person else "")
    post = (subject.post if subject else None) or (person.post if person else None) or ""
    d = transition.details
    return {
        "subject_name": people[0] if people else "",
        "persons": "、".join(people),
        "subject_unit": unit,
        "subject_post": post,
        "department": state.department or unit,
        "clue_number": state.clue_number,
        "case_number": state.case_number or state.clue_number,
        "matter_number": state.case_number or state.clue_number,
        "categories": "、".join(docs.categories.label(c) for c in state.categories),
        "reason": transition.reason,
        "reply_limit": _period(rules.limits["inquiry_reply"]),
        "appeal_limit": _period(rules.limits["reexamination_apply"]),
        "recheck_limit": _period(rules.limits["recheck_apply"]),
        **_decision_fields(docs.issuing, state, d),
    }


def _decision_fields(issuing: Issuing, state: CaseState, d: Mapping[str, Any]) -> dict[str, str]:
    measures = list(d.get("measures", state.measures))
    misconduct = state.misconduct_date
    supervision = state.supervision or {}
    return {
        "facts": str(d.get("facts", "")),
        "conclusion": issuing.outcomes.get(str(d.get("outcome")), str(d.get("outcome", ""))),
        "form_label": issuing.forms.get(str(d.get("form", state.form)), ""),
        "measures": issuing.measure_labels(measures),
        "party_measures": issuing.measure_labels(measures, "party"),
        "administrative_measures": issuing.measure_labels(measures, "administrative"),
        "misconduct_date": documents.date_text(misconduct) if misconduct else "",
        "false_accusation": "经查，系诬告陷害，将依规依纪依法严肃处理。"
        if d.get("false_accusation")
        else "",
        "appeal_result": _appeal_result(issuing, d),
        "supervising_body": str(supervision.get("body", d.get("body", ""))),
        "report_due": _day(str(supervision.get("report_due", d.get("report_due", "")))),
    }


def _appeal_result(issuing: Issuing, d: Mapping[str, Any]) -> str:
    if d.get("result") == "changed":
        form = issuing.forms.get(str(d.get("form")), "")
        return f"变更原处分决定，改为{issuing.measure_labels(list(d.get('measures', [])))}（第{form}种形态）"
    return "维持原处分决定" if d.get("result") == "upheld" else ""


def _day(iso: str) -> str:
    if not iso:
        return ""
    return documents.date_text(date.fromisoformat(iso))


async def issue(state: CaseState, events: list[Event], ctx: Context) -> None:
    """A decision's ``after`` step: its documents, numbered, rendered, stored and recorded."""
    docs: Documents | None = ctx.deps.documents
    transition = next((e for e in events if isinstance(e, CaseTransitioned)), None)
    if docs is None or transition is None or not docs.issuing.kinds(transition):
        return
    assert state.case_id is not None
    people = await names(ctx.deps.vault, state, ctx.conn)
    filled = fields(docs, ctx.deps.rules, state, transition, people)
    matter = documents.Matter(state.case_id, state.version, transition.command, "casework")
    seal = documents.sealed_for(ctx.deps.vault, ctx.conn, persons_of(state), str(state.case_id))
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
        for kind in docs.issuing.kinds(transition)
    ]
    recorded = await ctx.store.append(
        clue_stream(state.case_id),
        issued,
        expected_version=ctx.version,
        meta=ctx.meta,
        conn=ctx.conn,
    )
    ctx.version = recorded[-1].version
    ctx.result = replay(issued, state)


def persons_of(state: CaseState) -> list[UUID]:
    """Whose keys a matter's documents are sealed under: its reported persons and subject."""
    refs = [p.person_ref for p in state.reported_persons if p.person_ref and p.sealed]
    subject = state.subject
    if subject is not None and subject.person_ref is not None and subject.sealed:
        refs.append(subject.person_ref)
    return list(dict.fromkeys(refs))


async def rerender(
    docs: Documents,
    rules: Rules,
    vault: pii.Vault | None,
    records: list[Recorded],
    document: UUID,
) -> bytes:
    """The document rendered again from the matter's events, as it was when issued."""
    issued = next(
        r.event
        for r in records
        if isinstance(r.event, DocumentIssued) and r.event.document_id == document
    )
    assert isinstance(issued, DocumentIssued)
    before = [r.event for r in records if r.version <= issued.matter_version]
    state = replay(before)
    transition = next(e for e in reversed(before) if isinstance(e, CaseTransitioned))
    filled = fields(docs, rules, state, transition, await names(vault, state))
    return documents.rerender(docs.templates, issued, await documents.opened(vault, filled))
