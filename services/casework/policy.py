"""Who may give which command (roles and assignment), pure."""

from __future__ import annotations

from libs.kit.auth import Principal
from libs.kit.roles import role_names
from services.casework.domain import CaseState
from services.casework.domain.decide import command_label

OFFICER = "investigator"
REVIEWER = "reviewer"
LEADER = "leader"
SUPERVISOR = "supervisor"
DIRECTOR = "director"
"""室主任: heads an office; reviews its proposals (室主任审核)."""
SECRETARY = "secretary"
"""主要负责人/书记: signs key matters and records the 常委会's collective decisions."""

ROLES: dict[str, frozenset[str]] = {
    "assign": frozenset({LEADER, SUPERVISOR}),
    # Decisions with an approval chain (data/approvals.json) are proposed by the office
    # that handles the matter (拟办); the chain's roles approve them.
    "dispose": frozenset({OFFICER}),
    "conclude_verification": frozenset({OFFICER}),
    "file_case": frozenset({OFFICER}),
    "find_unfounded": frozenset({OFFICER}),
    "clear_name": frozenset({OFFICER}),
    "extend_verification": frozenset({LEADER}),
    "extend_investigation": frozenset({LEADER}),
    "transfer_for_review": frozenset({OFFICER}),
    "extend_review": frozenset({REVIEWER}),
    "review_opinion": frozenset({REVIEWER}),
    "decide": frozenset({REVIEWER, OFFICER}),
    "decide_appeal": frozenset({LEADER}),
    "list_for_supervision": frozenset({SUPERVISOR}),
    "assign_task": frozenset({SUPERVISOR, LEADER}),
    "track_task": frozenset({SUPERVISOR}),
    "revisit_task": frozenset({SUPERVISOR}),
}
"""Commands reserved to roles; any other is the assigned officer's (承办人)."""

ASSIGNED_ONLY = frozenset({OFFICER})
"""Roles that act only on matters assigned to them."""


def refusal(principal: Principal, command: str, state: CaseState) -> str | None:
    """Why ``principal`` may not give ``command`` on this matter, or ``None`` when they may."""
    needed = ROLES.get(command, frozenset({OFFICER, LEADER}))
    held = principal.roles & needed
    if not held:
        return f"「{command_label(command)}」须由以下角色之一办理：{role_names(sorted(needed))}"
    if held <= ASSIGNED_ONLY and state.officer != principal.subject:
        if state.officer is None:
            return "本事项尚未分办承办人，不能由您办理"
        return f"本事项的承办人是 {state.officer}，不是您"
    return None


def may_read(principal: Principal, state: CaseState) -> bool:
    """Supervisors see their jurisdiction (their department); officers their own matters."""
    if principal.roles & {LEADER, REVIEWER, DIRECTOR, SECRETARY, "auditor"}:
        return True
    if SUPERVISOR in principal.roles and (
        principal.department is None
        or principal.department == state.department
        or state.supervisor == principal.subject
    ):
        return True
    if OFFICER in principal.roles and state.officer == principal.subject:
        return True
    return "clerk" in principal.roles and state.case_number is None
