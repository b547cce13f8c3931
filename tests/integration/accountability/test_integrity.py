"""廉政档案 and 党风廉政意见回复 through the HTTP API: the organisation department asks, 室主任
and 分管领导 sign, the reply omits a sanction past its 影响期 and states one inside it; every
answer is a recorded read of the cadre's personal data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from libs.events import pii
from libs.events.contracts.casework import (
    CaseClosed,
    CaseDecided,
    CaseFiled,
    ClueDisposed,
    DisposalMethod,
    NameCleared,
    Subject,
)
from libs.events.contracts.intake import PersonalDataAccessed
from libs.events.store import EventStore
from tests.conftest import Schemas
from tests.integration.accountability.conftest import (
    DIRECTOR,
    LEADER,
    Accountability,
    auth,
    eventually,
    signed,
)
from tests.integration.accountability.test_ratings_and_reports import deliver
from tests.integration.fixtures import sealed_clue

CADRE, UNIT = "林建华", "青山市住房和城乡建设局"
ORGANISATION = auth("organisation", sub="qingshan-organisation")


async def decision(acc: Accountability, measure: str, days_ago: int, number: str) -> CaseDecided:
    """A decision about the cadre, sealed as casework seals its subject."""
    case_id, at = uuid4(), datetime.now(UTC) - timedelta(days=days_ago)
    vault = acc.deps.vault
    assert vault is not None
    async with acc.engine.begin() as conn:
        sealed: dict[str, Any] = await pii.sealed_person(
            vault, conn, name=CADRE, unit=UNIT, context=str(case_id), now=at
        )
    return CaseDecided(
        case_id=case_id, case_number=number, clue_ids=[],
        subject=Subject(unit=UNIT, rank="正处级", **sealed), categories=["violation_dining"],
        form=2, measures=[measure], misconduct_date=at.date(), decided_by="市纪委", decided_at=at,
    )  # fmt: skip


async def test_a_reply_states_the_sanction_inside_its_period_and_omits_the_one_past_it(
    acc: Accountability, schemas: Schemas
) -> None:
    casework = EventStore(await schemas.migrated("casework"), source="/zhengfeng/casework")
    for e in [
        await decision(acc, "warning", 3 * 365, "AJ-2023-000007"),  # 警告 12 months: over
        await decision(acc, "serious_warning", 60, "AJ-2026-000031"),  # 严重警告 18 months
    ]:
        await deliver(acc, casework, e)
    record = {"name": CADRE, "unit": UNIT, "purpose": "干部考察"}

    async def both() -> dict[str, Any] | None:
        r = (
            await acc.http.post("/v1/integrity-records/lookup", json=record, headers=LEADER)
        ).json()
        return r if len(r["entries"]) == 2 else None

    before = await eventually(both, "both decisions in the record")
    assert [(e["reference"], e["status"], e["stated_in_reply"]) for e in before["entries"]] == [
        ("AJ-2023-000007", "expired", False),
        ("AJ-2026-000031", "in_effect", True),
    ]

    asked = await acc.http.post(
        "/v1/integrity-replies",
        json={"cadre": {"name": CADRE, "unit": UNIT, "post": "副局长"}, "purpose": "拟提拔任用",
              "requested_by": "中共青山市委组织部", "reference": "青组函〔2026〕88号"},
        headers=ORGANISATION,
    )  # fmt: skip
    assert asked.status_code == 202, asked.text
    assert CADRE not in asked.text  # the request was sealed before it became a proposal
    answer = (await signed(acc.http, asked)).json()
    reply_id = UUID(answer["reply_id"])

    read = (await acc.http.get(f"/v1/integrity-replies/{reply_id}", headers=ORGANISATION)).json()
    assert read["status"] == "replied" and read["cadre_name"] == "林**"
    assert [s["reference"] for s in read["statements"]] == ["AJ-2026-000031"]
    assert read["statements"][0]["text"].endswith(f"影响期至{read['statements'][0]['until']}")
    assert (read["conclusion"], read["conclusion_label"]) == ("in_effect", "处分尚在影响期内")
    assert read["conclusion_text"] == "该同志受到的处分（处理）尚在影响期内。"

    accesses = await acc.store.read_stream(f"pii-access-{reply_id}")
    reads = [a.event for a in accesses]
    assert all(isinstance(a, PersonalDataAccessed) for a in reads)
    assert [(a.accessed_by, a.purpose) for a in reads] == [  # type: ignore[attr-defined]
        ("operator:leader", "党风廉政意见回复：拟提拔任用"),
        ("operator:qingshan-organisation", "查阅意见回复：拟提拔任用"),
    ]

    async def replied() -> dict[str, Any] | None:
        r = (
            await acc.http.post("/v1/integrity-records/lookup", json=record, headers=LEADER)
        ).json()
        return r if r["replies"] else None

    assert (await eventually(replied, "the reply listed"))["replies"][0]["purpose"] == "拟提拔任用"


async def test_the_record_is_closed_to_other_roles(acc: Accountability) -> None:
    r = await acc.http.post(
        "/v1/integrity-records/lookup", json={"name": CADRE, "unit": UNIT, "purpose": "x查询"},
        headers=auth("auditor"),
    )  # fmt: skip
    assert r.status_code == 403


async def test_inquiry_letters_cases_and_a_cleared_name_reach_the_record(
    acc: Accountability, schemas: Schemas
) -> None:
    casework = EventStore(await schemas.migrated("casework"), source="/zhengfeng/casework")
    clue = await sealed_clue(acc.engine, CADRE, UNIT)
    now = datetime.now(UTC)

    def disposed(method: DisposalMethod, outcome: str) -> ClueDisposed:
        return ClueDisposed(
            clue_id=clue.clue_id, clue_number=clue.clue_number, method=method, outcome=outcome,
            outcome_for_source="", decided_by="operator:officer", disposed_at=datetime.now(UTC),
        )  # fmt: skip

    record = {"name": CADRE, "unit": UNIT, "purpose": "干部考察"}

    async def reads(conclusion: str, texts: list[str] | None = None) -> Any:
        # The record reads "pending" from the clue alone, before its disposal arrives: wait
        # for the entry that event makes, not only for the conclusion.
        async def check() -> dict[str, Any] | None:
            r = (
                await acc.http.post("/v1/integrity-records/lookup", json=record, headers=LEADER)
            ).json()
            said = [e["text"] for e in r["entries"]]
            return r if r["conclusion"] == conclusion and texts in (None, said) else None

        return await eventually(check, f"the record {conclusion} {texts or ''}")

    await deliver(acc, casework, clue)
    await deliver(acc, casework, disposed(DisposalMethod.TALK_OR_INQUIRY, "talk_or_inquiry"))
    await reads("pending", ["有反映问题线索，正在谈话函询"])

    await deliver(acc, casework, disposed(DisposalMethod.CLOSE, "close"))
    await reads("no_finding", ["反映问题线索经处置，已予以了结"])

    case = await decision(acc, "warning", 0, "AJ-2026-000099")  # only for its sealed subject
    filed = CaseFiled(
        case_id=case.case_id, case_number="AJ-2026-000099", clue_ids=[clue.clue_id],
        subject=case.subject, categories=["violation_gifts"], filed_by="operator:officer",
        filed_at=now,
    )  # fmt: skip
    await deliver(acc, casework, filed)
    await reads("pending")
    cleared = NameCleared(
        case_id=case.case_id, clue_ids=[clue.clue_id], subject=case.subject,
        approved_at=now, cleared_at=now,
    )  # fmt: skip
    await deliver(acc, casework, cleared)
    await deliver(acc, casework, CaseClosed(case_id=case.case_id, case_number="AJ-2026-000099",
                                            clue_ids=[clue.clue_id], outcome="name_cleared",
                                            outcome_for_source="", closed_at=now))  # fmt: skip
    done = await reads("no_finding")
    stated = [e["text"] for e in done["entries"] if e["stated_in_reply"]]
    assert stated == ["经核查，反映的问题不属实，已予以澄清正名"]


async def test_a_request_under_approval_is_listed_with_the_version_its_sign_off_sends(
    acc: Accountability,
) -> None:
    asked = await acc.http.post(
        "/v1/integrity-replies",
        json={"cadre": {"name": CADRE, "unit": UNIT, "post": "副局长"}, "purpose": "年度考核",
              "requested_by": "中共青山市委组织部", "reference": f"青组函〔2026〕{uuid4().hex[:4]}号"},
        headers=ORGANISATION,
    )  # fmt: skip
    assert asked.status_code == 202, asked.text
    proposal_id = asked.json()["proposal_id"]

    async def listed() -> dict[str, Any] | None:
        r = await acc.http.get(
            "/v1/integrity-reply-proposals", params={"status": "open"}, headers=LEADER
        )
        return next((i for i in r.json()["items"] if i["proposal_id"] == proposal_id), None)

    row = await eventually(listed, "the request in the approval list")
    assert (row["label"], row["role"], row["status_label"]) == ("室主任审核", "director", "审批中")
    assert CADRE not in str(row)
    sign = await acc.http.post(
        f"{row['location']}/approve",
        json={"opinion": "agree", "comment": "同意"},
        headers={**DIRECTOR, "If-Match": f'"{row["version"]}"'},
    )
    assert sign.status_code == 200 and sign.json()["current_step"]["label"] == "分管领导审批"
    closed = await acc.http.get("/v1/integrity-reply-proposals", headers=auth("clerk"))
    assert closed.status_code == 403
