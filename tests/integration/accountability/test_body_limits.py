"""Accountability refuses an oversize body before it asks who is sending it."""

from __future__ import annotations

from tests.integration.accountability.conftest import Accountability
from tests.integration.fixtures import refused_as_too_large


async def test_an_oversize_command_is_413_before_authentication(acc: Accountability) -> None:
    await refused_as_too_large(acc.http, "/v1/inquiries", 256 * 1024)
