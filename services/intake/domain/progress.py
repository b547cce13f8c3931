"""What a source may learn about its clue, from casework's events (线索办理进展).

Casework owns disposal; intake notes, per clue it received, the status a partner or
reporter may see and the outcome casework wrote for them (``outcome_for_source``).
Events from different casework streams can arrive in any order, so a status never
moves back: a late ClueDisposed does not undo a CaseFiled.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from libs.events.contracts import Event
from libs.events.contracts.casework import (
    CaseClosed,
    CaseFiled,
    ClueDisposed,
    ClueRegistered,
    NameCleared,
)
from libs.events.contracts.intake import (
    ClueForwarded,
    ClueJurisdictionDesignated,
    ClueProgressNoted,
    ClueReceived,
    ClueTakenUp,
)

STATUSES = {
    "merged": ("已并入", 0),
    "received": ("已接收", 0),
    "registered": ("已登记", 1),
    "disposed": ("已处置", 2),
    "case_filed": ("已立案", 3),
    "closed": ("已办结", 4),
    "name_cleared": ("已澄清正名", 4),
    "forwarded": ("已转办", 5),
}
"""Status -> (label a source reads, how far along it is)."""


def status_label(status: str) -> str:
    """The Chinese label of a status."""
    return STATUSES.get(status, (status, 0))[0]


@dataclass(frozen=True)
class SourceView:
    """A clue as its source may see it."""

    status: str = "received"
    outcome: str | None = None
    updated_at: datetime | None = None


def evolve(view: SourceView, event: Event) -> SourceView:
    """The view after one event of the clue's stream."""
    if isinstance(event, ClueReceived):
        return replace(view, updated_at=view.updated_at or event.received_at)
    if isinstance(event, ClueForwarded):
        # Forwarded (转办) is final for this commission: the source learns where it went.
        return SourceView(
            status="forwarded",
            outcome=forwarded_outcome(event.authority),
            updated_at=event.forwarded_at,
        )
    if isinstance(event, ClueTakenUp):
        # 提级办理 is as final as a forwarding: the source learns who took it up.
        outcome = f"已由{event.authority}提级办理"
        return SourceView(status="forwarded", outcome=outcome, updated_at=event.recorded_at)
    if isinstance(event, ClueJurisdictionDesignated) and not event.here:
        outcome = f"已指定{event.designated_to}管辖"
        return SourceView(status="forwarded", outcome=outcome, updated_at=event.recorded_at)
    if isinstance(event, ClueProgressNoted):
        status = view.status
        if STATUSES.get(event.status, ("", -1))[1] >= STATUSES.get(view.status, ("", 0))[1]:
            status = event.status
        return SourceView(
            status=status,
            outcome=event.outcome_for_source or view.outcome,
            updated_at=event.noted_at,
        )
    return view


def forwarded_outcome(authority: str) -> str:
    """What a source reads when its clue went to another body."""
    return f"已转{authority}办理"


def progress_from(event: Event, at: datetime) -> list[tuple[UUID, ClueProgressNoted]]:
    """Per clue, the progress a casework event means for its source (may be none)."""
    source_event = type(event).type_name
    notes: list[tuple[UUID, str, str | None]] = []
    if isinstance(event, ClueRegistered):
        notes = [(event.clue_id, "registered", None)]
    elif isinstance(event, ClueDisposed):
        notes = [(event.clue_id, "disposed", event.outcome_for_source or None)]
    elif isinstance(event, CaseFiled):
        notes = [(c, "case_filed", None) for c in event.clue_ids]
    elif isinstance(event, CaseClosed):
        notes = [(c, "closed", event.outcome_for_source or None) for c in event.clue_ids]
    elif isinstance(event, NameCleared):
        notes = [(c, "name_cleared", None) for c in event.clue_ids]
    return [
        (
            clue_id,
            ClueProgressNoted(
                clue_id=clue_id,
                status=status,
                outcome_for_source=outcome,
                learned_from=source_event,
                noted_at=at,
            ),
        )
        for clue_id, status, outcome in notes
    ]
