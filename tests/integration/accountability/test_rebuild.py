"""Every read model accountability keeps live is rebuilt from its store equal to itself, as
`zhengfeng projections rebuild` does it: 考核评价, 约谈, 民主评议 and 廉政档案 included (their
projections live outside ``projections.py``, and the rebuild once did not know them)."""

from __future__ import annotations

from sqlalchemy import text

import tests.integration.accountability.test_appraisal as appraisal
import tests.integration.accountability.test_integrity as integrity
from libs.events.projections import ProjectionRunner
from services.accountability.app import Settings, read_models
from tests.conftest import Schemas
from tests.integration.accountability.conftest import Accountability


async def _rows(acc: Accountability, tables: tuple[str, ...] | list[str]) -> dict[str, list[str]]:
    async with acc.engine.connect() as conn:
        return {
            table: list(
                (await conn.execute(text(f'SELECT t::text FROM "{table}" t ORDER BY 1'))).scalars()
            )
            for table in tables
        }


async def test_every_read_model_rebuilds_equal_to_the_live_one(
    acc: Accountability, schemas: Schemas
) -> None:
    await appraisal.test_a_low_half_year_score_opens_an_interview_until_it_is_held(acc, schemas)
    await integrity.test_inquiry_letters_cases_and_a_cleared_name_reach_the_record(acc, schemas)

    models = read_models(Settings())
    names = {m.name for m in models}
    assert {"appraisal", "integrity", "rectification", "suggestions"} <= names
    for model in models:
        live = await _rows(acc, list(model.tables))
        if model.name in ("appraisal", "integrity"):
            assert any(live.values()), f"{model.name}: the scenario left rows to rebuild"
        await ProjectionRunner(acc.store, [model]).rebuild(model, progress=False)
        assert await _rows(acc, list(model.tables)) == live, model.name
