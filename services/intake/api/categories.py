"""问题类别目录: the deployment's taxonomy as a tree, for partners, the public form and clerks.

Read-only and not personal data, so anyone may read it (a partner picks codes for a
transfer, the public report form lists them). Codes of earlier versions are listed with the
code that replaced them, so a partner still sending an old code can see what it means now.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from services.intake.api.deps import IntakeDeps

router = APIRouter(prefix="/v1", tags=["problem categories"])


class ManifestationOut(BaseModel):
    """具体表现."""

    code: str
    label: str


class ClassOut(BaseModel):
    """类别, with its 具体表现."""

    code: str
    label: str
    dining: bool
    """七必问 applies to a case of this class."""
    manifestations: list[ManifestationOut]


class GroupOut(BaseModel):
    """大类."""

    code: str
    label: str
    classes: list[ClassOut]


class TaxonomyOut(BaseModel):
    """The deployment's taxonomy, its version, and the former codes it still accepts."""

    version: str
    groups: list[GroupOut]
    formerly: dict[str, str]


@router.get("/categories", response_model=TaxonomyOut)
async def categories(deps: IntakeDeps) -> TaxonomyOut:
    """问题类别目录: group → class → manifestation, in the file's order."""
    tax = deps.taxonomy
    groups: dict[str, GroupOut] = {}
    for c in tax.classes():
        group = groups.setdefault(c.group, GroupOut(code=c.group, label=c.group_label, classes=[]))
        group.classes.append(
            ClassOut(
                code=c.code,
                label=c.label,
                dining=c.dining,
                manifestations=[
                    ManifestationOut(code=m.code, label=m.label)
                    for m in tax.categories.values()
                    if m.parent == c.code
                ],
            )
        )
    return TaxonomyOut(version=tax.version, groups=list(groups.values()), formerly=tax.formerly)
