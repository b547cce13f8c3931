"""Operator roles as a clerk names them; the role itself stays the machine value."""

from __future__ import annotations

from collections.abc import Iterable

ROLE_LABELS = {
    "clerk": "信访室",
    "investigator": "承办人",
    "reviewer": "审理室",
    "leader": "分管领导",
    "supervisor": "案件监督管理室",
    "auditor": "审计",
    "analyst": "数据分析",
    "accountability": "党风政风监督室",
    "director": "室主任",
    "secretary": "主要负责人",
    "organisation": "组织部门",
    "admin": "系统管理员",
}
"""How a clerk names an operator role (the role itself stays the machine value)."""


ADMIN = "admin"
"""The role that keeps the directory: operator accounts and partner clients (系统)."""

SCOPE_LABELS = {
    "clue:transfer": "移送线索",
    "source:inspection": "巡察移交",
    "findings:report": "报送巡察发现",
    "hotline:orders": "推送12345工单",
    "events:read": "订阅事件",
}
"""What a partner or system client may be granted, as a clerk names it; besides these,
``feeds:<kind>`` (报送数据：<kind>) for analysis's data feeds."""


def known_scope(scope: str) -> bool:
    """Whether ``scope`` is one the services check (``SCOPE_LABELS`` or ``feeds:<kind>``)."""
    kind = scope.removeprefix("feeds:")
    return scope in SCOPE_LABELS or (
        kind != scope and kind.replace("_", "").isalnum() and kind.isascii() and kind.islower()
    )


def role_names(roles: Iterable[str]) -> str:
    """The roles as a clerk reads them: 「承办人、分管领导」."""
    return "、".join(ROLE_LABELS.get(r, r) for r in roles)


__all__ = ["ADMIN", "ROLE_LABELS", "SCOPE_LABELS", "known_scope", "role_names"]
