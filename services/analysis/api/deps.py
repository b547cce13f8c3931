"""Dependencies the analysis endpoints share: who may call them, and the service's deps."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from libs.kit.auth import Principal, require_roles
from services.analysis.engine import Engine
from services.analysis.service import Deps

Operator = Annotated[
    Principal, require_roles("clerk", "supervisor", "investigator", "analyst", "leader", "auditor")
]
Analyst = Annotated[Principal, require_roles("analyst", "supervisor")]
Verifier = Annotated[Principal, require_roles("investigator", "analyst", "supervisor")]


async def get_deps(request: Request) -> Deps:
    """Analysis's dependencies (built by ``app.create``); coroutines, as the one below, so that
    FastAPI does not run them in a worker thread."""
    deps: Deps = request.app.state.deps
    return deps


async def get_engine(request: Request) -> Engine:
    """The rule engine of this service (bound at start)."""
    deps: Deps = request.app.state.deps
    return deps.rules


AnalysisDeps = Annotated[Deps, Depends(get_deps)]
RuleEngine = Annotated[Engine, Depends(get_engine)]
