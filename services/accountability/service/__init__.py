"""Accountability's service layer: the aggregates and commands the pipeline runs, and the
orchestration a read or a job needs beyond one query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from libs.events.taxonomy import Taxonomy
from services.accountability.domain.rules import Rules

if TYPE_CHECKING:
    from services.accountability.service.documents import InquiryDocuments


@dataclass(frozen=True)
class Deps:
    """What accountability's commands, reads and jobs need besides the store, loaded once
    by ``app.create``: its rules and the deployment's problem categories."""

    rules: Rules
    taxonomy: Taxonomy
    documents: InquiryDocuments | None = None
    """Templates and where issued documents go (``None``: issue none)."""
