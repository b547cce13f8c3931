"""Intake's HTTP API: partner clue transfers (线索移送) and their follow-up."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from libs.kit.commands import Commands, IdempotencyKey
from libs.kit.fields import (
    DATE_ORDER,
    INVALID_RESIDENT_ID,
    RESIDENT_ID_PATTERN,
    STRIPPED,
    CategoryCode,
)
from libs.kit.openapi import refusals
from libs.kit.pagination import Page
from libs.kit.service import ReadConnection, Store
from services.intake import queries
from services.intake.api.deps import IntakeDeps
from services.intake.api.deps import Partner as _Partner
from services.intake.domain import resident_id_problem
from services.intake.domain.progress import status_label
from services.intake.queries import TransferFilter
from services.intake.service import transfers
from services.intake.service.transfers import TRANSFER, TransferOut

router = APIRouter(prefix="/v1", tags=["clue transfers"])

Partner = _Partner


class PersonIn(BaseModel):
    """被反映人 as the partner describes them."""

    model_config = STRIPPED

    name: str = Field(min_length=1, max_length=50)
    # The form is stated in the document; the validator below refuses in the clerk's words.
    id_number: Annotated[str, Field(json_schema_extra={"pattern": RESIDENT_ID_PATTERN})] | None = (
        Field(
            default=None,
            description="18-digit resident ID number (公民身份号码); its date of birth and "
            "check character are checked by GB 11643 (invalid-resident-id)",
        )
    )
    unit: str = Field(min_length=1, max_length=100)
    post: str | None = Field(default=None, max_length=100)
    rank: str | None = Field(default=None, max_length=50, description="级别")
    top_leader: bool = Field(default=False, description="一把手")
    key_minority: bool = Field(default=False, description="关键少数")

    @field_validator("id_number")
    @classmethod
    def _resident_id(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.upper()
        if (why := resident_id_problem(value)) is not None:
            # A check the schema cannot state: refused with a type of its own.
            raise PydanticCustomError(INVALID_RESIDENT_ID[1], f"不是有效的公民身份号码：{why}")
        return value


class AttachmentIn(BaseModel):
    """An attachment uploaded before through ``POST /v1/attachments``."""

    model_config = ConfigDict(extra="forbid")

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class ClueTransferIn(BaseModel):
    """A clue transfer (线索移送) as a partner department sends it."""

    model_config = STRIPPED

    reference: str = Field(
        min_length=1, max_length=64, description="The partner's own reference number"
    )
    reported_persons: list[PersonIn] = Field(min_length=1, max_length=50)
    categories: list[CategoryCode] = Field(
        min_length=1, max_length=20, description="Codes of the problem-category taxonomy"
    )
    narrative: str = Field(min_length=1, max_length=20000)
    urgency: Literal["normal", "urgent", "very_urgent"] = Field(
        default="normal", description="一般 / 紧急 / 特急"
    )
    occurred_from: date | None = Field(default=None, description="When the matter began")
    occurred_to: date | None = Field(default=None, description="When it ended, if it did")
    place: str | None = Field(default=None, max_length=200)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _period(self) -> ClueTransferIn:
        if self.occurred_from and self.occurred_to and self.occurred_to < self.occurred_from:
            raise PydanticCustomError(
                DATE_ORDER[1], "结束日期（occurred_to）早于开始日期（occurred_from）"
            )
        return self


@router.post(
    "/clue-transfers",
    status_code=201,
    response_model=TransferOut,
    responses=refusals(
        INVALID_RESIDENT_ID,
        DATE_ORDER,
        (422, "unknown-attachment", "附件尚未上传（sha256 不是已上传的附件）"),
    ),
)
async def transfer_clue(
    body: ClueTransferIn,
    partner: Partner,
    commands: Commands,
    deps: IntakeDeps,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Receive a clue from a partner department; a retry returns the original answer.

    A transfer on a matter already open (same person, a shared category, within the
    window) is merged into that clue as a repeat report: the answer has its own id, number
    and status URL, with status ``merged`` (已并入).
    """
    transfers.admit(partner, body, deps.taxonomy)
    return await commands.run(TRANSFER, None, body, partner, idempotency_key=idempotency_key)


@router.get("/clue-transfers/{clue_id}", response_model=TransferOut)
async def get_transfer(clue_id: UUID, partner: Partner, store: Store) -> Any:
    """A transfer's status and outcome; another department's clue is not found."""
    return await transfers.transfer_of(store, clue_id, partner.department)


@router.get("/clue-transfers", response_model=Page[TransferOut])
async def list_transfers(
    partner: Partner,
    conn: ReadConnection,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    status: str | None = None,
) -> Page[TransferOut]:
    """The department's own transfers, oldest first, cursor-paginated."""
    where = TransferFilter(department=partner.department, status=status)
    rows, next_cursor = await queries.transfers(conn, where, cursor, limit)
    items = [
        TransferOut(
            clue_id=r["clue_id"],
            clue_number=r["clue_number"],
            reference=r["reference"],
            status=r["status"],
            status_label=status_label(r["status"]),
            outcome=r["outcome"],
            categories=r["categories"],
            received_at=r["received_at"],
            updated_at=r["updated_at"],
            status_url=transfers.status_url(r["clue_id"]),
        )
        for r in rows
    ]
    return Page[TransferOut](items=items, next_cursor=next_cursor)
