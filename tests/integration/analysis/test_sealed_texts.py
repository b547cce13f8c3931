"""Analysis's free text (an alert's summary, a verifier's notes) sealed with the alert's key:
read as written by the analysts, never by a partner, unreadable once the person is shredded."""

from __future__ import annotations

import json
from uuid import uuid4

import httpx
from sqlalchemy import text

from libs.events import pii
from tests.conftest import Schemas
from tests.integration.analysis.support import running
from tests.integration.fixtures import eventually

NOTES = "经线下核查，王伟当晚确系参加私人聚餐后驾车"


async def test_an_alerts_summary_and_notes_are_sealed_and_shredded_with_its_subject(
    database_url: str, schemas: Schemas
) -> None:
    async with running(database_url, schemas) as analysis:
        await analysis.send("units", '{"unit_code":"U001","name":"青山县财政局"}\n'.encode())
        await analysis.send(
            "people",
            '{"person_id":"U001-001","name":"王伟","unit_code":"U001","post":"局长","rank":"正科"}\n'.encode(),
        )
        # A case number of its own: an alert's id follows from its evidence, and a matter
        # shredded by an earlier run stays shredded (its new text would read [已销毁]).
        row = {"case_no": f"JJ-{uuid4().hex[:8]}", "person_id": "U001-001", "name": "王伟",
               "unit_code": "U001", "ts": "2026-03-06T22:30:00+08:00"}  # fmt: skip
        await analysis.send("drunk_driving", (json.dumps(row, ensure_ascii=False) + "\n").encode())
        await analysis.settle()
        (alert,) = await analysis.alerts()
        verified = await analysis.http.post(
            f"/v1/alerts/{alert['alert_id']}/verification",
            json={"finding": "confirmed", "notes": NOTES},
            headers={**analysis.investigator, "If-Match": f'"{alert["version"]}"'},
        )
        assert verified.status_code == 200, verified.text
        async with analysis.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT data FROM events"))).scalars().all()
        stored = json.dumps(rows, ensure_ascii=False)

        async def shown() -> httpx.Response | None:
            # The board catches up after the answer (read in commit-safe order, which may
            # wait behind another transaction of the database begun before the finding's).
            await analysis.settle()
            r = await analysis.http.get(
                f"/v1/alerts/{alert['alert_id']}", headers=analysis.investigator
            )
            return r if r.json()["finding_notes"] is not None else None

        read = await eventually(shown, "the board to show the finding")
        vault = pii.Vault.from_env(analysis.engine)
        [raised] = [r for r in rows if "subject" in r and r.get("rule_id")]
        ref = raised["subject"]["person_ref"]

        await vault.shred(ref, by="test", reason="依法删除", now=pii.now())
        after = await analysis.http.get(
            f"/v1/alerts/{alert['alert_id']}", headers=analysis.investigator
        )

        assert NOTES not in stored and "王伟" not in stored
        assert f"{pii.MATTER_TEXT_PREFIX}{alert['alert_id']}." in stored
        assert NOTES in read.text and pii.MATTER_TEXT_PREFIX not in read.text
        assert after.status_code == 200
        assert NOTES not in after.text and "王伟" not in after.text
        assert (await analysis.app.state.runtime.store.verify()).ok
