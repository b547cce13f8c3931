"""Casework's own settings (``ZF_CASEWORK_*``)."""

from __future__ import annotations

from pathlib import Path

from libs.kit.settings import ServiceSettings, settings_class


class CaseworkSettings(ServiceSettings):
    """Casework's own settings (``ZF_CASEWORK_*``): where its rules live, the scheduler."""

    limits_file: str = ""
    limits_variant: str = ""
    """A local variant of the limits file (its ``variants``), e.g. ``verification_15_working_days``."""
    checklist_file: str = ""
    approvals_file: str = ""
    """The approval policy (default: the shipped ``data/approvals.json``)."""
    workday_overrides_file: str = ""
    """Local holidays and working days on top of China's calendar (JSON or CSV)."""
    timezone: str = "Asia/Shanghai"
    run_scheduler: bool = True
    scheduler_interval_seconds: float = 60.0
    documents_dir: Path = Path.home() / ".zhengfeng" / "casework" / "documents"
    """Where issued documents (文书) live, named by their SHA-256 (outside the event store)."""
    document_templates_dir: str = ""
    """Templates of the documents, one JSON file per kind (default: the shipped ones)."""
    documents_file: str = ""
    """Which decision issues which document (default: the shipped data/documents.json)."""


Settings = settings_class("casework", base=CaseworkSettings)
