"""Intake's service layer: the aggregates and commands the pipeline runs, and the reads that
must record or lock in one transaction.

- ``receive``: the one receive path of a clue, and the sources that share it: partner
  transfers (``transfers``, 部门移送), public reports (``reports``, 信访举报, with the
  reporter's way back) and 12345 orders (``hotline``);
- ``repeats``: repeat reports (重复件) in the receive path, and splitting a wrong merge (拆分);
- ``jurisdiction``: 管辖 and 转办, the clerks' decisions on whose a clue is;
- ``clues``: operators opening a clue (each read recorded) and the acceptance notice (受理告知).

``Deps`` is what they need besides the store, built once by ``app.create``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from libs.events.pii import Vault
from libs.events.taxonomy import Taxonomy
from services.intake.domain.duplicates import DuplicateRules
from services.intake.domain.jurisdiction import JurisdictionRules
from services.intake.ratelimit import SharedWindow
from services.intake.settings import IntakeSettings


@dataclass
class Deps:
    """Intake's own dependencies: its settings, the taxonomy and the rules loaded from data
    at start, the public reports' rate limit, and the personal-data vault (opened when the
    service starts)."""

    settings: IntakeSettings
    taxonomy: Taxonomy
    duplicate_rules: DuplicateRules
    jurisdiction: JurisdictionRules
    report_limiter: SharedWindow
    _vault: Vault | None = None
    _engine: AsyncEngine | None = None

    @property
    def vault(self) -> Vault:
        """The personal-data vault (see ``libs/events/pii.py``)."""
        assert self._vault is not None, "the vault opens when the service starts"
        return self._vault

    @property
    def engine(self) -> AsyncEngine:
        """The service's database engine (set when the service starts)."""
        assert self._engine is not None, "the engine is set when the service starts"
        return self._engine

    async def start(self, engine: AsyncEngine) -> None:
        """Open what needs the database: the vault (its tables made if missing)."""
        self._engine = engine
        self._vault = Vault.from_env(engine, self.settings.pii_vault_schema)
        await self._vault.ensure()
