"""Casework refuses an oversize body before it asks who is sending it."""

from __future__ import annotations

from uuid import uuid4

from tests.integration.casework.conftest import Casework
from tests.integration.fixtures import refused_as_too_large


async def test_an_oversize_command_is_413_before_authentication(cw: Casework) -> None:
    await refused_as_too_large(cw.http, f"/v1/cases/{uuid4()}/assign", 256 * 1024)
