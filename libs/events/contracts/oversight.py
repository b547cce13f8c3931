"""Events of accountability's long-term mechanisms (长效机制): periodic analysis reports,
考核评价 with 民主评议, and the 廉政档案 the organisation department asks for.

Statistics systems and the level above subscribe to ``analysis_report_issued``; the
organisation department's cadre files to ``integrity_reply_issued``. A cadre is named
only by sealed tokens, their pseudonym and blind index (``libs/events/pii.py``); a survey
answer carries no respondent and no token.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from libs.events.contracts import Event, registry


@registry.register
class AnalysisReportIssued(Event):
    """定期分析报告: the analysis of one month, quarter or half-year, issued once."""

    type_name = "zhengfeng.accountability.analysis_report_issued"
    version = 1

    report_id: UUID
    period: str
    """``2026-10`` (月), ``2026-Q3`` (季), ``2026-H1`` (半年)."""
    kind: str
    """``month`` / ``quarter`` / ``half_year``."""
    label: str
    """2026年第三季度."""
    first_day: date
    last_day: date
    figures: dict[str, Any]
    """The counts, distributions, trends and the 八项规定精神 table, as the report shows them."""
    summary: list[str]
    """The report's paragraphs in Chinese."""
    rules_version: str
    issued_by: str
    issued_at: datetime
