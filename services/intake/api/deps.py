"""Dependency aliases the intake endpoints share."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from libs.events.pii import Vault
from libs.kit.auth import Principal, require_scopes
from services.intake.service import Deps
from services.intake.settings import IntakeSettings

# Coroutines: FastAPI runs a plain function dependency in a worker thread.


async def get_deps(request: Request) -> Deps:
    """FastAPI dependency: intake's own dependencies, built by ``app.create``."""
    return cast(Deps, request.app.state.deps)


async def get_settings(request: Request) -> IntakeSettings:
    """FastAPI dependency: intake's settings."""
    return cast(Deps, request.app.state.deps).settings


async def get_vault(request: Request) -> Vault:
    """FastAPI dependency: the personal-data vault."""
    return cast(Deps, request.app.state.deps).vault


IntakeDeps = Annotated[Deps, Depends(get_deps)]
VaultDep = Annotated[Vault, Depends(get_vault)]
Settings = Annotated[IntakeSettings, Depends(get_settings)]
Partner = Annotated[Principal, require_scopes("clue:transfer")]
