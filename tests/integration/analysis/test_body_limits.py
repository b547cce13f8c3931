"""Analysis refuses an oversize command before it asks who is sending it; feed batches
have their own, larger limit."""

from __future__ import annotations

from tests.conftest import Schemas
from tests.integration.analysis.support import running
from tests.integration.fixtures import refused_as_too_large


async def test_an_oversize_command_is_413_before_authentication(
    database_url: str, schemas: Schemas
) -> None:
    async with running(database_url, schemas) as analysis:
        await refused_as_too_large(analysis.http, "/v1/rules/run", 256 * 1024)


async def test_a_feed_batch_over_the_command_limit_is_still_taken(
    database_url: str, schemas: Schemas
) -> None:
    async with running(database_url, schemas) as analysis:
        response = await analysis.http.post(
            "/v1/feeds/vehicles/batches/big-1",
            content=b"\n" * (300 * 1024),
            headers={**analysis.partner, "Content-Type": "application/x-ndjson"},
        )

    assert response.status_code == 201, response.text
