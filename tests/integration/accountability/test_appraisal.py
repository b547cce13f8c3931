"""考核评价 and 民主评议 through the HTTP API: a survey answered once per link and tallied
without a trace of who answered; a unit appraised for a half-year with the explanation, a
low score turning into a 约谈 in the to-do until it is held."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

from libs.events import pii
from libs.events.contracts.casework import CaseDecided, Subject
from libs.events.store import EventStore
from tests.conftest import Schemas
from tests.integration.accountability.conftest import LEADER, OFFICER, Accountability, eventually
from tests.integration.accountability.factories import UNIT
from tests.integration.accountability.test_ratings_and_reports import deliver

POOR = {"overall": 1, "efficiency": 1, "integrity": 2, "service": 1, "worst": "推诿扯皮"}


def decided_in_spring(day: int) -> CaseDecided:
    return CaseDecided(
        case_id=uuid4(), case_number=f"AJ-2026-03{day:02d}", clue_ids=[],
        subject=Subject(name=f"干部{day}", unit=UNIT, department="财务科", rank="科级"),
        categories=["violation_dining"], form=1, measures=["criticism_education"],
        misconduct_date=date(2026, 1, day), decided_by="县纪委",
        decided_at=datetime(2026, 3, day, 9, tzinfo=UTC),
    )  # fmt: skip


async def test_survey_responses_count_once_per_link_and_carry_no_respondent(
    acc: Accountability,
) -> None:
    published = await acc.http.post(
        "/v1/surveys", json={"unit": UNIT, "period": "2026-H1", "tokens": 3}, headers=OFFICER
    )
    assert published.status_code == 201, published.text
    survey = published.json()
    first, second, _ = (link["token"] for link in survey["links"])
    bare = {"unit": UNIT, "period": "2026", "tokens": 1,
            "questions": [{"code": "q", "text": "满意吗", "kind": "choice", "choices": ["是"]}]}  # fmt: skip
    refused = await acc.http.post("/v1/surveys", json=bare, headers=OFFICER)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "questions.0.choices"
    sid = survey["survey_id"]

    form = await acc.http.get(f"/v1/surveys/{sid}/form", params={"token": first})
    assert form.json()["title"] == "机关作风民主评议问卷"
    answer = {"token": first, "answers": POOR}
    assert (await acc.http.post(f"/v1/surveys/{sid}/responses", json=answer)).status_code == 201
    again = await acc.http.post(f"/v1/surveys/{sid}/responses", json=answer)
    assert again.status_code == 409 and again.json()["title"] == "问卷已提交"
    forged = {"token": "2-" + "0" * 24, "answers": POOR}
    assert (await acc.http.post(f"/v1/surveys/{sid}/responses", json=forged)).status_code == 403
    bad = await acc.http.post(
        f"/v1/surveys/{sid}/responses", json={"token": second, "answers": {**POOR, "overall": 9}}
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "answers.overall"
    ok = {"token": second, "answers": {**POOR, "overall": 2}}
    assert (await acc.http.post(f"/v1/surveys/{sid}/responses", json=ok)).status_code == 201

    async def tallied() -> dict[str, Any] | None:
        r = (await acc.http.get(f"/v1/surveys/{sid}/results", headers=OFFICER)).json()
        return r if r["responses"] == 2 else None

    results = await eventually(tallied, "two responses tallied")
    overall = next(q for q in results["questions"] if q["code"] == "overall")
    assert overall["distribution"] == {"1": 1, "2": 1, "3": 0, "4": 0, "5": 0}
    listed = await acc.http.get(
        "/v1/surveys", params={"unit": UNIT, "period": "2026-H1"}, headers=LEADER
    )
    assert [(x["survey_id"], x["tokens"]) for x in listed.json()["items"]] == [(sid, 3)]

    answered = [
        r for r in await acc.store.read_all() if r.envelope.type.endswith("survey_answered")
    ]
    assert len(answered) == 2
    for r in answered:  # the answers alone: no link, no respondent
        assert first not in str(r.envelope.data) and second not in str(r.envelope.data)
        assert r.envelope.actor == "public:respondent"
        assert set(r.envelope.data) == {"survey_id", "answers", "texts"}


async def test_a_free_answer_is_sealed_with_the_surveys_key_and_read_by_the_office_alone(
    acc: Accountability,
) -> None:
    words = "窗口的赵德胜经常不在岗"
    survey = (
        await acc.http.post(
            "/v1/surveys", json={"unit": UNIT, "period": "2026-H1", "tokens": 2}, headers=OFFICER
        )
    ).json()
    sid = survey["survey_id"]
    for link, advice in zip(survey["links"], (words, ""), strict=True):
        answer = {"token": link["token"], "answers": {**POOR, "advice": advice}}
        answered = await acc.http.post(f"/v1/surveys/{sid}/responses", json=answer)
        assert answered.status_code == 201, answered.text

    async def tallied() -> dict[str, Any] | None:
        r = (await acc.http.get(f"/v1/surveys/{sid}/results", headers=OFFICER)).json()
        return r if r["responses"] == 2 else None

    results = await eventually(tallied, "two responses tallied")
    texts = await acc.http.get(f"/v1/surveys/{sid}/texts", headers=OFFICER)
    refused = await acc.http.get(f"/v1/surveys/{sid}/texts", headers=LEADER)
    stored = [
        r.envelope.data
        for r in await acc.store.read_all()
        if r.envelope.type.endswith("survey_answered")
    ]

    assert all(words not in str(data) for data in stored)
    sealed = [d["texts"]["advice"] for d in stored if d["texts"]]
    assert len(sealed) == 1 and sealed[0].startswith(f"{pii.MATTER_TEXT_PREFIX}{sid}.")
    assert [d["answers"]["worst"] for d in stored] == ["推诿扯皮", "推诿扯皮"]  # codes in clear
    worst = next(q for q in results["questions"] if q["code"] == "worst")
    advice = next(q for q in results["questions"] if q["code"] == "advice")
    assert worst["distribution"]["推诿扯皮"] == 2 and advice["texts"] == 1
    assert words not in str(results)  # the tally counts the words, never shows them
    assert texts.status_code == 200
    assert texts.json()["items"] == [{"code": "advice", "question": "意见和建议", "text": words}]
    assert refused.status_code == 403


async def test_a_low_half_year_score_opens_an_interview_until_it_is_held(
    acc: Accountability, schemas: Schemas
) -> None:
    casework = EventStore(await schemas.migrated("casework"), source="/zhengfeng/casework")
    for day in (3, 10, 17, 24):
        await deliver(acc, casework, decided_in_spring(day))
    survey = (
        await acc.http.post(
            "/v1/surveys", json={"unit": UNIT, "period": "2026-H1", "tokens": 2}, headers=OFFICER
        )
    ).json()
    for link in survey["links"]:
        await acc.http.post(
            f"/v1/surveys/{survey['survey_id']}/responses",
            json={"token": link["token"], "answers": POOR},
        )

    async def ready() -> bool:
        r = (
            await acc.http.get(f"/v1/surveys/{survey['survey_id']}/results", headers=OFFICER)
        ).json()
        m = (await acc.http.get("/v1/reports/monthly?month=2026-03", headers=OFFICER)).json()
        return r["responses"] == 2 and m["decided"] == 4

    await eventually(ready, "answers and decisions in the read models")
    misspelt = {"period": "2026-H1", "hotline_satisfaction": {"泰顺县交通局": 80}}
    wrong = await acc.http.post("/v1/appraisals", json=misspelt, headers=OFFICER)
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "hotline_satisfaction.泰顺县交通局"
    early = await acc.http.post("/v1/appraisals", json={"period": "2099"}, headers=OFFICER)
    assert early.status_code == 422 and early.json()["errors"][0]["field"] == "period"

    appraised = await acc.http.post(
        "/v1/appraisals",
        json={"period": "2026-H1", "hotline_satisfaction": {UNIT: 50}},
        headers=OFFICER,
    )
    assert appraised.status_code == 201, appraised.text
    (unit,) = [u for u in appraised.json()["units"] if u["unit"] == UNIT]
    assert unit["score"] < 60 and unit["grade_label"] == "不合格"
    assert (
        "违纪违法案件60分（权重25；期内作出处理决定4件（其中重大0件），扣40分）"
        in unit["explanation"]
    )
    assert "12345热线满意度50分" in unit["explanation"] and "民主评议" in unit["explanation"]
    assert unit["explanation"].endswith("低于60分，应予约谈。")
    again = await acc.http.post("/v1/appraisals", json={"period": "2026-H1"}, headers=OFFICER)
    assert again.status_code == 409

    async def todo() -> list[dict[str, Any]]:
        r = await acc.http.get("/v1/interviews", params={"status": "open"}, headers=OFFICER)
        return list(r.json()["items"])

    (task,) = await eventually(todo, "the 约谈 in the to-do")
    assert task["unit"] == UNIT and task["reason"].startswith("2026年上半年考核评价")
    held = await acc.http.post(
        f"/v1/interviews/{task['task_id']}/held",
        json={
            "held_on": date.today().isoformat(),
            "note": "约谈局党组书记，责令三十日内报送整改方案",
        },
        headers=OFFICER,
    )
    assert held.status_code == 200, held.text
    assert held.json()["status_label"] == "已约谈"

    async def done() -> bool:
        return not await todo()

    await eventually(done, "the 约谈 leaving the to-do")
    scores = (
        await acc.http.get("/v1/appraisals", params={"period": "2026-H1"}, headers=OFFICER)
    ).json()
    assert scores["items"][0]["unit"] == UNIT
    assert scores["items"][0]["grade_label"] == "不合格"
