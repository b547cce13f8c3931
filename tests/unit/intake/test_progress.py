"""What a partner may learn of its clue from casework's events (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from libs.events.contracts.casework import (
    CaseClosed,
    CaseFiled,
    ClueDisposed,
    DisposalMethod,
    NameCleared,
    Subject,
)
from services.intake.domain.progress import SourceView, evolve, progress_from, status_label

AT = datetime(2026, 3, 2, 9, tzinfo=UTC)
CLUE = uuid4()
SUBJECT = Subject(name="王*", unit="某县财政局")


def disposed(outcome_for_source: str = "已予以了结") -> ClueDisposed:
    return ClueDisposed(
        clue_id=CLUE,
        clue_number="XS-2026-000001",
        method=DisposalMethod.CLOSE,
        outcome="closed",
        outcome_for_source=outcome_for_source,
        decided_by="operator:leader",
        disposed_at=AT,
    )


def filed() -> CaseFiled:
    return CaseFiled(
        case_id=uuid4(),
        case_number="AJ-2026-001",
        clue_ids=[CLUE, uuid4()],
        subject=SUBJECT,
        categories=["violation_gifts"],
        filed_by="operator:leader",
        filed_at=AT,
    )


def view_after(*events: object) -> SourceView:
    view = SourceView()
    for event in events:
        for clue_id, note in progress_from(event, AT):  # type: ignore[arg-type]
            if clue_id == CLUE:
                view = evolve(view, note)
    return view


def test_a_disposal_tells_the_source_only_the_outcome_meant_for_it() -> None:
    view = view_after(disposed("已予以了结"))

    assert (view.status, view.outcome) == ("disposed", "已予以了结")
    assert status_label(view.status) == "已处置"


def test_a_case_filed_from_several_clues_moves_each_of_them() -> None:
    notes = progress_from(filed(), AT)

    assert len(notes) == 2
    assert {n.status for _, n in notes} == {"case_filed"}


def test_a_late_disposal_does_not_move_a_filed_case_back() -> None:
    view = view_after(filed(), disposed("已立案审查"))

    assert view.status == "case_filed"
    assert view.outcome == "已立案审查"


def test_closing_and_clearing_a_name_are_final_states() -> None:
    closed = CaseClosed(
        case_id=uuid4(),
        case_number="AJ-2026-001",
        clue_ids=[CLUE],
        outcome="closed",
        outcome_for_source="已办结，给予党内警告处分",
        closed_at=AT,
    )
    cleared = NameCleared(
        case_id=None, clue_ids=[CLUE], subject=SUBJECT, approved_at=AT, cleared_at=AT
    )

    assert view_after(disposed(), closed).outcome == "已办结，给予党内警告处分"
    assert view_after(disposed(), cleared).status == "name_cleared"
    assert status_label("name_cleared") == "已澄清正名"
