"""Public reports without login, and follow-up with a receipt code and a secret.

Nothing internal reaches the reporter: no clue id or number, no handler, no method —
only the status, the outcome casework wrote for the source, and the clerk's messages.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from libs.kit.commands import Commands, IdempotencyKey
from libs.kit.fields import INVALID_RESIDENT_ID, STRIPPED, CategoryCode, stripped
from libs.kit.openapi import refusals
from libs.kit.service import Store
from services.intake.api.deps import IntakeDeps, Settings, VaultDep
from services.intake.api.transfers import PersonIn
from services.intake.service import reports
from services.intake.service.reports import (
    POST_MESSAGE,
    REPORT,
    REPORTER,
    Message,
    MessageOut,
    PublicStatusOut,
    ReceiptOut,
)

router = APIRouter(prefix="/v1", tags=["public reports"])

SecretHeader = Annotated[str, Header(alias="X-Report-Secret", min_length=1, max_length=128)]


class ReporterIn(BaseModel):
    """A real-name reporter's contact details (sealed under their own key)."""

    model_config = STRIPPED

    name: str = Field(min_length=1, max_length=50)
    phone: str = Field(min_length=5, max_length=20, pattern=r"^[0-9+\-() ]+$")


class ReportIn(BaseModel):
    """A report (举报) from a member of the public."""

    model_config = stripped(
        one_of=[
            {
                "properties": {
                    "anonymous": {"const": True},
                    "reporter": {"type": "null"},
                    "secret": {"type": "string"},
                },
                "required": ["secret"],
            },
            {
                "properties": {"anonymous": {"const": False}, "reporter": {"type": "object"}},
                "required": ["reporter"],
            },
        ]
    )

    anonymous: bool
    reporter: ReporterIn | None = None
    secret: str | None = Field(
        default=None,
        min_length=8,
        max_length=128,
        pattern=r"^[\x21-\x7e]+$",
        description="Chosen to follow up later; sent back in the X-Report-Secret header, "
        "so printable ASCII without spaces",
    )
    reported_persons: list[PersonIn] = Field(min_length=1, max_length=20)
    categories: list[CategoryCode] = Field(min_length=1, max_length=20)
    narrative: str = Field(min_length=1, max_length=20000)
    place: str | None = Field(default=None, max_length=200)
    occurred_from: date | None = None
    occurred_to: date | None = None


class MessageIn(BaseModel):
    """A message to the other side."""

    model_config = STRIPPED

    text: str = Field(min_length=1, max_length=5000)


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post(
    "/reports",
    status_code=201,
    response_model=ReceiptOut,
    responses=refusals(INVALID_RESIDENT_ID),
)
async def file_public_report(
    body: ReportIn,
    request: Request,
    commands: Commands,
    deps: IntakeDeps,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """File a report without logging in; rate-limited per client address.

    A report on a matter already open is merged into that clue as a repeat report; the
    reporter's receipt works the same, and the status reads 已并入.
    """
    address = _address(request)
    await reports.admit(deps, address, body)
    return await commands.run(
        REPORT, None, body, reports.public(address), idempotency_key=idempotency_key
    )


@router.get("/reports/{code}", response_model=PublicStatusOut)
async def report_status(
    code: str, secret: SecretHeader, store: Store, settings: Settings
) -> PublicStatusOut:
    """The public status of a report, with the receipt code and the secret."""
    clue_id = await reports.unlock(store, settings, code, secret)
    return await reports.report_status(store, clue_id, code)


@router.get("/reports/{code}/messages", response_model=list[MessageOut])
async def reporter_reads_messages(
    code: str, secret: SecretHeader, store: Store, vault: VaultDep, settings: Settings
) -> list[MessageOut]:
    """The conversation with the intake clerk."""
    clue_id = await reports.unlock(store, settings, code, secret)
    return await reports.conversation(store, vault, clue_id)


@router.post("/reports/{code}/messages", status_code=201, response_model=list[MessageOut])
async def reporter_writes(
    code: str,
    body: MessageIn,
    secret: SecretHeader,
    store: Store,
    vault: VaultDep,
    settings: Settings,
    commands: Commands,
) -> list[MessageOut]:
    """Write to the intake clerk; answers with the whole conversation."""
    clue_id = await reports.unlock(store, settings, code, secret)
    await commands.execute(
        POST_MESSAGE, clue_id, Message(text=body.text, author="reporter"), REPORTER
    )
    return await reports.conversation(store, vault, clue_id)
