"""Casework's own settings (``ZF_CASEWORK_*``)."""

from __future__ import annotations

from libs.kit.settings import ServiceSettings, settings_class


class CaseworkSettings(ServiceSettings):
    """Casework's own settings (``ZF_CASEWORK_*``): where its rules live, the scheduler."""

    limits_file: str = ""
    checklist_file: str = ""
    workday_overrides_file: str = ""
    """Local holidays and working days on top of China's calendar (JSON or CSV)."""
    timezone: str = "Asia/Shanghai"
    run_scheduler: bool = True
    scheduler_interval_seconds: float = 60.0


Settings = settings_class("casework", base=CaseworkSettings)
