"""转办: a clue intake marks as outside this commission's jurisdiction leaves the disposal queue.

Intake decides jurisdiction (by its unit registry and the clerk); casework only reacts, so
that a clue to be forwarded does not sit pending disposal with its 1-month limit running:

* ``ClueMarkedForForwarding`` — pending disposal → 待转办 (``awaiting_forwarding``), the
  disposal limit cleared;
* ``ClueForwarded`` — 待转办 (or still pending) → 已转办 (``forwarded``, terminal);
* ``ClueKeptInJurisdiction`` — 待转办 → pending disposal again, with the disposal limit
  counted from receipt as before (a wrong mark gains the commission no time).

A clue casework has already moved on (disposed, filed…) is left as it is: the clerk's
late mark does not undo an officer's work. A higher commission's decision is different:

* ``ClueTakenUp`` (提级办理) and ``ClueJurisdictionDesignated`` to another body (指定管辖)
  close the matter as forwarded at whatever stage it is, its limits cleared — the higher
  body's decision binds this commission; a filed case is also closed (``CaseClosed``,
  outcome ``taken_up`` / ``designated_away``);
* ``ClueJurisdictionDesignated`` to this commission brings a clue waiting for forwarding
  back to the disposal queue, like a clerk's keep.

Pure: the time is passed in.
"""

from __future__ import annotations

from datetime import datetime

from libs.events.contracts import Event
from libs.events.contracts.casework import CaseClosed, CaseTransitioned
from libs.events.contracts.intake import (
    ClueForwarded,
    ClueJurisdictionDesignated,
    ClueKeptInJurisdiction,
    ClueMarkedForForwarding,
    ClueTakenUp,
)
from services.casework.domain.rules import Rules
from services.casework.domain.state import CaseState, Status

FORWARDING_EVENTS = (
    ClueMarkedForForwarding,
    ClueForwarded,
    ClueKeptInJurisdiction,
    ClueTakenUp,
    ClueJurisdictionDesignated,
)
Forwarding = (
    ClueMarkedForForwarding
    | ClueForwarded
    | ClueKeptInJurisdiction
    | ClueTakenUp
    | ClueJurisdictionDesignated
)
"""Intake's jurisdiction events casework reacts to."""


def react_to_forwarding(
    state: CaseState,
    event: Forwarding,
    now: datetime,
    rules: Rules,
) -> list[Event]:
    """What the ledger records when intake marks, forwards or keeps a clue (maybe nothing)."""
    if state.case_id is None:
        return []
    if isinstance(event, ClueTakenUp) or (
        isinstance(event, ClueJurisdictionDesignated) and not event.here
    ):
        return _left(state, event, now)
    if isinstance(event, ClueMarkedForForwarding):
        if state.status is not Status.PENDING_DISPOSAL:
            return []
        where = event.authority or "有管辖权的机关"
        return [
            _moved(
                state,
                "await_forwarding",
                Status.AWAITING_FORWARDING,
                f"不属本委管辖，待转{where}",
                now,
            )
        ]
    if isinstance(event, ClueForwarded):
        if state.status not in (Status.AWAITING_FORWARDING, Status.PENDING_DISPOSAL):
            return []
        return [
            _moved(
                state,
                "record_forwarding",
                Status.FORWARDED,
                f"已转{event.authority}办理",
                now,
                details={"authority": event.authority, "forwarded_by": event.forwarded_by},
            )
        ]
    if state.status is not Status.AWAITING_FORWARDING or state.received_at is None:
        return []
    reason = (
        f"留本委办理：{event.reason}"
        if isinstance(event, ClueKeptInJurisdiction)
        else f"{event.designated_by}指定本委管辖（{event.decision_number}）：{event.reason}"
    )
    return [
        _moved(
            state,
            "keep_in_jurisdiction",
            Status.PENDING_DISPOSAL,
            reason,
            now,
            deadlines_set={
                "clue_disposal": rules.calendar.due(
                    state.received_at.date(), rules.limits["clue_disposal"]
                )
            },
        )
    ]


def _left(
    state: CaseState, event: ClueTakenUp | ClueJurisdictionDesignated, now: datetime
) -> list[Event]:
    if state.status.terminal:
        return []
    if isinstance(event, ClueTakenUp):
        to, command = event.authority, "record_taken_up"
        reason = f"{event.authority}提级办理（{event.decision_number}）：{event.reason}"
    else:
        to, command = event.designated_to, "record_designation"
        reason = (
            f"{event.designated_by}指定{event.designated_to}管辖"
            f"（{event.decision_number}）：{event.reason}"
        )
    details = {"authority": to, "decision_number": event.decision_number}
    moved: list[Event] = [_moved(state, command, Status.FORWARDED, reason, now, details=details)]
    if state.case_number:
        # A filed case ends here (its 销号 in this commission's books), so statistics and
        # the source see it finished, with where it went as the outcome.
        taken = isinstance(event, ClueTakenUp)
        moved.append(
            CaseClosed(
                case_id=state.case_id,
                case_number=state.case_number,
                clue_ids=[state.case_id],
                outcome="taken_up" if taken else "designated_away",
                outcome_for_source=f"已由{to}提级办理" if taken else f"已指定{to}管辖",
                closed_at=now,
            )
        )
    return moved


def _moved(
    state: CaseState,
    command: str,
    to: Status,
    reason: str,
    now: datetime,
    *,
    details: dict[str, str] | None = None,
    deadlines_set: dict | None = None,  # type: ignore[type-arg]
) -> CaseTransitioned:
    assert state.case_id is not None
    return CaseTransitioned(
        case_id=state.case_id,
        command=command,
        from_status=state.status.value,
        to_status=to.value,
        reason=reason,
        details=details or {},
        deadlines_set=deadlines_set or {},
        deadlines_cleared=sorted(state.deadlines) if not deadlines_set else [],
        at=now,
    )
