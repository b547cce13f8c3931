"""Accountability's service layer: the aggregates and commands the pipeline runs, and the
orchestration a read or a job needs beyond one query."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine

from libs.events import pii
from libs.events.measures import Catalogue
from libs.events.measures import load as load_measures
from libs.events.taxonomy import Taxonomy
from libs.kit import workdays
from services.accountability.domain.analysis import AnalysisRules, load_analysis_rules
from services.accountability.domain.appraisal import AppraisalModel, load_appraisal_model
from services.accountability.domain.integrity import IntegrityRules, load_integrity_rules
from services.accountability.domain.rectification import RectificationRules
from services.accountability.domain.rectification import load_rules as load_rectification
from services.accountability.domain.rules import Rules
from services.accountability.domain.surveys import load_questionnaires

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
    calendar: workdays.WorkCalendar = field(default_factory=workdays.load)
    """Working days (整改时限, 建议书 reply deadlines)."""
    rectification: RectificationRules = field(default_factory=load_rectification)
    """整改 periods and labels (``data/rectification.json``)."""
    analysis: AnalysisRules = field(default_factory=load_analysis_rules)
    """What the periodic analysis reports contain (``data/analysis.json``)."""
    measures: Catalogue = field(default_factory=load_measures)
    """The measures catalogue: each sanction's 影响期 (``libs/events/data/measures.json``)."""
    integrity: IntegrityRules = field(default_factory=load_integrity_rules)
    """What a 党风廉政意见回复 may say (``data/integrity.json``)."""
    appraisal: AppraisalModel = field(default_factory=load_appraisal_model)
    """The 考核评价 scoring model (``data/appraisal.json``)."""
    questionnaires: dict[str, Any] = field(default_factory=load_questionnaires)
    """民主评议 questionnaires by code (``data/surveys.json``)."""

    async def start(self, engine: AsyncEngine) -> None:
        """Open the vault (its tables made if missing)."""
        self.vault = pii.Vault.from_env(engine)
        await self.vault.ensure()
