"""Intake's own settings (``ZF_INTAKE_*``) on top of the shared service settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from libs.kit.settings import ServiceSettings, settings_class
from services.intake.domain.duplicates import DEFAULT_RULES


class IntakeSettings(ServiceSettings):
    """Limits and places an operator changes without touching code."""

    refresh_token_ttl_seconds: int = 8 * 3600
    """An operator's login lasts at most this long, however often its access token is
    renewed (the console's absolute session maximum)."""
    attachment_max_bytes: int = 20 * 1024 * 1024
    """Largest attached file; its upload request may be larger by its form's framing."""
    attachment_types: list[str] = Field(
        default_factory=lambda: [
            "application/pdf",
            "image/jpeg",
            "image/png",
            "text/plain",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "audio/mpeg",
            "video/mp4",
        ]
    )
    attachments_dir: Path = Path.home() / ".zhengfeng" / "intake" / "attachments"
    """Where attachment files live, named by their SHA-256 (outside the event store)."""
    reports_per_address_per_hour: int = 10
    """Public reports one client address may file in an hour."""
    report_secret_max_failures: int = 5
    """Wrong secrets for one receipt code before it is locked for a while."""
    report_lock_seconds: int = 900
    report_acknowledge_workdays: int = 15
    """Real-name reporters are told of acceptance within this many working days."""
    jurisdiction_file: str = ""
    """The unit registry (单位管辖名录, CSV); empty means the shipped example."""
    cadre_rules_file: str = ""
    """干部管理权限 (JSON: rank ladder and rules); empty means the national default."""
    forward_workdays: int = 5
    """A clue outside this commission's jurisdiction is forwarded within this many working days."""
    workday_overrides_file: str = ""
    """Local holidays and working days on top of China's calendar (see libs/kit/workdays.py)."""
    escalate_to: str = "supervisor"
    """Who an overdue intake limit is escalated to (the 信访室 supervisor's account or role)."""
    run_scheduler: bool = True
    """Run the intake deadline scheduler (forwarding, acknowledgement) in this process."""
    scheduler_interval_seconds: float = 60.0
    timezone: str = "Asia/Shanghai"
    """Whose calendar day decides when a limit has passed."""
    pii_vault_schema: str = "pii_vault"
    """Schema of the shared personal-data vault (see libs/events/pii.py)."""
    pii_reveal_roles: list[str] = Field(
        default_factory=lambda: ["investigator", "leader", "auditor"]
    )
    """Operator roles that may read personal data unmasked (each read is recorded)."""
    duplicate_rules_file: Path = DEFAULT_RULES
    """重复件 rules: the window, how persons match, how repeats raise priority."""
    duplicate_window_days: int | None = None
    """Overrides the rules file's ``window_days`` when set (``ZF_INTAKE_DUPLICATE_WINDOW_DAYS``)."""


Settings = settings_class("intake", base=IntakeSettings)
