"""管辖: whose a clue is, by the unit registry (data), and the forwarding it calls for. Pure.

The registry (单位管辖名录) lists units: those this commission handles (``ours``) and
those it does not (``other``), with the body they belong to where it is known (the city
commission, a system's own discipline group, another county). It is a CSV file shipped
as an example in ``services/intake/data/jurisdiction.csv``; a deployment names its own
with ``ZF_INTAKE_JURISDICTION_FILE``.

On receipt each reported person's unit is looked up (by its normalised name, an alias or
the unit code), and their rank and markers (一把手, 关键少数) are judged by the
干部管理权限 rules (``cadres.py``): a cadre another body manages (a 市管干部 in a county
unit) is that body's whatever the unit, so the clue is marked for it. A clue is:

* ours when every person's unit is ours — nothing is recorded, work goes on as usual;
* marked for forwarding (待转办, ``ClueMarkedForForwarding``) when every person's unit is
  another body's and they agree on the body (or none of them names one);
* undetermined (管辖待定, ``ClueJurisdictionUndetermined``) otherwise: a unit the registry
  does not know, or persons of different jurisdictions on one clue. An unknown unit is
  never taken to be ours silently — a clerk decides, and the 5-working-day forwarding
  limit runs from receipt while they do.

A clerk then forwards the clue (``ClueForwarded``), keeps it (``ClueKeptInJurisdiction``,
a compensating decision with a reason) or marks it for forwarding by hand. Deadlines that
pass say so once: ``ForwardingOverdue`` and, for real-name reports not acknowledged in
time, ``ReportAcknowledgementOverdue``, both escalated to the intake supervisor.
"""

from __future__ import annotations

import csv
import hashlib
import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

from libs.events.contracts import Event
from libs.events.contracts.intake import (
    ClueForwarded,
    ClueJurisdictionDesignated,
    ClueJurisdictionUndetermined,
    ClueKeptInJurisdiction,
    ClueMarkedForForwarding,
    ClueReceived,
    ClueTakenUp,
    ForwardingOverdue,
    ReportAcknowledged,
    ReportAcknowledgementOverdue,
    ReportedPerson,
    ReportReceived,
    UnitFinding,
)
from libs.kit.refusal import Refused
from libs.kit.workdays import WorkCalendar

if TYPE_CHECKING:
    from services.intake.domain.cadres import CadreRules

DEFAULT_REGISTRY = Path(__file__).resolve().parent.parent / "data" / "jurisdiction.csv"
OURS, OTHER, UNKNOWN = "ours", "other", "unknown"
COLUMNS = ("unit_code", "unit_name", "aliases", "jurisdiction", "authority", "note")

FORWARDING_METHODS = {
    "official_letter": "公函",
    "document_system": "公文交换系统",
    "confidential_delivery": "机要交通",
    "in_person": "当面移交",
}
"""How a clue is forwarded (转办方式)."""

STATUS_LABELS = {
    "in_jurisdiction": "本委管辖",
    "undetermined": "管辖待定",
    "marked": "待转办",
    "kept": "留本委办理",
    "forwarded": "已转办",
    "taken_up": "已提级办理",
    "designated_here": "指定本委管辖",
    "designated_away": "已指定其他机关管辖",
}


class RegistryError(ValueError):
    """The registry file is not usable; the message names the file, line and field."""


def normal_unit(name: str) -> str:
    """A unit name as compared: full-width folded (NFKC), no spaces, ASCII upper-cased."""
    folded = unicodedata.normalize("NFKC", name)
    return "".join(c for c in folded if not c.isspace()).upper()


@dataclass(frozen=True)
class RegisteredUnit:
    """One unit of the registry."""

    name: str
    jurisdiction: str
    code: str | None = None
    aliases: tuple[str, ...] = ()
    authority: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class UnitRegistry:
    """单位管辖名录: units by normalised name, alias and code; ``version`` names the data."""

    units: tuple[RegisteredUnit, ...]
    version: str
    _index: dict[str, RegisteredUnit] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, units: Sequence[RegisteredUnit], version: str) -> UnitRegistry:
        """A registry indexing ``units`` (names, aliases and codes must not collide)."""
        index: dict[str, RegisteredUnit] = {}
        for unit in units:
            for key in (unit.name, *unit.aliases, *([unit.code] if unit.code else [])):
                index[normal_unit(key)] = unit
        return cls(tuple(units), version, index)

    def find(self, unit: str) -> RegisteredUnit | None:
        """The registered unit a source's unit string names, if any."""
        return self._index.get(normal_unit(unit))

    def finding(self, unit: str) -> UnitFinding:
        """What the registry says about ``unit``."""
        found = self.find(unit)
        if found is None:
            return UnitFinding(unit=unit, finding=UNKNOWN)
        return UnitFinding(
            unit=unit,
            finding=found.jurisdiction,
            registered_as=found.name,
            authority=found.authority,
        )


def parse_registry(text: str, source: str = "registry") -> UnitRegistry:
    """A registry from CSV text; ``RegistryError`` names the line and field of a bad row.

    Lines starting with ``#`` are comments; ``# version: …`` names the data's version
    (otherwise it is the first 12 hex digits of the file's SHA-256).
    """
    version = ""
    lines: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            key, _, value = stripped.lstrip("#").partition(":")
            if key.strip().lower() == "version" and value.strip():
                version = value.strip()
            continue
        if stripped:
            lines.append((number, line))
    if not lines:
        raise RegistryError(f"{source}: no header line; expected columns {', '.join(COLUMNS)}")
    header_line, header = lines[0]
    columns = [c.strip() for c in next(csv.reader([header]))]
    missing = [c for c in ("unit_name", "jurisdiction") if c not in columns]
    if missing:
        raise RegistryError(
            f"{source} line {header_line}: header lacks column(s) {', '.join(missing)}"
        )
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise RegistryError(
            f"{source} line {header_line}: unknown column(s) {', '.join(unknown)};"
            f" allowed: {', '.join(COLUMNS)}"
        )
    units: list[RegisteredUnit] = []
    seen: dict[str, int] = {}
    for number, line in lines[1:]:
        values = next(csv.reader(io.StringIO(line)))
        if len(values) > len(columns):
            raise RegistryError(
                f"{source} line {number}: {len(values)} fields, the header has {len(columns)}"
            )
        row = {c: (values[i].strip() if i < len(values) else "") for i, c in enumerate(columns)}

        def bad(column: str, reason: str, line_no: int = number) -> RegistryError:
            return RegistryError(f"{source} line {line_no}, field {column}: {reason}")

        name = row["unit_name"]
        if not name:
            raise bad("unit_name", "empty")
        kind = row["jurisdiction"].lower()
        if kind not in (OURS, OTHER):
            raise bad("jurisdiction", f"must be {OURS} or {OTHER}, not {row['jurisdiction']!r}")
        authority = row.get("authority") or None
        if kind == OURS and authority:
            raise bad("authority", f"must be empty for a unit of ours (got {authority!r})")
        aliases = tuple(a.strip() for a in (row.get("aliases") or "").split("|") if a.strip())
        code = row.get("unit_code") or None
        for column, key in (
            ("unit_name", name),
            *(("aliases", a) for a in aliases),
            *((("unit_code", code),) if code else ()),
        ):
            normal = normal_unit(key)
            if normal in seen and seen[normal] != number:
                raise bad(column, f"{key!r} already names the unit on line {seen[normal]}")
            seen[normal] = number
        units.append(
            RegisteredUnit(
                name=name,
                jurisdiction=kind,
                code=code,
                aliases=aliases,
                authority=authority,
                note=row.get("note") or None,
            )
        )
    if not units:
        raise RegistryError(f"{source}: no units listed")
    version = version or hashlib.sha256(text.encode()).hexdigest()[:12]
    return UnitRegistry.of(units, version)


def load_registry(path: str | None = None) -> UnitRegistry:
    """The deployment's registry: ``path`` or the shipped example (read once, at start)."""
    chosen = Path(path) if path else DEFAULT_REGISTRY
    try:
        text = chosen.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RegistryError(f"{chosen}: cannot read the unit registry ({err})") from err
    return parse_registry(text, str(chosen))


@dataclass(frozen=True)
class Assessment:
    """Whose a clue is by the registry."""

    outcome: str
    """``ours``, ``forward`` or ``undetermined``."""
    reason: str
    findings: tuple[UnitFinding, ...]
    authority: str | None = None


def judge(
    person: str | ReportedPerson, registry: UnitRegistry, cadres: CadreRules | None = None
) -> UnitFinding:
    """What the registry and the 干部管理权限 rules say about one reported person.

    A cadre a rule gives to another body (a 市管干部) is that body's whatever the unit; a
    rank the ladder does not know makes the person ``unknown`` (a clerk decides); anyone
    else is judged by their unit. ``person`` may be a bare unit (no rank stated).
    """
    if isinstance(person, str):
        return registry.finding(person)
    unit = registry.finding(person.unit)
    if cadres is None or not (person.rank or person.top_leader or person.key_minority):
        return unit
    managed = cadres.manage(
        person.rank, top_leader=person.top_leader, key_minority=person.key_minority
    )
    marked = unit.model_copy(
        update={"rank": person.rank, "cadre": managed.code, "cadre_label": managed.label}
    )
    if managed.authority is not None:
        return marked.model_copy(update={"finding": OTHER, "authority": managed.authority})
    if managed.code == "unrecognised_rank":
        return marked.model_copy(update={"finding": UNKNOWN})
    return marked


def assess(
    persons: Sequence[str | ReportedPerson],
    registry: UnitRegistry,
    cadres: CadreRules | None = None,
) -> Assessment:
    """Decide from the reported persons' units and ranks (see the module docstring)."""
    findings = tuple(dict.fromkeys(judge(p, registry, cadres) for p in persons))
    kinds = {f.finding for f in findings}
    if kinds == {OURS}:
        return Assessment(OURS, "本委管辖", findings)
    if UNKNOWN in kinds:
        ranks = "、".join(f.rank or "" for f in findings if f.cadre == "unrecognised_rank")
        if ranks:
            return Assessment(
                "undetermined",
                f"被反映人级别「{ranks}」无法按干部管理权限识别，需确定管辖",
                findings,
            )
        names = "、".join(f.unit for f in findings if f.finding == UNKNOWN)
        return Assessment("undetermined", f"单位未列入管辖名录：{names}", findings)
    if kinds == {OTHER}:
        bodies = {f.authority for f in findings}
        if len(bodies) == 1:
            (authority,) = bodies
            where = authority or "归属机关未载明"
            ruled = {r.code for r in cadres.rules} if cadres is not None else set()
            cadre = next((f for f in findings if f.cadre in ruled), None)
            if cadre is not None:
                why = f"被反映人系{cadre.cadre_label}（{cadre.rank}），按干部管理权限由{where}管辖"
                return Assessment("forward", why, findings, authority)
            return Assessment(
                "forward", f"被反映人所在单位不属本委管辖（{where}）", findings, authority
            )
        return Assessment("undetermined", "被反映人分属不同机关管辖，需分别转办", findings)
    return Assessment("undetermined", "被反映人部分属本委管辖、部分不属，需确定办理方式", findings)


def on_receipt(
    events: Sequence[Event],
    registry: UnitRegistry,
    calendar: WorkCalendar,
    forward_workdays: int,
    cadres: CadreRules | None = None,
) -> list[Event]:
    """What the registry adds to a receipt: a forwarding mark or a call for a decision.

    ``events`` are those a receipt records; each ``ClueReceived`` among them is assessed
    (a repeat report merged into another clue has none and gets nothing).
    """
    added: list[Event] = []
    for event in events:
        if not isinstance(event, ClueReceived):
            continue
        verdict = assess(event.reported_persons, registry, cadres)
        rules_version = cadres.version if cadres is not None else ""
        due = calendar.add_workdays(event.received_at.date(), forward_workdays)
        if verdict.outcome == "forward":
            added.append(
                ClueMarkedForForwarding(
                    clue_id=event.clue_id,
                    clue_number=event.clue_number,
                    authority=verdict.authority,
                    reason=verdict.reason,
                    findings=list(verdict.findings),
                    registry_version=registry.version,
                    cadre_rules_version=rules_version,
                    forward_by=due,
                    marked_by="service:intake",
                    marked_at=event.received_at,
                )
            )
        elif verdict.outcome == "undetermined":
            added.append(
                ClueJurisdictionUndetermined(
                    clue_id=event.clue_id,
                    clue_number=event.clue_number,
                    reason=verdict.reason,
                    findings=list(verdict.findings),
                    registry_version=registry.version,
                    cadre_rules_version=rules_version,
                    decide_by=due,
                    noted_at=event.received_at,
                )
            )
    return added


@dataclass(frozen=True)
class JurisdictionRules:
    """The registry, the cadre rules, the calendar and the forwarding limit, loaded at start."""

    registry: UnitRegistry
    calendar: WorkCalendar
    forward_workdays: int = 5
    cadres: CadreRules | None = None

    def on_receipt(self, events: Sequence[Event]) -> list[Event]:
        """``events`` followed by what the registry adds to them (see ``on_receipt``)."""
        return [
            *events,
            *on_receipt(events, self.registry, self.calendar, self.forward_workdays, self.cadres),
        ]


@dataclass(frozen=True)
class ClueJurisdiction:
    """A clue's jurisdiction and intake deadlines, folded from its stream."""

    clue_id: UUID | None = None
    clue_number: str = ""
    received_at: datetime | None = None
    status: str = "in_jurisdiction"
    authority: str | None = None
    reason: str | None = None
    findings: tuple[UnitFinding, ...] = ()
    forward_by: date | None = None
    forwarded: ClueForwarded | None = None
    left: ClueTakenUp | ClueJurisdictionDesignated | None = None
    """提级办理 or 指定管辖 to another body: the clue left this commission."""
    forwarding_overdue_noticed: frozenset[date] = frozenset()
    acknowledge_by: date | None = None
    acknowledged: bool = False
    acknowledgement_overdue_noticed: bool = False
    version: int = 0

    @property
    def status_label(self) -> str:
        """What a clerk reads."""
        return STATUS_LABELS[self.status]


def evolve(state: ClueJurisdiction, event: Event) -> ClueJurisdiction:
    """The state after one event of the clue's stream."""
    state = replace(state, version=state.version + 1)
    if isinstance(event, ClueReceived):
        return replace(
            state,
            clue_id=event.clue_id,
            clue_number=event.clue_number,
            received_at=event.received_at,
        )
    if isinstance(event, ClueMarkedForForwarding):
        return replace(
            state,
            status="marked",
            authority=event.authority,
            reason=event.reason,
            findings=tuple(event.findings) or state.findings,
            forward_by=event.forward_by,
        )
    if isinstance(event, ClueJurisdictionUndetermined):
        return replace(
            state,
            status="undetermined",
            reason=event.reason,
            findings=tuple(event.findings),
            forward_by=event.decide_by,
        )
    if isinstance(event, ClueKeptInJurisdiction):
        return replace(state, status="kept", authority=None, reason=event.reason)
    if isinstance(event, ClueForwarded):
        return replace(state, status="forwarded", authority=event.authority, forwarded=event)
    if isinstance(event, ClueTakenUp):
        return replace(
            state, status="taken_up", authority=event.authority, reason=event.reason, left=event
        )
    if isinstance(event, ClueJurisdictionDesignated):
        if event.here:
            return replace(state, status="designated_here", authority=None, reason=event.reason)
        return replace(
            state,
            status="designated_away",
            authority=event.designated_to,
            reason=event.reason,
            left=event,
        )
    if isinstance(event, ForwardingOverdue):
        return replace(
            state, forwarding_overdue_noticed=state.forwarding_overdue_noticed | {event.due}
        )
    if isinstance(event, ReportReceived):
        # A report merged into another clue as a repeat (重复件) has no ClueReceived of
        # its own, but its real-name reporter must still be told of acceptance in time.
        return replace(
            state, clue_id=state.clue_id or event.clue_id, acknowledge_by=event.acknowledge_by
        )
    if isinstance(event, ReportAcknowledged):
        return replace(state, acknowledged=True)
    if isinstance(event, ReportAcknowledgementOverdue):
        return replace(state, acknowledgement_overdue_noticed=True)
    return state


def replay(events: Sequence[Event]) -> ClueJurisdiction:
    """Fold a clue's events."""
    state = ClueJurisdiction()
    for event in events:
        state = evolve(state, event)
    return state


class AuthorityRequired(Refused):
    """Forwarding needs a body to forward to, and neither the registry nor the clerk named one."""

    def __init__(self, clue_number: str) -> None:
        super().__init__(
            "authority-required",
            f"管辖登记表中没有线索 {clue_number} 的受理机关，请填写移送机关（authority）。",
            field="authority",
            reason="此线索须填写",
            title="请写明移送机关",
        )


def ensure_still_here(state: ClueJurisdiction) -> None:
    """Refuse when the clue already left this commission (转办, 提级办理, 指定他机关)."""
    if isinstance(state.left, ClueTakenUp):
        raise Refused(
            "already-taken-up",
            f"线索 {state.clue_number} 已由{state.left.authority}提级办理"
            f"（{state.left.decision_number}），本委不再办理。",
            kind="conflict",
            title="线索已提级办理",
        )
    if isinstance(state.left, ClueJurisdictionDesignated):
        raise Refused(
            "already-designated",
            f"线索 {state.clue_number} 已由{state.left.designated_by}指定"
            f"{state.left.designated_to}管辖（{state.left.decision_number}）。",
            kind="conflict",
            title="线索已指定管辖",
        )
    if state.forwarded is not None:
        raise Refused(
            "already-forwarded",
            f"线索 {state.clue_number} 已于 {state.forwarded.forwarded_at.date().isoformat()} "
            f"转办至{state.forwarded.authority}。",
            kind="conflict",
            title="线索已转办",
        )


def _open_question(state: ClueJurisdiction) -> None:
    ensure_still_here(state)
    if state.status not in ("marked", "undetermined"):
        raise Refused(
            "not-marked-for-forwarding",
            f"线索 {state.clue_number} 当前为「{state.status_label}」，请先标记为拟转办。",
            kind="conflict",
            title="线索未标记为拟转办",
        )


def forward(
    state: ClueJurisdiction,
    *,
    authority: str | None,
    method: str,
    letter_number: str | None,
    note: str | None,
    actor: str,
    now: datetime,
) -> list[Event]:
    """转办: send a marked (or undetermined) clue to the body that has jurisdiction."""
    _open_question(state)
    to = authority or state.authority
    if not to:
        raise AuthorityRequired(state.clue_number)
    return [
        ClueForwarded(
            clue_id=clue_id_of(state),
            clue_number=state.clue_number,
            authority=to,
            method=method,
            letter_number=letter_number,
            note=note,
            forward_by=state.forward_by,
            in_time=state.forward_by is None or now.date() <= state.forward_by,
            forwarded_by=actor,
            forwarded_at=now,
        )
    ]


def keep(state: ClueJurisdiction, *, reason: str, actor: str, now: datetime) -> list[Event]:
    """留本委办理: the clerk finds the clue is this commission's after all."""
    _open_question(state)
    return [
        ClueKeptInJurisdiction(
            clue_id=clue_id_of(state),
            clue_number=state.clue_number,
            reason=reason,
            decided_by=actor,
            decided_at=now,
        )
    ]


def mark(
    state: ClueJurisdiction,
    *,
    authority: str | None,
    reason: str,
    actor: str,
    now: datetime,
    calendar: WorkCalendar,
    forward_workdays: int,
) -> list[Event]:
    """A clerk marks a clue for forwarding; the limit still counts from receipt."""
    ensure_still_here(state)
    if state.status == "designated_here":
        raise Refused(
            "designated-here",
            f"线索 {state.clue_number} 已由上级机关指定本委管辖，不能再标记转办。",
            kind="conflict",
            title="线索已指定本委管辖",
        )
    if state.status == "marked" and state.authority == authority:
        raise Refused(
            "already-marked",
            f"线索 {state.clue_number} 已标记为拟转办至{authority or '其他机关'}。",
            kind="conflict",
            title="线索已标记为拟转办",
        )
    received = state.received_at or now
    return [
        ClueMarkedForForwarding(
            clue_id=clue_id_of(state),
            clue_number=state.clue_number,
            authority=authority,
            reason=reason,
            findings=list(state.findings),
            forward_by=calendar.add_workdays(received.date(), forward_workdays),
            marked_by=actor,
            marked_at=now,
        )
    ]


def clue_id_of(state: ClueJurisdiction) -> UUID:
    """The clue a jurisdiction state is about (set by its first event)."""
    assert state.clue_id is not None
    return state.clue_id


def deadline_id(clue_id: UUID, kind: str, due: date) -> str:
    """The same limit on the same day always has the same id (one notice each)."""
    return f"{clue_id}:{kind}:{due.isoformat()}"


def overdue_notices(
    state: ClueJurisdiction, today: date, now: datetime, escalate_to: str | None
) -> list[Event]:
    """逾期: what the scheduler must say about this clue's intake limits today (once each)."""
    if state.clue_id is None:
        return []
    events: list[Event] = []
    due = state.forward_by
    if (
        due is not None
        and state.status in ("marked", "undetermined")
        and today > due
        and due not in state.forwarding_overdue_noticed
    ):
        events.append(
            ForwardingOverdue(
                deadline_id=deadline_id(state.clue_id, "forwarding", due),
                clue_id=state.clue_id,
                clue_number=state.clue_number,
                due=due,
                undetermined=state.status == "undetermined",
                escalated_to=escalate_to,
                noticed_at=now,
            )
        )
    ack = state.acknowledge_by
    if (
        ack is not None
        and not state.acknowledged
        and not state.acknowledgement_overdue_noticed
        and today > ack
    ):
        events.append(
            ReportAcknowledgementOverdue(
                deadline_id=deadline_id(state.clue_id, "acknowledgement", ack),
                clue_id=state.clue_id,
                clue_number=state.clue_number,
                due=ack,
                escalated_to=escalate_to,
                noticed_at=now,
            )
        )
    return events
