"""Rule versions, pure: a rule's data as its stream says, and the next version of it."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from libs.events.contracts import Event
from libs.events.contracts.analysis import AlertLevel, RuleVersionPublished
from libs.kit.fields import CategoryCode
from libs.kit.refusal import Refused
from services.analysis.rules.base import RuleVersion, coerce_params


class NewVersion(BaseModel):
    """Changed parameters (others keep their current values), and why."""

    params: dict[str, Any] = Field(
        default_factory=dict, description="参数名及新值；可用的参数因规则而异（GET /v1/rules）"
    )
    level: AlertLevel | None = None
    category: CategoryCode | None = None
    enabled: bool | None = None
    reason: str = Field(min_length=1, max_length=2000)


def rule_stream(rule_id: str) -> str:
    """The stream of one rule's versions."""
    return f"rule-{rule_id}"


def evolve(current: RuleVersion | None, event: Event) -> RuleVersion | None:
    """A rule's data after one of its events: the version it published."""
    if not isinstance(event, RuleVersionPublished):
        return current
    return RuleVersion(
        rule_id=event.rule_id,
        version=event.rule_version,
        params=dict(event.params),
        level=event.level,
        category=event.category,
        enabled=event.enabled,
        reason=event.reason,
        published_by=event.published_by,
        published_at=event.published_at,
    )


def publish(
    current: RuleVersion,
    change: NewVersion,
    *,
    categories: Collection[str],
    actor: str,
    now: datetime,
) -> RuleVersionPublished:
    """The next version of a rule: the changed parameters checked against the current
    ones, everything not changed kept. Past alerts keep the version that raised them."""
    if change.category is not None and change.category not in categories:
        raise Refused(
            "unknown-category",
            f"问题类别目录中没有「{change.category}」",
            field="category",
            title="问题类别不存在",
        )
    return RuleVersionPublished(
        rule_id=current.rule_id,
        rule_version=current.version + 1,
        params=coerce_params(current.params, change.params),
        level=change.level or current.level,
        category=change.category or current.category,
        enabled=current.enabled if change.enabled is None else change.enabled,
        reason=change.reason,
        published_by=actor,
        published_at=now,
    )
