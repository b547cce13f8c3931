"""Intake refuses an oversize body before it asks who is sending it."""

from __future__ import annotations

from tests.integration.fixtures import Intake, refused_as_too_large


async def test_an_oversize_command_is_413_before_authentication(intake: Intake) -> None:
    await refused_as_too_large(intake.http, "/v1/clue-transfers", 32 * 1024)


async def test_an_upload_declared_over_its_own_limit_is_413_before_authentication(
    intake: Intake,
) -> None:
    limit = intake.app.state.deps.settings.attachment_max_bytes + 64 * 1024

    response = await intake.http.post(
        "/v1/attachments",
        content=b"x" * (limit + 1),
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )

    assert response.status_code == 413
    assert response.json()["type"] == "/problems/too-large"
