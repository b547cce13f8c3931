"""七必问 of one case over HTTP: the questions (data), the answers so far, what is missing.

Answering stays the ``answer_checklist`` command; this read lets a form show each question
by its label and say whether the case must answer them before 移送审理.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter

from libs.kit.service import Store
from libs.kit.timeparams import AsOf
from services.casework.api.deps import CaseworkDeps, Operator
from services.casework.service import read_case

router = APIRouter(prefix="/v1", tags=["cases"])


@router.get("/cases/{case_id}/checklist")
async def get_checklist(
    case_id: UUID, principal: Operator, store: Store, deps: CaseworkDeps, as_of: AsOf = None
) -> dict[str, Any]:
    """The 七必问 of the case: each question with its answer (``null``: not yet), whether the
    case must answer them (a dining case, before 移送审理) and which are still missing."""
    state, _ = await read_case(store, case_id, principal, "checklist", as_of)
    rules = deps.rules
    questions = [
        {"code": code, "label": label, "answer": state.checklist.get(code)}
        for code, label in rules.checklist
    ]
    return {
        "required": rules.checklist_applies(state.categories),
        "questions": questions,
        "missing": [q["code"] for q in questions if not q["answer"]],
        "version": state.version,
    }
