"""Analysis's own settings (``ZF_ANALYSIS_*``)."""

from __future__ import annotations

from libs.kit.settings import ServiceSettings, settings_class


class AnalysisSettings(ServiceSettings):
    """Analysis's own settings."""

    timezone: str = "Asia/Shanghai"
    """The county's time zone: holidays, working hours and months are local."""
    sweep_interval_seconds: float = 600.0
    """How often rules over data that arrives as events (12345 orders) re-run; 0 = never."""
    sweep_days: int = 62
    """How far back the sweep looks."""
    feed_batch_max_bytes: int = 1024 * 1024 * 1024
    """Largest feed batch (as sent, maybe gzip); it streams through, counted as it comes."""
    workday_overrides_file: str = ""
    """Local holidays and working days on top of China's calendar (see libs/kit/workdays.py);
    the holiday rules read this calendar unless a ``holidays`` feed overrides a day."""


Settings = settings_class("analysis", base=AnalysisSettings)
