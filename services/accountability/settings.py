"""Accountability's own settings (``ZF_ACCOUNTABILITY_*``) on top of the shared service settings."""

from __future__ import annotations

from pathlib import Path

from libs.kit.settings import ServiceSettings, settings_class


class AccountabilitySettings(ServiceSettings):
    """Accountability's own settings: where its rules live, the re-rating schedule."""

    rules_file: str = ""
    """The deployment's rules (the shipped ``data/rules.json`` when empty)."""
    approvals_file: str = ""
    """The approval policy (default: the shipped ``data/approvals.json``)."""
    workday_overrides_file: str = ""
    """Local holidays and working days on top of China's calendar (approval limits)."""
    run_scheduler: bool = True
    """Notice approval steps, 整改事项 and 建议书 replies that waited past their limit."""
    scheduler_interval_seconds: float = 60.0
    timezone: str = "Asia/Shanghai"
    run_rerating: bool = True
    rerate_interval_seconds: float = 3600.0
    """How often every unit is re-rated, so inputs that leave the window move its level."""
    documents_dir: Path = Path.home() / ".zhengfeng" / "accountability" / "documents"
    """Where issued documents (问责决定书, 通报) live, named by their SHA-256."""
    document_templates_dir: str = ""
    """Templates of the documents, one JSON file per kind (default: the shipped ones)."""
    responsibility_csv_max_bytes: int = 4 * 1024 * 1024
    """Largest CSV of responsibility lists (a county's lists at once); a 413 past it."""
    rectification_file: str = ""
    """整改 periods and labels (default: the shipped data/rectification.json)."""
    run_analysis: bool = True
    """Issue each month's, quarter's and half-year's analysis report once it ends."""
    analysis_interval_seconds: float = 3600.0
    appraisal_file: str = ""
    """The 考核评价 scoring model (default: the shipped data/appraisal.json)."""
    integrity_file: str = ""
    """What a 党风廉政意见回复 may say (default: the shipped data/integrity.json)."""
    analysis_file: str = ""
    """What the analysis reports contain (default: the shipped data/analysis.json)."""
    documents_file: str = ""
    """Which decision issues which document (default: the shipped data/documents.json)."""


Settings = settings_class("accountability", base=AccountabilitySettings)
