"""Official documents (文书) a decision issued and their service (送达), on the matter's stream.

Casework and accountability record them on their own matters' streams, as one family
(``zhengfeng.documents.*``) that each service's AsyncAPI lists on its own channel. An event names the document (kind, 文号, title), the file (SHA-256, size, media
type) and what it was rendered from (template version, the matter's version): rendering
that version again gives the same bytes. It never carries a person's name — the document
takes names from the sealed state through the vault when it is rendered.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from libs.events.contracts import Event, registry


class ServiceManner(StrEnum):
    """送达方式: how a document reached the person it concerns."""

    DIRECT = "direct"
    """直接送达"""
    LEFT = "left"
    """留置送达"""
    POST = "post"
    """邮寄送达"""
    ELECTRONIC = "electronic"
    """电子送达"""
    ENTRUSTED = "entrusted"
    """委托送达"""
    PUBLIC_NOTICE = "public_notice"
    """公告送达"""

    @property
    def label(self) -> str:
        """What a clerk reads."""
        return _MANNER_LABELS[self]


_MANNER_LABELS = {
    ServiceManner.DIRECT: "直接送达",
    ServiceManner.LEFT: "留置送达",
    ServiceManner.POST: "邮寄送达",
    ServiceManner.ELECTRONIC: "电子送达",
    ServiceManner.ENTRUSTED: "委托送达",
    ServiceManner.PUBLIC_NOTICE: "公告送达",
}


@registry.register
class DocumentIssued(Event):
    """文书制发: a decision issued its numbered document (立案决定书, 问责决定书…)."""

    type_name = "zhengfeng.documents.document_issued"
    version = 1

    document_id: UUID
    matter_id: UUID
    """The case (or inquiry) whose stream the event is on."""
    kind: str
    """The template's kind, e.g. ``filing_decision``."""
    number: str
    """发文字号, e.g. ``青纪立〔2026〕3号``."""
    year: int
    sequence: int
    title: str
    command: str
    """The decision that issued it."""
    media_type: str
    sha256: str
    size: int
    template_version: str
    matter_version: int
    """The matter's version the document was rendered from."""
    issued_at: datetime


@registry.register
class DocumentServed(Event):
    """送达: a document reached the person it concerns; clocks that count from service
    (the time to apply for 复审, 政务处分 served within 1 month) start here."""

    type_name = "zhengfeng.documents.document_served"
    version = 1

    document_id: UUID
    matter_id: UUID
    kind: str
    number: str
    served_on: date
    manner: ServiceManner
    recorded_by: str
    recorded_at: datetime
