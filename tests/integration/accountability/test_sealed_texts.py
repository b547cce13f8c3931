"""An inquiry's free text (its reason, a finding's reasons) sealed with the inquiry's key:
read as written by the accountability office, unreadable once its direct subject is
shredded, with the hash chains intact."""

from __future__ import annotations

import json
from uuid import UUID

from sqlalchemy import text

from libs.events import pii
from tests.integration.accountability.conftest import OFFICER, Accountability, eventually
from tests.integration.accountability.test_personal_data import SUBJECT, _opened_by_hand
from tests.integration.accountability.test_rectification import LIST, _open

OPENED_FOR = "巡察反馈财务管理问题突出"
FOUND = "季志远分管财务科，未落实一岗双责"


async def _stored(acc: Accountability) -> str:
    async with acc.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT data::text FROM events"))).scalars().all()
    return "\n".join(json.dumps(json.loads(r), ensure_ascii=False) for r in rows)


async def _found(acc: Accountability) -> str:
    inquiry_id = await _opened_by_hand(acc)
    read = await acc.http.get(f"/v1/inquiries/{inquiry_id}", headers=OFFICER)
    found = await acc.http.post(
        f"/v1/inquiries/{inquiry_id}/findings",
        json={"party_id": "department_leader", "fulfilled": False, "reasons": [FOUND]},
        headers={**OFFICER, "If-Match": read.headers["ETag"]},
    )
    assert found.status_code == 200, found.text
    return inquiry_id


async def test_an_inquirys_reason_and_findings_are_sealed_and_read_as_written(
    acc: Accountability,
) -> None:
    inquiry_id = await _found(acc)

    stored = await _stored(acc)
    read = await acc.http.get(f"/v1/inquiries/{inquiry_id}", headers=OFFICER)

    assert OPENED_FOR not in stored and FOUND not in stored and SUBJECT not in stored
    assert f"{pii.MATTER_TEXT_PREFIX}{inquiry_id}." in stored
    assert OPENED_FOR in read.text and FOUND in read.text
    assert pii.MATTER_TEXT_PREFIX not in read.text


async def test_shredding_the_direct_subject_shreds_the_inquirys_texts(acc: Accountability) -> None:
    inquiry_id = await _found(acc)
    vault = pii.Vault.from_env(acc.engine)
    [subject] = [ref for ref in await _refs(acc) if str(inquiry_id) in await vault.matters_of(ref)]

    await vault.shred(subject, by="test", reason="依法删除", now=pii.now())
    read = await acc.http.get(f"/v1/inquiries/{inquiry_id}", headers=OFFICER)

    assert read.status_code == 200
    assert OPENED_FOR not in read.text and FOUND not in read.text and SUBJECT not in read.text
    assert pii.SHREDDED in read.text
    assert (await acc.app.state.runtime.store.verify()).ok


async def _refs(acc: Accountability) -> list[UUID]:
    """The persons sealed in accountability's events (their pseudonyms)."""
    stored = await _stored(acc)
    return sorted(
        {UUID(t.split(".")[1]) for t in stored.split('"') if t.startswith(pii.TOKEN_PREFIX + ".")}
    )


async def test_a_rectification_lists_title_is_sealed_and_read_as_written(
    acc: Accountability,
) -> None:
    titled = {**LIST, "title": "关于季志远违规使用公车问题的整改清单"}
    opened = await _open(acc.http, titled)

    async def listed() -> list[str] | None:
        r = await acc.http.get("/v1/rectifications", headers=OFFICER)
        return [row["title"] for row in r.json()["items"]] or None

    stored = await _stored(acc)
    read = await acc.http.get(f"/v1/rectifications/{opened['list_id']}", headers=OFFICER)

    assert titled["title"] not in stored and SUBJECT not in stored
    assert f"{pii.MATTER_TEXT_PREFIX}{opened['list_id']}." in stored
    assert opened["title"] == read.json()["title"] == titled["title"]
    assert await eventually(listed, "the list in the register") == [titled["title"]]
