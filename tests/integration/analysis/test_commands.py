"""Analysis's commands on the shared pipeline: rule versions and findings pinned by If-Match, refusals
as problems, a batch id used for another feed."""

from __future__ import annotations

import re

from tests.conftest import Schemas
from tests.integration.analysis.support import running

RULE = "/v1/rules/fuel.over_tank/versions"
CJK = re.compile(r"[\u4e00-\u9fff]")


async def test_a_rule_version_pinned_to_a_stale_version_is_refused_with_the_current_one(
    database_url: str, schemas: Schemas
) -> None:
    async with running(database_url, schemas) as analysis:
        change = {"params": {"capacity_ratio": 1.1}, "reason": "油箱余量"}
        first = await analysis.http.post(
            RULE, json=change, headers={**analysis.analyst, "If-Match": '"1"'}
        )
        stale = await analysis.http.post(
            RULE, json=change, headers={**analysis.analyst, "If-Match": '"1"'}
        )
        unpinned = await analysis.http.post(RULE, json=change, headers=analysis.analyst)

        assert first.status_code == 201, first.text
        assert first.json()["version"] == 2 and first.headers["ETag"] == '"2"'
        assert first.json()["params"]["capacity_ratio"] == 1.1
        assert stale.status_code == 409
        assert stale.json()["type"] == "/problems/stale-version"
        assert stale.json()["current_version"] == 2
        assert unpinned.status_code == 201 and unpinned.json()["version"] == 3
        history = await analysis.http.get(RULE, headers=analysis.analyst)
        assert [v["version"] for v in history.json()] == [3, 2, 1]


async def test_refusals_of_rule_commands_name_the_rule_or_the_field(
    database_url: str, schemas: Schemas
) -> None:
    async with running(database_url, schemas) as analysis:
        unknown = await analysis.http.post(
            "/v1/rules/fuel.nope/versions", json={"reason": "x"}, headers=analysis.analyst
        )
        category = await analysis.http.post(
            RULE, json={"category": "weather", "reason": "x"}, headers=analysis.analyst
        )
        wrong_type = await analysis.http.post(
            RULE,
            json={"params": {"capacity_ratio": "big"}, "reason": "x"},
            headers=analysis.analyst,
        )
        bad_etag = await analysis.http.post(
            RULE, json={"reason": "x"}, headers={**analysis.analyst, "If-Match": "v1"}
        )
        run = await analysis.http.post(
            "/v1/rules/run",
            json={
                "period_from": "2026-03-01T00:00:00+08:00",
                "period_to": "2026-03-02T00:00:00+08:00",
                "rules": ["fuel.nope"],
            },
            headers=analysis.analyst,
        )

        assert unknown.status_code == 404
        assert unknown.json()["type"] == "/problems/unknown-rule"
        assert unknown.json()["detail"] == "没有预警规则 fuel.nope。"
        assert category.status_code == 422
        assert category.json()["errors"][0]["field"] == "category"
        assert wrong_type.json()["errors"] == [
            {"field": "params.capacity_ratio", "reason": "应为数字"}
        ]
        assert wrong_type.json()["detail"] == "params.capacity_ratio: 应为数字"
        assert bad_etag.status_code == 400
        assert run.status_code == 404 and run.json()["type"] == "/problems/unknown-rule"


async def test_a_batch_id_used_for_another_feed_is_refused(
    database_url: str, schemas: Schemas
) -> None:
    async with running(database_url, schemas) as analysis:
        await analysis.send(
            "units", '{"unit_code":"U001","name":"青山县财政局"}\n'.encode(), batch_id="b-1"
        )

        reused = await analysis.send(
            "holidays",
            b'{"day":"2026-10-01","name":"x","kind":"holiday"}\n',
            batch_id="b-1",
            expect=409,
        )

        assert reused["type"] == "/problems/batch-id-reused"
        assert reused["detail"] == "批次号 b-1 已用于 units 数据，请使用新的批次号。"


async def test_a_finding_pinned_to_a_stale_alert_version_is_refused_and_an_unknown_alert_is_404(
    database_url: str, schemas: Schemas
) -> None:
    async with running(database_url, schemas) as analysis:
        await analysis.send("units", '{"unit_code":"U001","name":"青山县财政局"}\n'.encode())
        await analysis.send(
            "people",
            '{"person_id":"U001-001","name":"王伟","unit_code":"U001","post":"局长","rank":"正科"}\n'.encode(),
        )
        await analysis.send(
            "drunk_driving",
            '{"case_no":"JJ1","person_id":"U001-001","name":"王伟","unit_code":"U001","ts":"2026-03-06T22:30:00+08:00"}\n'.encode(),
        )
        await analysis.settle()
        (alert,) = await analysis.alerts()
        url = f"/v1/alerts/{alert['alert_id']}/verification"
        finding = {"finding": "confirmed", "notes": "属实"}

        stale = await analysis.http.post(
            url, json=finding, headers={**analysis.investigator, "If-Match": '"7"'}
        )
        pinned = await analysis.http.post(
            url,
            json=finding,
            headers={**analysis.investigator, "If-Match": f'"{alert["version"]}"'},
        )
        missing = await analysis.http.post(
            "/v1/alerts/00000000-0000-0000-0000-000000000001/verification",
            json=finding,
            headers=analysis.investigator,
        )

        assert stale.status_code == 409 and stale.json()["type"] == "/problems/stale-version"
        assert stale.json()["current_version"] == alert["version"]
        assert pinned.status_code == 200, pinned.text
        assert pinned.json()["version"] == alert["version"] + 1
        assert pinned.headers["ETag"] == f'"{alert["version"] + 1}"'
        assert pinned.json()["finding_label"] == "属实"
        assert missing.status_code == 404
        assert missing.json()["type"] == "/problems/unknown-alert"
        assert missing.json()["detail"] == "没有预警 00000000-0000-0000-0000-000000000001。"


async def test_refusals_read_in_chinese_and_keep_their_machine_fields(
    database_url: str, schemas: Schemas
) -> None:
    async with running(database_url, schemas) as analysis:
        await analysis.send("units", '{"unit_code":"U001","name":"青山县财政局"}\n'.encode())
        await analysis.send(
            "people",
            '{"person_id":"U001-002","name":"李强","unit_code":"U001","post":"科长","rank":"正科"}\n'.encode(),
        )
        await analysis.send(
            "drunk_driving",
            '{"case_no":"JJ2","person_id":"U001-002","name":"李强","unit_code":"U001","ts":"2026-03-07T22:30:00+08:00"}\n'.encode(),
        )
        await analysis.settle()
        (alert,) = await analysis.alerts()
        url = f"/v1/alerts/{alert['alert_id']}/verification"
        finding = {"finding": "confirmed", "notes": "属实"}
        seen = {**analysis.investigator, "If-Match": f'"{alert["version"]}"'}
        clerk = analysis.mint.bearer(kind="operator", roles=("clerk",))

        invalid = await analysis.http.post(url, json={"finding": "maybe"}, headers=seen)
        stale = await analysis.http.post(
            url, json=finding, headers={**analysis.investigator, "If-Match": '"7"'}
        )
        wrong_role = await analysis.http.post(url, json=finding, headers=clerk)
        done = await analysis.http.post(url, json=finding, headers=seen)
        again = await analysis.http.post(url, json=finding, headers=analysis.investigator)

        assert done.status_code == 200, done.text
        refusals = {
            "validation-error": (invalid, 422),
            "stale-version": (stale, 409),
            "forbidden-role": (wrong_role, 403),
            "already-verified": (again, 409),
        }
        for slug, (response, status) in refusals.items():
            problem = response.json()
            assert (response.status_code, problem["type"]) == (status, f"/problems/{slug}")
            assert CJK.search(problem["title"]) and CJK.search(problem["detail"]), problem
            assert all(CJK.search(e["reason"]) for e in problem.get("errors", [])), problem
        assert invalid.json()["errors"][0] == {
            "field": "finding",
            "reason": "只能是：confirmed、false_positive、not_verifiable",
            "code": "enum",
        }
        assert stale.json()["title"] == "预警已被修改"
        assert "「属实」" in again.json()["detail"]
