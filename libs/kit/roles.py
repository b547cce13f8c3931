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
}
"""How a clerk names an operator role (the role itself stays the machine value)."""


def role_names(roles: Iterable[str]) -> str:
    """The roles as a clerk reads them: 「承办人、分管领导」."""
    return "、".join(ROLE_LABELS.get(r, r) for r in roles)


__all__ = ["ROLE_LABELS", "role_names"]
