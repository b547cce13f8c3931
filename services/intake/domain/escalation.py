"""提级办理与指定管辖: a higher commission's decisions on whose a clue is. Pure.

Both are decisions of a higher body that the clerk records from its document (a decision
number is required), on the clue's jurisdiction stream beside the registry's findings and
the clerks' own decisions — one place answers "whose is this clue":

* 提级办理 (``ClueTakenUp``): the higher commission takes the matter up itself; the clue
  leaves, whatever this commission had decided about it;
* 指定管辖 (``ClueJurisdictionDesignated``): the higher commission names the commission
  that handles it — this one (the clue stays, a pending forwarding is called off) or
  another (the clue leaves for it).

A clue already sent away (转办, 提级, 指定他机关) cannot be sent again.
"""

from __future__ import annotations

from datetime import datetime

from libs.events.contracts import Event
from libs.events.contracts.intake import ClueJurisdictionDesignated, ClueTakenUp
from libs.kit.refusal import Refused
from services.intake.domain.jurisdiction import ClueJurisdiction, clue_id_of, ensure_still_here


def take_up(
    state: ClueJurisdiction,
    *,
    authority: str,
    decision_number: str,
    reason: str,
    actor: str,
    now: datetime,
) -> list[Event]:
    """提级办理: record that ``authority`` (a higher commission) took the matter up."""
    ensure_still_here(state)
    return [
        ClueTakenUp(
            clue_id=clue_id_of(state),
            clue_number=state.clue_number,
            authority=authority,
            decision_number=decision_number,
            reason=reason,
            recorded_by=actor,
            recorded_at=now,
        )
    ]


def designate(
    state: ClueJurisdiction,
    *,
    designated_by: str,
    designated_to: str,
    here: bool,
    decision_number: str,
    reason: str,
    actor: str,
    now: datetime,
) -> list[Event]:
    """指定管辖: record the higher commission's designation of who handles the matter."""
    ensure_still_here(state)
    if not here and designated_to == designated_by:
        raise Refused(
            "designated-to-itself",
            f"{designated_by}指定由其自身办理的，属提级办理，请按提级办理登记。",
            field="designated_to",
            reason="指定管辖的机关不能是作出指定的机关本身",
            title="请按提级办理登记",
        )
    if here and state.status == "designated_here":
        raise Refused(
            "already-designated-here",
            f"线索 {state.clue_number} 已指定由本委管辖。",
            kind="conflict",
            title="线索已指定本委管辖",
        )
    return [
        ClueJurisdictionDesignated(
            clue_id=clue_id_of(state),
            clue_number=state.clue_number,
            designated_by=designated_by,
            designated_to=designated_to,
            here=here,
            decision_number=decision_number,
            reason=reason,
            recorded_by=actor,
            recorded_at=now,
        )
    ]
