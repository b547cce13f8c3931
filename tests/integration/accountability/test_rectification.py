"""整改台账 through the HTTP API on a real PostgreSQL: 清单交办 → 跟踪督办 → 结果反馈 →
验收 → 回头看 (销号 or reopened), overdue items noticed exactly once across a restart, and
the read models rebuilt from the store equal to the live ones."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from libs.events.projections import ProjectionRunner
from services.accountability import app as accountability_app
from services.accountability.domain.rectification import RULES_FILE
from services.accountability.projections_rectification import RectificationProjection
from services.accountability.service.rectification import notice_overdue
from tests.conftest import Schemas
from tests.integration.accountability.conftest import (
    LEADER,
    OFFICER,
    Accountability,
    _jwks,
    start,
)

UNIT = "青山市住房和城乡建设局"


def rules_file(**changes: Any) -> str:
    """The shipped rectification rules with some periods changed (e.g. no wait before 回头看)."""
    data = {**json.loads(RULES_FILE.read_text(encoding="utf-8")), **changes}
    path = Path(tempfile.mkdtemp(prefix="zf-rect-")) / "rectification.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


LIST = {
    "unit": UNIT,
    "title": "青山市住建局违规使用公车问题整改清单",
    "source": {"kind": "case", "reference": "AJ-2026-000012", "summary": "公车私用案"},
    "items": [
        {
            "problem": "公务用车使用登记制度执行不严",
            "owner": "办公室",
            "owner_leader": "张建国",
            "measures": ["修订公务用车管理办法", "安装车辆北斗定位"],
            "immediate": True,
        },
        {"problem": "警示教育不到位", "owner": "机关党委", "working_days": 30},
    ],
}


async def _open(http: httpx.AsyncClient, body: dict[str, Any] = LIST) -> dict[str, Any]:
    r = await http.post("/v1/rectifications", json=body, headers=OFFICER)
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == f"/v1/rectifications/{r.json()['list_id']}"
    out: dict[str, Any] = r.json()
    return out


async def _post(
    http: httpx.AsyncClient, path: str, body: dict[str, Any], etag: str | None = None
) -> httpx.Response:
    headers = {**OFFICER, **({"If-Match": etag} if etag else {})}
    return await http.post(path, json=body, headers=headers)


async def _to_accepted(
    http: httpx.AsyncClient, lst: dict[str, Any], item_id: str
) -> dict[str, Any]:
    base = f"/v1/rectifications/{lst['list_id']}/items/{item_id}"
    r = await _post(http, f"{base}/progress", {"note": "已起草管理办法"})
    assert r.status_code == 200, r.text
    r = await _post(http, f"{base}/progress", {"note": "请本周内完成北斗安装", "urged": True})
    assert r.status_code == 200, r.text
    missing = await _post(http, f"{base}/completion", {"summary": "已完成", "evidence": []})
    assert missing.status_code == 422
    r = await _post(
        http,
        f"{base}/completion",
        {
            "summary": "管理办法已印发，12辆公车已安装定位",
            "evidence": [{"description": "青建办〔2026〕8号 公务用车管理办法"}],
            "accountability": "对办公室负责人诫勉谈话1人",
        },
    )
    assert r.status_code == 200, r.text
    unpinned = await _post(http, f"{base}/acceptance", {"passed": True, "opinion": "整改到位"})
    assert unpinned.status_code == 428
    r = await _post(
        http, f"{base}/acceptance", {"passed": True, "opinion": "整改到位"}, r.headers["ETag"]
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_list_is_handed_over_followed_up_accepted_and_closed_after_the_look_back(
    database_url: str, schemas: Schemas
) -> None:
    app, engine, _ = await start(
        database_url, schemas, rectification_file=rules_file(review_after_working_days=0)
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://acc") as http:
            acc = Accountability(app, http, engine, "")
            lst = await _open(http)
            first, second = lst["items"]
            assert first["immediate"] and first["owner"] == "办公室"
            assert first["owner_leader"] == "张**"
            assert first["status_label"] == "整改中"
            assert first["allowed_commands"] == ["progress", "completion"]

            accepted = await _to_accepted(http, lst, first["item_id"])
            item = accepted["items"][0]
            assert item["status_label"] == "已验收待回头看"
            assert item["allowed_commands"] == ["review"]
            review = f"/v1/rectifications/{lst['list_id']}/items/{first['item_id']}/review"
            r = await _post(
                http,
                review,
                {"holds": True, "finding": "回访未发现反弹"},
                f'"{accepted["version"]}"',
            )
            assert r.status_code == 200, r.text
            closed = r.json()["items"][0]
            assert closed["status_label"] == "已销号" and closed["allowed_commands"] == []
            assert [h["action"] for h in closed["history"]] == [
                "交办", "跟踪督办", "跟踪督办", "结果反馈", "验收", "回头看",
            ]  # fmt: skip

            await acc.app.state.runtime.projections.catch_up()
            lists = (
                await http.get("/v1/rectifications", params={"unit": UNIT}, headers=LEADER)
            ).json()
            assert [(x["items"], x["closed"], x["source_kind_label"]) for x in lists["items"]] == [
                (2, 1, "案件")
            ]
            open_items = (
                await http.get(
                    "/v1/rectification-items",
                    params={"unit": UNIT, "status": "in_progress"},
                    headers=LEADER,
                )
            ).json()["items"]
            assert [i["item_id"] for i in open_items] == [second["item_id"]]
            bad = await http.get(
                "/v1/rectification-items", params={"status": "done"}, headers=LEADER
            )
            assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "status"
            figures = (await http.get(f"/v1/units/{UNIT}/rectification", headers=LEADER)).json()
            assert (figures["total"], figures["closed"], figures["in_progress"]) == (2, 1, 1)

            async with engine.connect() as conn:
                data = (await conn.execute(text("SELECT data::text FROM events"))).scalars().all()
            assert not any("张建国" in d for d in data), "an owner's name is sealed, never in clear"

            asyncapi = (await http.get("/v1/asyncapi.json")).json()
            mine = asyncapi["channels"]["accountability"]["messages"]
            assert {"rectification_list_opened", "rectification_item_overdue"} <= set(mine)

            before = await _rows(engine)
            await ProjectionRunner(acc.store, [RectificationProjection()]).rebuild(
                RectificationProjection(), progress=False
            )
            assert await _rows(engine) == before


async def _rows(engine: Any) -> list[Any]:
    async with engine.connect() as conn:
        lists = (
            await conn.execute(text("SELECT * FROM rectification_lists ORDER BY list_id"))
        ).all()
        items = (
            await conn.execute(text("SELECT * FROM rectification_items ORDER BY item_id"))
        ).all()
    return [*lists, *items]


async def test_a_look_back_that_finds_the_problem_back_reopens_the_item(
    database_url: str, schemas: Schemas
) -> None:
    app, _, _ = await start(
        database_url, schemas, rectification_file=rules_file(review_after_working_days=0)
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://acc") as http:
            lst = await _open(http)
            item_id = lst["items"][0]["item_id"]
            accepted = await _to_accepted(http, lst, item_id)
            review = f"/v1/rectifications/{lst['list_id']}/items/{item_id}/review"
            vague = await _post(http, review, {"holds": False}, f'"{accepted["version"]}"')
            assert vague.status_code == 422 and vague.json()["errors"][0]["field"] == "finding"

            r = await _post(
                http,
                review,
                {"holds": False, "finding": "回头看发现仍有公车私用"},
                f'"{accepted["version"]}"',
            )

            assert r.status_code == 200, r.text
            detail = (
                await http.get(
                    f"/v1/rectifications/{lst['list_id']}/items/{item_id}", headers=LEADER
                )
            ).json()
            assert (detail["status_label"], detail["round"], detail["completed"]) == (
                "整改中",
                2,
                None,
            )
            assert [h["action"] for h in detail["history"]][-3:] == ["验收", "回头看", "重新整改"]
            assert "仍有公车私用" in detail["history"][-1]["note"]
            listed = (await http.get(f"/v1/rectifications/{lst['list_id']}", headers=LEADER)).json()
            assert listed["progress"]["reopened"] == 1


async def _overdue_events(engine: Any) -> int:
    async with engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM events WHERE type = 'zhengfeng.rectification.item_overdue'"
                    )
                )
            ).scalar_one()
        )


async def test_an_item_past_its_deadline_is_noticed_exactly_once_across_a_restart(
    database_url: str, schemas: Schemas
) -> None:
    late = {"today": date.today()}
    first, engine, schema = await start(database_url, schemas)
    async with first.router.lifespan_context(first):
        transport = httpx.ASGITransport(app=first)
        async with httpx.AsyncClient(transport=transport, base_url="http://acc") as http:
            lst = await _open(http)
            deadline = date.fromisoformat(lst["items"][0]["deadline"])
            late["today"] = deadline + timedelta(days=1)
            await first.state.runtime.projections.catch_up()
            store, deps = first.state.runtime.store, first.state.deps
            assert await notice_overdue(store, deps, deadline) == 0
            assert await notice_overdue(store, deps, late["today"]) == 1

    for _ in range(2):  # the service comes back (twice), its scheduler running
        again = accountability_app.create(
            accountability_app.Settings(
                database_url=database_url,
                db_schema=schema,
                kafka_bootstrap_servers="",
                run_scheduler=True,
                scheduler_interval_seconds=0.05,
                documents_dir=Path(tempfile.mkdtemp(prefix="zf-acc-documents-")),
            ),
            jwks_fetcher=lambda app: _jwks,
            today=lambda: late["today"],
        )
        async with again.router.lifespan_context(again):
            store, deps = again.state.runtime.store, again.state.deps
            await again.state.runtime.projections.catch_up()
            for _ in range(3):
                assert await notice_overdue(store, deps, late["today"]) == 0
            transport = httpx.ASGITransport(app=again)
            async with httpx.AsyncClient(transport=transport, base_url="http://acc") as http:
                overdue = (
                    await http.get(
                        "/v1/rectification-items", params={"overdue": "true"}, headers=LEADER
                    )
                ).json()["items"]
                detail = (
                    await http.get(f"/v1/rectifications/{lst['list_id']}", headers=LEADER)
                ).json()
                rating = (await http.get(f"/v1/units/{UNIT}/rating", headers=LEADER)).json()

        assert await _overdue_events(engine) == 1
    assert [i["item_id"] for i in overdue] == [lst["items"][0]["item_id"]]
    assert detail["progress"]["overdue"] == 1
    assert detail["items"][0]["history"][-1]["action"] == "逾期未完成"
    # The overdue item counts against the unit (its rating, the monthly report), once.
    assert rating["inputs"]["overdue"] == 1
    assert "整改超期 1 项" in rating["explanation"]


async def test_the_four_standard_lists_print_as_documents_with_their_ledgers(
    acc: Accountability,
) -> None:
    lst = await _open(acc.http)
    base = f"/v1/rectifications/{lst['list_id']}/lists"
    texts = {}
    for kind, heading in (("key_problems", "存在问题"), ("measures", "整改措施"),
                          ("results", "整改情况"), ("accountability", "问责处理情况")):  # fmt: skip
        r = await acc.http.get(f"{base}/{kind}", headers=LEADER)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
        xml = zipfile.ZipFile(io.BytesIO(r.content)).read("word/document.xml").decode()
        assert heading in xml and "<w:tbl>" in xml
        assert "张建国" not in xml
        texts[kind] = xml
    assert "修订公务用车管理办法；安装车辆北斗定位" in texts["measures"]
    assert "青山市住房和城乡建设局重点问题清单" in texts["key_problems"]
    assert "整改中2个" in texts["results"]
    unknown = await acc.http.get(f"{base}/everything", headers=LEADER)
    assert unknown.status_code == 422
