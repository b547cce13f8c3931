"""Accountability refuses an oversize body before it asks who is sending it."""

from __future__ import annotations

from tests.integration.accountability.conftest import Accountability
from tests.integration.fixtures import refused_as_too_large


async def test_an_oversize_command_is_413_before_authentication(acc: Accountability) -> None:
    await refused_as_too_large(acc.http, "/v1/inquiries", 256 * 1024)


async def test_a_csv_of_lists_has_its_own_larger_limit(acc: Accountability) -> None:
    within = await acc.http.post(
        "/v1/responsibility-lists/csv",
        content=b" " * (300 * 1024),
        headers={"Content-Type": "text/csv"},
    )
    over = await acc.http.post(
        "/v1/responsibility-lists/csv",
        content=b" " * (4 * 1024 * 1024 + 1),
        headers={"Content-Type": "text/csv"},
    )

    assert within.status_code == 401  # past the command limit, it reaches authentication
    assert over.status_code == 413
    assert over.json()["type"] == "/problems/too-large"
