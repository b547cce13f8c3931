"""Dependencies the analysis endpoints share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from libs.kit.auth import Principal, require_roles
from services.analysis.engine import Engine

Operator = Annotated[
    Principal, require_roles("clerk", "supervisor", "investigator", "analyst", "leader", "auditor")
]
Analyst = Annotated[Principal, require_roles("analyst", "supervisor")]
Verifier = Annotated[Principal, require_roles("investigator", "analyst", "supervisor")]


def get_engine(request: Request) -> Engine:
    """The rule engine of this service (built at start)."""
    engine: Engine = request.app.state.rule_engine
    return engine


RuleEngine = Annotated[Engine, Depends(get_engine)]
