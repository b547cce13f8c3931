"""处分处置措施目录 over HTTP: which measures each 形态 allows, for the decision forms.

Read-only data (``libs/events/data/measures.json`` or the deployment's file), the same
catalogue ``review_opinion``, ``decide`` and ``decide_appeal`` check against.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.casework.api.deps import CaseworkDeps, Operator

router = APIRouter(prefix="/v1", tags=["measures"])


class MeasureOut(BaseModel):
    """One measure: its code, label, kind, forms, who decides it and its 影响期."""

    code: str
    label: str
    kind: str
    kind_label: str
    forms: list[int]
    authority: str
    authority_label: str
    effect_months: int | None
    permanent: bool
    probation_months: int | None
    basis: str


class CatalogueOut(BaseModel):
    """The catalogue's version, the forms' labels and the measures (of one form if asked)."""

    version: str
    forms: dict[int, str]
    measures: list[MeasureOut]


@router.get("/measures", response_model=CatalogueOut)
async def measures(
    deps: CaseworkDeps,
    principal: Operator,
    form: Annotated[int | None, Query(ge=1, le=4, description="只列出该形态可选的措施")] = None,
) -> CatalogueOut:
    """处分处置措施目录, in the file's order; ``form`` keeps the measures of one 形态."""
    c = deps.rules.measures
    chosen = c.of_form(form) if form else list(c.measures.values())
    return CatalogueOut(
        version=c.version,
        forms=c.forms,
        measures=[
            MeasureOut(
                code=m.code,
                label=m.label,
                kind=m.kind.code,
                kind_label=m.kind.label,
                forms=sorted(m.forms),
                authority=m.authority,
                authority_label=c.authorities.get(m.authority, m.authority),
                effect_months=m.effect_months,
                permanent=m.permanent,
                probation_months=m.probation_months,
                basis=m.basis,
            )
            for m in chosen
        ],
    )
