"""Dependency aliases the intake endpoints share."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from libs.events.pii import Vault
from libs.kit.auth import Principal, require_scopes
from services.intake.domain.duplicates import DuplicateRules
from services.intake.domain.jurisdiction import JurisdictionRules
from services.intake.service import Deps
from services.intake.settings import IntakeSettings


def get_deps(request: Request) -> Deps:
    """FastAPI dependency: intake's own dependencies, built by ``app.create``."""
    return cast(Deps, request.app.state.deps)


def get_settings(request: Request) -> IntakeSettings:
    """FastAPI dependency: intake's settings."""
    return get_deps(request).settings


def get_vault(request: Request) -> Vault:
    """FastAPI dependency: the personal-data vault."""
    return get_deps(request).vault


def get_duplicate_rules(request: Request) -> DuplicateRules:
    """FastAPI dependency: the 重复件 rules loaded at start."""
    return get_deps(request).duplicate_rules


def get_jurisdiction(request: Request) -> JurisdictionRules:
    """FastAPI dependency: the unit registry and the forwarding limit."""
    return get_deps(request).jurisdiction


IntakeDeps = Annotated[Deps, Depends(get_deps)]
Jurisdiction = Annotated[JurisdictionRules, Depends(get_jurisdiction)]
VaultDep = Annotated[Vault, Depends(get_vault)]
DuplicateRulesDep = Annotated[DuplicateRules, Depends(get_duplicate_rules)]
Settings = Annotated[IntakeSettings, Depends(get_settings)]
Partner = Annotated[Principal, require_scopes("clue:transfer")]
