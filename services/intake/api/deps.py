"""Dependency aliases the intake endpoints share."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from libs.kit.auth import Principal, require_scopes
from services.intake.settings import IntakeSettings


def get_settings(request: Request) -> IntakeSettings:
    """FastAPI dependency: intake's settings."""
    return cast(IntakeSettings, request.app.state.runtime.settings)


Settings = Annotated[IntakeSettings, Depends(get_settings)]
Partner = Annotated[Principal, require_scopes("clue:transfer")]
