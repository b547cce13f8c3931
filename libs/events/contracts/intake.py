"""Events intake publishes: the clue contracts every other service consumes."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from libs.events.contracts import Event, registry


class ReportedPerson(BaseModel):
    """A person a clue is about (被反映人)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    unit: str
    post: str | None = None
    id_number: str | None = None


@registry.register
class ClueReceived(Event):
    """线索已接收: a clue entered the commission through intake."""

    type_name = "zhengfeng.intake.clue_received"
    version = 2

    clue_id: UUID
    clue_number: str
    source_kind: str
    source_department: str | None = None
    source_reference: str | None = None
    reported_persons: list[ReportedPerson]
    categories: list[str]
    narrative: str
    received_at: datetime


@registry.upcaster(ClueReceived.type_name, from_version=1)
def _clue_received_v1_to_v2(data: dict[str, object]) -> dict[str, object]:
    # v1 carried a single "department" and no source kind: every v1 clue was a transfer.
    data["source_kind"] = "partner_transfer"
    data["source_department"] = data.pop("department", None)
    return data
