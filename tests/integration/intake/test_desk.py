"""The intake desk: clerks list and filter every clue from all three ways in, and each
clue's handler ledger names everyone who touched it; both rebuild from the store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import text

from libs.events.contracts.intake import ClueProgressNoted, PersonalDataShredded
from libs.events.projections import ProjectionRunner
from libs.events.store import ANY, Metadata
from libs.kit.issuer import create_client
from libs.kit.pagination import encode_cursor
from services.intake.domain import clue_stream
from services.intake.projections import ClueDeskProjection
from tests.integration.fixtures import Intake
from tests.integration.intake.conftest import resident_id, transfer
from tests.integration.intake.test_personal_data import operator_auth
from tests.integration.intake.test_public_reports import report


async def _operator(intake: Intake, name: str, role: str) -> tuple[str, dict[str, str]]:
    """An operator account's actor id and a bearer header (password grant)."""
    who = await create_client(intake.engine, kind="operator", name=name, roles=[role])
    response = await intake.http.post(
        "/oauth/token",
        data={"grant_type": "password", "username": who.client_id, "password": who.client_secret},
    )
    assert response.status_code == 200, response.text
    return f"operator:{who.client_id}", {
        "Authorization": f"Bearer {response.json()['access_token']}"
    }


async def _caught_up(intake: Intake) -> None:
    await intake.app.state.runtime.projections.catch_up()


async def _transfer(intake: Intake, department: str, reference: str, **kw: Any) -> str:
    auth = await intake.bearer(await intake.partner(department))
    response = await intake.http.post(
        "/v1/clue-transfers", json=transfer(reference, **kw), headers=auth
    )
    assert response.status_code == 201, response.text
    return str(response.json()["clue_id"])


async def _report(intake: Intake, **kw: Any) -> str:
    response = await intake.http.post("/v1/reports", json=report(**kw))
    assert response.status_code == 201, response.text
    async with intake.engine.connect() as conn:
        return str(
            (
                await conn.execute(
                    text(
                        """SELECT stream_id FROM events WHERE type LIKE '%report_received'
                           ORDER BY global_position DESC LIMIT 1"""
                    )
                )
            ).scalar_one()
        ).removeprefix("clue-")


async def _hotline(intake: Intake) -> str:
    platform = await create_client(
        intake.engine, kind="system", name="12345平台", scopes=["hotline:orders"]
    )
    response = await intake.http.post(
        "/v1/hotline-orders",
        json={
            "order_number": "GD20260301001",
            "unit": "某区住建局",
            "category": "城乡建设",
            "content": "办理施工许可时，刘八索要好处费。",
            "status": "processing",
            "named_officials": [{"name": "刘八", "unit": "某区住建局"}],
            "misconduct_categories": ["extortion_petty"],
        },
        headers=await intake.bearer(platform),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["clue_id"])


async def _three_sources(intake: Intake) -> dict[str, str]:
    clues = {
        "audit": await _transfer(
            intake,
            "audit",
            "SJ-1",
            urgency="very_urgent",
            categories=["violation_gifts"],
        ),
        "tax": await _transfer(
            intake,
            "tax",
            "SW-1",
            categories=["violation_dining"],
            reported_persons=[{"name": "赵六", "unit": "某县税务局", "id_number": resident_id()}],
        ),
        "report": await _report(
            intake,
            anonymous=False,
            secret=None,
            reporter={"name": "孙七", "phone": "13800000000"},
        ),
        "hotline": await _hotline(intake),
    }
    await _caught_up(intake)
    return clues


async def _list(intake: Intake, auth: dict[str, str], **params: Any) -> Any:
    response = await intake.http.get("/v1/clues", params=params, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


async def _ids(intake: Intake, auth: dict[str, str], **params: Any) -> list[str]:
    return [i["clue_id"] for i in (await _list(intake, auth, **params))["items"]]


async def test_the_list_shows_clues_from_all_three_ways_in_newest_first(intake: Intake) -> None:
    clues = await _three_sources(intake)
    clerk = await operator_auth(intake, "clerk")

    page = await _list(intake, clerk)

    assert [i["clue_id"] for i in page["items"]] == [
        clues["hotline"],
        clues["report"],
        clues["tax"],
        clues["audit"],
    ]
    by_id = {i["clue_id"]: i for i in page["items"]}
    audit = by_id[clues["audit"]]
    assert (audit["source_kind"], audit["source_kind_label"]) == ("partner_transfer", "部门移送")
    assert (audit["status"], audit["status_label"]) == ("received", "已接收")
    assert (audit["urgency"], audit["urgency_label"]) == ("very_urgent", "特急")
    assert audit["categories"] == [
        {"code": "violation_gifts", "label": "违规收送名贵特产和礼品礼金"}
    ]
    assert by_id[clues["report"]]["source_kind_label"] == "信访举报"
    assert by_id[clues["hotline"]]["source_kind_label"] == "12345热线"
    assert by_id[clues["report"]]["acknowledgement"] == "due"
    assert by_id[clues["audit"]]["acknowledgement"] == "not_required"


async def test_the_list_holds_masked_names_only(intake: Intake) -> None:
    await _three_sources(intake)
    clerk = await operator_auth(intake, "clerk")

    page = await _list(intake, clerk)

    names = {p["name"] for i in page["items"] for p in i["reported_persons"]}
    assert names == {"王*", "赵*", "钱*", "刘*"}
    async with intake.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT persons::text FROM clue_desk"))).scalars().all()
    for plain in ("王五", "赵六", "钱九", "刘八", "孙七", resident_id()):
        assert not any(plain in row for row in stored), plain
        assert plain not in json.dumps(page, ensure_ascii=False)


async def test_each_filter_narrows_the_list(intake: Intake) -> None:
    clues = await _three_sources(intake)
    clerk = await operator_auth(intake, "clerk")

    assert await _ids(intake, clerk, source_kind="public_report") == [clues["report"]]
    assert await _ids(intake, clerk, source_kind="hotline_12345") == [clues["hotline"]]
    assert await _ids(intake, clerk, source_kind="partner_transfer") == [
        clues["tax"],
        clues["audit"],
    ]
    assert await _ids(intake, clerk, department="tax") == [clues["tax"]]
    assert await _ids(intake, clerk, category="violation_gifts") == [clues["audit"]]
    # A first-level group: 享乐主义、奢靡之风 holds both gifts and dining.
    assert await _ids(intake, clerk, category="hedonism_extravagance") == [
        clues["report"],
        clues["tax"],
        clues["audit"],
    ]
    assert await _ids(intake, clerk, unit="某县税务局") == [clues["tax"]]
    assert await _ids(intake, clerk, urgency="very_urgent") == [clues["audit"]]
    assert await _ids(intake, clerk, acknowledgement="due") == [clues["report"]]
    assert await _ids(intake, clerk, status="received", department="audit") == [clues["audit"]]
    assert await _ids(intake, clerk, status="disposed") == []
    today = datetime.now(UTC).date()
    assert len(await _ids(intake, clerk, received_from=today - timedelta(days=1))) == 4
    assert await _ids(intake, clerk, received_to=today - timedelta(days=2)) == []
    assert await _ids(intake, clerk, received_from=today + timedelta(days=2)) == []


async def test_repeat_counts_filter_and_sort_and_casework_progress_shows(intake: Intake) -> None:
    clues = await _three_sources(intake)
    # The same matter reported again: 赵六 (same ID number), dining again -> 重复件.
    for _ in range(2):
        await _report(
            intake,
            reported_persons=[{"name": "赵六", "unit": "某县税务局", "id_number": resident_id()}],
            categories=["violation_dining"],
        )
    store = intake.app.state.runtime.store
    await store.append(
        clue_stream(UUID(clues["report"])),
        [
            ClueProgressNoted(
                clue_id=UUID(clues["report"]),
                status="disposed",
                outcome_for_source="已进行初步核实",
                learned_from="zhengfeng.casework.clue_disposed",
                noted_at=datetime.now(UTC),
            )
        ],
        expected_version=ANY,
        meta=Metadata(actor="service:intake"),
    )
    await _caught_up(intake)
    clerk = await operator_auth(intake, "clerk")

    assert await _ids(intake, clerk, min_repeat_count=1) == [clues["tax"]]
    assert await _ids(intake, clerk, min_repeat_count=3) == []
    assert (await _ids(intake, clerk, sort="repeat_count"))[0] == clues["tax"]
    by_priority = (await _list(intake, clerk, sort="priority"))["items"]
    # 紧急 (2 points) with two repeats (1 each) ties with 特急 (4): newer first; then 一般.
    assert [i["clue_id"] for i in by_priority[:2]] == [clues["tax"], clues["audit"]]
    assert [(i["priority"], i["priority_label"]) for i in by_priority] == [
        ("high", "高"),
        ("high", "高"),
        ("normal", "一般"),
        ("normal", "一般"),
    ] + [("normal", "一般")] * 2
    merged = (await _list(intake, clerk, status="merged"))["items"]
    assert len(merged) == 2
    assert {(m["status_label"], m["merged_into"]) for m in merged} == {("已并入", clues["tax"])}
    assert {m["source_kind"] for m in merged} == {"public_report"}
    assert all(m["clue_number"].startswith("XS-") for m in merged)
    assert await _ids(intake, clerk, status="disposed") == [clues["report"]]
    disposed = (await _list(intake, clerk, status="disposed"))["items"][0]
    assert (disposed["status_label"], disposed["outcome"]) == ("已处置", "已进行初步核实")


async def test_pages_stay_stable_when_new_clues_arrive(intake: Intake) -> None:
    sent = [await _transfer(intake, "audit", f"SJ-{i}") for i in range(5)]
    await _caught_up(intake)
    clerk = await operator_auth(intake, "clerk")

    first = await _list(intake, clerk, limit=2)
    for i in range(3):  # arrive between pages: newer than everything listed
        await _transfer(intake, "audit", f"SJ-new-{i}")
    await _caught_up(intake)
    second = await _list(intake, clerk, limit=2, cursor=first["next_cursor"])
    third = await _list(intake, clerk, limit=2, cursor=second["next_cursor"])

    seen = [i["clue_id"] for p in (first, second, third) for i in p["items"]]
    assert seen == list(reversed(sent))
    assert third["next_cursor"] is None


async def test_bad_filters_are_problems_naming_the_field(intake: Intake) -> None:
    clerk = await operator_auth(intake, "clerk")

    unknown = await intake.http.get("/v1/clues", params={"category": "nope"}, headers=clerk)
    bad_date = await intake.http.get(
        "/v1/clues", params={"received_from": "2026-13-01"}, headers=clerk
    )
    backwards = await intake.http.get(
        "/v1/clues",
        params={"received_from": "2026-03-02", "received_to": "2026-03-01"},
        headers=clerk,
    )
    bad_status = await intake.http.get("/v1/clues", params={"status": "lost"}, headers=clerk)
    bad_count = await intake.http.get("/v1/clues", params={"min_repeat_count": -1}, headers=clerk)
    bad_cursor = await intake.http.get("/v1/clues", params={"cursor": "xyz"}, headers=clerk)

    for response, field, code in (
        (unknown, "category", 422),
        (bad_date, "received_from", 422),
        (backwards, "received_to", 422),
        (bad_status, "status", 422),
        (bad_count, "min_repeat_count", 422),
        (bad_cursor, "cursor", 400),
    ):
        assert response.status_code == code, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in response.json()["errors"]] == [field], response.text
    assert "violation_gifts" in unknown.json()["valid_categories"]
    assert "corruption" in unknown.json()["valid_groups"]


async def test_partners_and_the_public_cannot_list_clues(intake: Intake) -> None:
    partner = await intake.bearer(await intake.partner("audit"))

    assert (await intake.http.get("/v1/clues", headers=partner)).status_code == 403
    assert (await intake.http.get("/v1/clues")).status_code == 401


async def _ledger(intake: Intake, clue_id: str, auth: dict[str, str], **params: Any) -> Any:
    await _caught_up(intake)
    response = await intake.http.get(f"/v1/clues/{clue_id}/handlers", params=params, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_ledger_names_everyone_who_touched_a_report(intake: Intake) -> None:
    clue_id = await _report(
        intake, anonymous=False, secret=None, reporter={"name": "孙七", "phone": "13800000000"}
    )
    clerk, clerk_auth = await _operator(intake, "李信访", "clerk")
    investigator, investigator_auth = await _operator(intake, "周调查", "investigator")

    assert (await intake.http.get(f"/v1/clues/{clue_id}", headers=clerk_auth)).status_code == 200
    posted = await intake.http.post(
        f"/v1/clues/{clue_id}/messages", json={"text": "已收到。"}, headers=clerk_auth
    )
    assert posted.status_code == 201
    acknowledged = await intake.http.post(
        f"/v1/clues/{clue_id}/acknowledgement", headers=clerk_auth
    )
    assert acknowledged.status_code == 201
    revealed = await intake.http.get(
        f"/v1/clues/{clue_id}",
        params={"reveal": "true", "purpose": "初步核实"},
        headers=investigator_auth,
    )
    assert revealed.status_code == 200

    ledger = await _ledger(intake, clue_id, clerk_auth)

    assert [(e["action"], e["actor"]) for e in ledger["entries"]] == [
        ("submitted", "public:reporter"),
        ("report_filed", "public:reporter"),
        ("opened", clerk),
        ("message_to_reporter", clerk),
        ("acknowledged", clerk),
        ("personal_data_revealed", investigator),
    ]
    assert [(h["actor_name"], h["actions"]) for h in ledger["handlers"]] == [
        ("举报人", ["submitted", "report_filed"]),
        ("李信访", ["opened", "message_to_reporter", "acknowledged"]),
        ("周调查", ["personal_data_revealed"]),
    ]
    entries = ledger["entries"]
    assert entries[0]["action_label"] == "提交线索"
    assert entries[1]["detail"]["anonymous"] is False
    assert entries[5]["detail"]["purpose"] == "初步核实"
    assert "孙七" not in json.dumps(ledger, ensure_ascii=False)


async def test_the_ledger_of_a_transfer_shows_the_partners_merges_splits_and_casework(
    intake: Intake,
) -> None:
    clue_id = await _transfer(intake, "audit", "SJ-9")
    audit_actor = (await intake.events())[-1].actor
    repeat = await intake.http.post(  # the same matter from another department: 重复件
        "/v1/clue-transfers",
        json=transfer("SW-7"),
        headers=await intake.bearer(await intake.partner("tax")),
    )
    assert repeat.status_code == 201, repeat.text
    repeat_id = repeat.json()["clue_id"]
    tax_actor = (await intake.events())[-1].actor
    clerk, auth = await _operator(intake, "李信访", "clerk")
    split = await intake.http.post(
        f"/v1/clues/{clue_id}/repeats/{repeat_id}/split",
        json={"reason": "不是同一事项"},
        headers=auth,
    )
    assert split.status_code == 201, split.text
    store = intake.app.state.runtime.store
    await store.append(
        clue_stream(UUID(clue_id)),
        [
            ClueProgressNoted(
                clue_id=UUID(clue_id),
                status="registered",
                learned_from="zhengfeng.casework.clue_registered",
                noted_at=datetime.now(UTC),
            )
        ],
        expected_version=ANY,
        meta=Metadata(actor="service:intake"),
    )

    ledger = await _ledger(intake, clue_id, auth)
    repeat_ledger = await _ledger(intake, repeat_id, auth)

    assert [(e["action"], e["actor"]) for e in ledger["entries"]] == [
        ("submitted", audit_actor),
        ("repeat_merged", tax_actor),
        ("split", clerk),
        ("progress", "service:casework"),
    ]
    assert [(h["actor_department"], h["actor_kind_label"]) for h in ledger["handlers"][:2]] == [
        ("audit", "协作单位"),
        ("tax", "协作单位"),
    ]
    assert ledger["entries"][3]["detail"]["status_label"] == "已登记"
    assert [(e["action"], e["actor"]) for e in repeat_ledger["entries"]] == [
        ("merged_into", tax_actor),
        ("split_off", clerk),
    ]
    assert repeat_ledger["clue_number"] == repeat.json()["clue_number"]
    listed = {i["clue_id"]: i for i in (await _list(intake, auth))["items"]}
    assert (listed[repeat_id]["status"], listed[repeat_id]["merged_into"]) == ("received", None)
    assert listed[clue_id]["repeat_count"] == 0


async def test_the_ledger_pages_in_order(intake: Intake) -> None:
    clue_id = await _transfer(intake, "audit", "SJ-1")
    clerk = await operator_auth(intake, "clerk")
    for _ in range(4):
        await intake.http.get(f"/v1/clues/{clue_id}", headers=clerk)

    first = await _ledger(intake, clue_id, clerk, limit=3)
    second = await _ledger(intake, clue_id, clerk, limit=3, cursor=first["next_cursor"])

    actions = [e["action"] for e in first["entries"] + second["entries"]]
    assert actions == ["submitted", "opened", "opened", "opened", "opened"]
    assert second["next_cursor"] is None
    assert [h["touches"] for h in first["handlers"]] == [1, 4]


async def test_an_unknown_clue_has_no_ledger(intake: Intake) -> None:
    clerk = await operator_auth(intake, "clerk")

    response = await intake.http.get(f"/v1/clues/{uuid4()}/handlers", headers=clerk)

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_rebuilding_the_desk_gives_the_same_list_and_ledgers(intake: Intake) -> None:
    clues = await _three_sources(intake)
    clerk = await operator_auth(intake, "clerk")
    for clue_id in clues.values():
        await intake.http.get(f"/v1/clues/{clue_id}", headers=clerk)
    await _caught_up(intake)
    before = await _list(intake, clerk)
    ledgers = {c: await _ledger(intake, c, clerk) for c in clues.values()}
    async with intake.engine.begin() as conn:  # a read model damaged by hand
        await conn.execute(text("DELETE FROM clue_desk WHERE clue_id = :id"), {"id": clues["tax"]})
        await conn.execute(text("DELETE FROM clue_handlers"))

    store = intake.app.state.runtime.store
    await ProjectionRunner(store, [ClueDeskProjection()]).rebuild(
        ClueDeskProjection(), progress=False
    )

    assert await _list(intake, clerk) == before
    assert {c: await _ledger(intake, c, clerk) for c in clues.values()} == ledgers


async def _desk_rows(intake: Intake) -> tuple[list[Any], list[Any]]:
    async with intake.engine.connect() as conn:
        desk = list(await conn.execute(text("SELECT * FROM clue_desk ORDER BY clue_id")))
        ledger = await conn.execute(text("SELECT * FROM clue_handlers ORDER BY clue_id, event_id"))
        return desk, list(ledger)


async def test_the_desk_is_the_same_applied_an_event_at_a_time_or_in_one_batch(
    intake: Intake,
) -> None:
    """A clue received is written as one row with what its receipt's other events set
    (jurisdiction, reporter, last touched) when they share a batch: the rows are the same
    as those of its events applied one by one, each column."""
    clues = await _three_sources(intake)
    await _transfer(intake, "audit", "SJ-2")  # a repeat report of the audit clue
    clerk = await operator_auth(intake, "clerk")
    await intake.http.get(f"/v1/clues/{clues['audit']}", headers=clerk)
    await _caught_up(intake)
    live = await _desk_rows(intake)
    store = intake.app.state.runtime.store

    await ProjectionRunner(store, [ClueDeskProjection()], batch_size=1).rebuild(
        ClueDeskProjection(), progress=False
    )
    one_by_one = await _desk_rows(intake)
    await ProjectionRunner(store, [ClueDeskProjection()]).rebuild(
        ClueDeskProjection(), progress=False
    )

    assert await _desk_rows(intake) == one_by_one == live
    by_id = {str(row.clue_id): row for row in live[0]}
    assert by_id[clues["tax"]].jurisdiction == "marked"  # 某县税务局 is not ours
    assert by_id[clues["report"]].anonymous is False
    assert by_id[clues["audit"]].repeat_count == 1
    assert len(live[1]) >= 10


async def test_forwarding_shows_in_the_list_and_the_forwarder_in_the_ledger(
    intake: Intake,
) -> None:
    clues = await _three_sources(intake)  # 某县税务局 is vertically managed: not ours
    clerk, auth = await _operator(intake, "李信访", "clerk")

    marked = await _list(intake, auth, jurisdiction="marked")
    forwarded = await intake.http.post(
        f"/v1/clues/{clues['tax']}/forwarding",
        json={"method": "official_letter", "letter_number": "县纪转〔2026〕1号"},
        headers=auth,
    )
    assert forwarded.status_code == 201, forwarded.text
    ledger = await _ledger(intake, clues["tax"], auth)
    after = (await _list(intake, auth, jurisdiction="forwarded"))["items"]

    assert [i["clue_id"] for i in marked["items"]] == [clues["tax"]]
    assert marked["items"][0]["jurisdiction_label"] == "待转办"
    assert marked["items"][0]["forward_by"] is not None
    assert [i["clue_id"] for i in after] == [clues["tax"]]
    assert (after[0]["status"], after[0]["status_label"]) == ("forwarded", "已转办")
    assert after[0]["forwarded_to"] == "国家税务总局某市税务局纪检组"
    assert [(e["action"], e["actor"]) for e in ledger["entries"]][1:] == [
        ("marked_for_forwarding", "service:intake"),
        ("forwarded", clerk),
    ]
    assert ledger["entries"][2]["detail"]["method_label"] == "公函"
    assert await _ids(intake, auth, jurisdiction="undetermined") == [clues["hotline"]]


async def test_a_shredding_shows_in_the_ledger_of_every_clue_holding_the_person(
    intake: Intake,
) -> None:
    clues = await _three_sources(intake)  # 王五 (audit) and 赵六 (tax) share an ID number
    clerk = await operator_auth(intake, "clerk")
    async with intake.engine.connect() as conn:
        data = (
            await conn.execute(
                text("SELECT data FROM events WHERE stream_id = :s AND type LIKE '%clue_received'"),
                {"s": f"clue-{clues['audit']}"},
            )
        ).scalar_one()
    person_ref = UUID(data["reported_persons"][0]["person_ref"])
    store = intake.app.state.runtime.store
    await store.append(
        f"person-{person_ref}",
        [
            PersonalDataShredded(
                person_ref=person_ref,
                shredded_by="operator:dpo",
                reason="依法删除",
                shredded_at=datetime.now(UTC),
            )
        ],
        expected_version=ANY,
        meta=Metadata(actor="operator:dpo"),
    )

    ledgers = {name: await _ledger(intake, c, clerk) for name, c in clues.items()}

    shredded = {
        name: [
            (e["actor"], e["detail"])
            for e in ledger["entries"]
            if e["action"] == "personal_data_shredded"
        ]
        for name, ledger in ledgers.items()
    }
    detail = {"person_ref": str(person_ref), "reason": "依法删除"}
    assert shredded == {
        "audit": [("operator:dpo", detail)],
        "tax": [("operator:dpo", detail)],
        "report": [],
        "hotline": [],
    }


async def test_a_cursor_with_a_number_beyond_bigint_is_a_400_not_a_500(intake: Intake) -> None:
    # Found by Schemathesis-style tampering: the number reached PostgreSQL and failed there.
    clue_id = await _transfer(intake, "audit", "SJ-1")
    await _caught_up(intake)
    clerk = await operator_auth(intake, "clerk")
    huge = 10**30

    listed = await intake.http.get(
        "/v1/clues",
        params={"sort": "repeat_count", "cursor": encode_cursor(huge, datetime.now(UTC), uuid4())},
        headers=clerk,
    )
    ledger = await intake.http.get(
        f"/v1/clues/{clue_id}/handlers",
        params={"cursor": encode_cursor(huge, str(uuid4()))},
        headers=clerk,
    )

    for response in (listed, ledger):
        assert response.status_code == 400, response.text
        assert response.json()["errors"] == [
            {"field": "cursor", "reason": "不是本列表给出的翻页位置"}
        ]
