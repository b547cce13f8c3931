"""Accountability's service layer: the aggregates and commands the pipeline runs, and the
orchestration a read or a job needs beyond one query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from libs.events import pii
from libs.events.taxonomy import Taxonomy
from services.accountability.domain.rules import Rules

if TYPE_CHECKING:
    from services.accountability.service.documents import InquiryDocuments


@dataclass
class Deps:
    """What accountability's commands, reads and jobs need besides the store, loaded once
    by ``app.create``: its rules and the deployment's problem categories; the
    personal-data vault, opened when the service starts."""

    rules: Rules
    taxonomy: Taxonomy
    documents: InquiryDocuments | None = None
    """Templates and where issued documents go (``None``: issue none)."""
    vault: pii.Vault | None = None

    async def start(self, engine: AsyncEngine) -> None:
        """Open the vault (its tables made if missing)."""
        self.vault = pii.Vault.from_env(engine)
        await self.vault.ensure()
