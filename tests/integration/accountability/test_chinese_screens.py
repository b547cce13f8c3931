"""What accountability prints and shows a clerk is Chinese: the 红黄绿 explanation (also in
the printable 廉情通报), the monthly statistics in every format, and its refusals."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from tests.chinese import english_words, html_text, human_texts
from tests.conftest import Schemas
from tests.integration.accountability.conftest import LEADER, Accountability, eventually
from tests.integration.accountability.factories import UNIT
from tests.integration.accountability.test_ratings_and_reports import scenario

CASE_NUMBER = re.compile(r"\b[A-Z]{1,4}-\d{4}-\d+\b")
"""Case numbers are identifiers, printed as they are."""


def english_in(texts: list[str]) -> list[str]:
    return [w for t in texts for w in english_words(CASE_NUMBER.sub(" ", t))]


async def test_the_rating_explanation_briefing_and_statistics_a_clerk_reads_are_chinese(
    acc: Accountability, schemas: Schemas
) -> None:
    await scenario(acc, schemas)

    rating = (await acc.http.get(f"/v1/units/{UNIT}/rating", headers=LEADER)).json()
    shown = list(human_texts(rating))
    assert rating["explanation"] in shown and len(rating["history"]) == 2
    assert english_in(shown) == []

    async def board() -> list[str] | None:
        items = (await acc.http.get("/v1/ratings", headers=LEADER)).json()["items"]
        return list(human_texts(items)) if items else None

    assert english_in(await eventually(board, "the ratings board")) == []

    briefing = {"leader": "林副局长", "from": "2026-01-01", "to": "2026-12-31"}

    async def printed() -> list[str] | None:
        page = await acc.http.get(
            "/v1/reports/briefing", params={**briefing, "format": "html"}, headers=LEADER
        )
        text = html_text(page.text)
        return text if any(rating["explanation"] in t for t in text) else None

    # The 廉情通报 prints the unit's explanation, in Chinese.
    assert english_in(await eventually(printed, "the explanation in the 廉情通报")) == []

    month = {"month": "2026-10"}
    for fmt in ("json", "html", "csv"):
        answer = await acc.http.get(
            "/v1/reports/monthly", params={**month, "format": fmt}, headers=LEADER
        )
        assert answer.status_code == 200, answer.text
        texts: list[str]
        if fmt == "json":
            texts = list(human_texts(answer.json()))
        elif fmt == "html":
            texts = html_text(answer.text)
        else:
            rows = list(csv.reader(io.StringIO(answer.text)))
            # 代码 keeps the machine code; every other column is read by a clerk.
            texts = [*rows[0], *(cell for row in rows[1:] for cell in (row[1], row[3]))]
        assert english_in(texts) == [], fmt

    bad: Any = await acc.http.get(
        "/v1/reports/briefing", params={**briefing, "to": "2025-01-01"}, headers=LEADER
    )
    assert bad.status_code == 422
    problem = bad.json()
    assert problem["errors"][0]["field"] == "to"
    # The detail names the fields by their machine names, so the caller can find them.
    fields = "、".join(e["field"] for e in problem["errors"])
    assert problem["detail"] == f"请检查以下字段：{fields}"
    assert english_in([problem["title"], problem["errors"][0]["reason"]]) == []
