"""Attachments: streamed upload, content-addressed storage, referenced by hash in a clue."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import text

from libs.events import pii
from libs.kit.problems import PROBLEM_JSON
from tests.integration.fixtures import Intake
from tests.integration.intake.conftest import transfer
from tests.integration.intake.test_personal_data import operator_auth

PDF = b"%PDF-1.7\n" + b"0123456789" * 500


def _files(intake: Intake) -> list[Path]:
    directory = Path(intake.app.state.runtime.settings.attachments_dir)
    return [p for p in directory.rglob("*") if p.is_file()] if directory.exists() else []


async def _upload(
    intake: Intake, auth: dict[str, str], content: bytes, ctype: str = "application/pdf"
) -> Any:
    return await intake.http.post(
        "/v1/attachments", files={"file": ("审计报告.pdf", content, ctype)}, headers=auth
    )


async def test_an_upload_is_stored_by_its_sha256_and_described(intake: Intake) -> None:
    auth = await intake.bearer(await intake.partner())

    response = await _upload(intake, auth, PDF)

    assert response.status_code == 201, response.text
    body = response.json()
    digest = hashlib.sha256(PDF).hexdigest()
    assert (body["sha256"], body["size"], body["content_type"], body["name"]) == (
        digest,
        len(PDF),
        "application/pdf",
        "审计报告.pdf",
    )
    [stored] = _files(intake)
    assert stored.name == digest
    assert stored.read_bytes() == PDF


async def test_the_same_content_uploaded_twice_is_one_file(intake: Intake) -> None:
    auth = await intake.bearer(await intake.partner())

    await _upload(intake, auth, PDF)
    again = await _upload(intake, auth, PDF)

    assert again.status_code == 201
    assert len(_files(intake)) == 1


async def test_a_clue_holds_the_hash_size_type_and_name_not_the_file(intake: Intake) -> None:
    auth = await intake.bearer(await intake.partner())
    digest = (await _upload(intake, auth, PDF)).json()["sha256"]

    response = await intake.http.post(
        "/v1/clue-transfers", json=transfer(attachments=[{"sha256": digest}]), headers=auth
    )

    assert response.status_code == 201, response.text
    clue_id = response.json()["clue_id"]
    async with intake.engine.connect() as conn:
        data = (await conn.execute(text("SELECT data FROM events"))).scalar_one()
    [attached] = data["attachments"]
    name = attached.pop("name")  # a file name can name a person: sealed with the clue's key
    assert attached == {"sha256": digest, "size": len(PDF), "content_type": "application/pdf"}
    assert name.startswith(f"{pii.MATTER_TEXT_PREFIX}{clue_id}.")
    read = await intake.http.get(
        f"/v1/clues/{clue_id}", headers=await operator_auth(intake, "clerk")
    )
    assert read.json()["attachments"][0]["name"] == "审计报告.pdf"


async def test_a_hash_another_partner_uploaded_cannot_be_attached(intake: Intake) -> None:
    audit = await intake.bearer(await intake.partner("audit"))
    tax = await intake.bearer(await intake.partner("tax"))
    digest = (await _upload(intake, audit, PDF)).json()["sha256"]

    response = await intake.http.post(
        "/v1/clue-transfers", json=transfer(attachments=[{"sha256": digest}]), headers=tax
    )

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "attachments[0].sha256", "reason": "没有该哈希值的已上传文件"}
    ]
    assert await intake.count("partner_references") == 0


async def test_an_oversize_attachment_is_413_and_leaves_no_file(intake: Intake) -> None:
    auth = await intake.bearer(await intake.partner())

    response = await _upload(intake, auth, b"%PDF-" + b"x" * (64 * 1024))

    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["errors"][0]["field"] == "file"
    assert _files(intake) == []
    assert await intake.count("attachment_uploads") == 0


async def test_a_type_outside_the_allow_list_is_415_listing_the_allowed(intake: Intake) -> None:
    auth = await intake.bearer(await intake.partner())

    response = await _upload(intake, auth, b"MZ\x90\x00", "application/x-msdownload")

    assert response.status_code == 415
    problem = response.json()
    assert problem["errors"][0]["field"] == "file"
    assert "application/pdf" in problem["allowed_types"]
    assert _files(intake) == []


async def test_content_that_is_not_what_its_type_says_is_refused(intake: Intake) -> None:
    auth = await intake.bearer(await intake.partner())

    response = await _upload(intake, auth, b"MZ\x90\x00 not a pdf", "application/pdf")

    assert response.status_code == 415
    assert _files(intake) == []


async def test_an_upload_that_is_not_multipart_is_refused(intake: Intake) -> None:
    auth = await intake.bearer(await intake.partner())

    response = await intake.http.post(
        "/v1/attachments", content=PDF, headers={**auth, "Content-Type": "application/pdf"}
    )

    assert response.status_code == 415
    assert response.json()["errors"][0]["field"] == "file"


async def test_uploading_needs_the_transfer_scope(intake: Intake) -> None:
    response = await intake.http.post("/v1/attachments", files={"file": ("a.pdf", PDF)})

    assert response.status_code == 401
