"""A sealed token that does not open for its matter (sealed for another matter and passed
off as this one's, copied with its person to another inquiry, or corrupted) never costs the
reader a 500: in an answer's free text it reads ``[无法解封]``, on an explicit reveal the
answer is a 409 problem naming the field; either way the log names the matter, never the
text."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from libs.events import pii
from libs.events.contracts.accountability import FindingRecorded, InquiryOpened
from libs.events.contracts.intake import PersonalDataAccessed
from libs.events.store import NO_STREAM, Metadata
from tests.integration.accountability.conftest import LEADER, OFFICER, Accountability
from tests.integration.accountability.test_sealed_texts import FOUND, OPENED_FOR, _found
from tests.integration.kafka_support import wait_until

ELSEWHERE = "另案被反映人的问题"


def _passed_off(token: str, matter: str) -> str:
    """A token sealed for another matter, relabelled as ``matter``'s."""
    found = pii.MATTER_TEXT.fullmatch(token)
    assert found is not None
    return f"{pii.MATTER_TEXT_PREFIX}{matter}.{found['blob']}"


async def test_a_reason_sealed_for_another_matter_reads_as_unopenable_and_the_rest_as_written(
    acc: Accountability, caplog: pytest.LogCaptureFixture
) -> None:
    inquiry_id = await _found(acc)
    vault = acc.deps.vault
    assert vault is not None
    other = await vault.seal_matter_text(None, ELSEWHERE, context=str(uuid4()))
    corrupted = other[:-8] + ("A" * 8 if not other.endswith("A" * 8) else "B" * 8)
    stream = f"inquiry-{inquiry_id}"
    version = len(await acc.store.read_stream(stream))
    finding = FindingRecorded(
        inquiry_id=UUID(inquiry_id), party_id="first_responsible", fulfilled=False,
        reasons=[_passed_off(other, inquiry_id), corrupted], recorded_by="operator:test",
        recorded_at=datetime.now(UTC),
    )  # fmt: skip
    await acc.store.append(
        stream, [finding], expected_version=version, meta=Metadata(actor="operator:test")
    )

    with caplog.at_level(logging.WARNING, logger="libs.events.pii"):
        read = await acc.http.get(f"/v1/inquiries/{inquiry_id}", headers=OFFICER)

    assert read.status_code == 200, read.text
    assert read.text.count(pii.UNOPENABLE) == 2
    assert OPENED_FOR in read.text and FOUND in read.text  # the matter's own texts open
    assert ELSEWHERE not in read.text and pii.MATTER_TEXT_PREFIX not in read.text
    logged = [r.getMessage() for r in caplog.records if "does not open" in r.getMessage()]
    assert logged and all(ELSEWHERE not in m and pii.MATTER_TEXT_PREFIX not in m for m in logged)
    assert any(inquiry_id in m for m in logged)


async def test_a_name_copied_to_another_inquiry_refuses_the_reveal_with_a_409_naming_the_field(
    acc: Accountability, caplog: pytest.LogCaptureFixture
) -> None:
    inquiry_id = await _found(acc)
    [first] = await acc.store.read_stream(f"inquiry-{inquiry_id}", up_to_version=1)
    opened = first.event
    assert isinstance(opened, InquiryOpened) and opened.direct_subject_sealed
    copy_id = uuid4()  # the same tokens, passed off as another inquiry's own
    copied = opened.model_copy(
        update={"inquiry_id": copy_id, "direct_subject_context": str(copy_id)}
    )
    await acc.store.append(
        f"inquiry-{copy_id}", [copied], expected_version=NO_STREAM,
        meta=Metadata(actor="operator:test"),
    )  # fmt: skip
    url = f"/v1/inquiries/{copy_id}"

    masked = await acc.http.get(url, headers=LEADER)
    with caplog.at_level(logging.WARNING, logger="libs.events.pii"):
        revealed = await acc.http.get(url, params={"reveal": "true"}, headers=LEADER)

    assert masked.status_code == 200 and OPENED_FOR in masked.text
    assert revealed.status_code == 409, revealed.text
    assert revealed.headers["content-type"].startswith("application/problem+json")
    problem = revealed.json()
    assert problem["type"] == "/problems/sealed-data-unopenable"
    assert problem["title"] == "封存内容无法解封" and "姓名" in problem["detail"]
    assert problem["errors"] == [{"field": "name", "reason": "封存的姓名无法解封"}]
    assert any(str(copy_id) in r.getMessage() for r in caplog.records)
    # the original still reveals its subject
    original = await acc.http.get(
        f"/v1/inquiries/{inquiry_id}", params={"reveal": "true"}, headers=LEADER
    )
    assert original.status_code == 200

    # only the reveal that showed the names is recorded as an access (read in commit-safe
    # order, which waits behind the service's transactions begun before the record's)
    async def accessed() -> list[str]:
        return [
            str(r.event.clue_id)
            for r in await acc.store.read_all()
            if isinstance(r.event, PersonalDataAccessed)
        ]

    async def recorded() -> bool:
        return bool(await accessed())

    await wait_until(recorded, "the access record to be readable")
    assert await accessed() == [str(inquiry_id)]
