"""What casework's routes get: who may call them, and the service's own dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from libs.kit.auth import Principal, require_roles
from services.casework.policy import DIRECTOR, LEADER, OFFICER, REVIEWER, SECRETARY, SUPERVISOR
from services.casework.service import Deps

Operator = Annotated[
    Principal,
    require_roles("clerk", SUPERVISOR, OFFICER, REVIEWER, LEADER, DIRECTOR, SECRETARY, "auditor"),
]
"""Anyone who works on clues and cases; what each may see is narrowed by the policy."""


async def _deps(request: Request) -> Deps:  # a coroutine: not run in a worker thread
    deps: Deps = request.app.state.deps
    return deps


CaseworkDeps = Annotated[Deps, Depends(_deps)]
"""The rules and the vault, built by ``app.create``."""
