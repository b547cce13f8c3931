"""A NUL character (U+0000) anywhere in a request is a 422 naming the field, not a 500.

Found by the Schemathesis run: ``GET /v1/clue-transfers?status=%00`` reached PostgreSQL,
which refuses NUL in text, and answered 500.
"""

from __future__ import annotations

from tests.integration.fixtures import Intake
from tests.integration.intake.conftest import transfer
from tests.integration.intake.test_personal_data import operator_auth


def _names_the_field(response, field: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("nul-character")
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_a_nul_in_a_query_value_names_the_parameter(intake: Intake) -> None:
    partner = await intake.bearer(await intake.partner())
    clerk = await operator_auth(intake, "clerk")

    _names_the_field(
        await intake.http.get("/v1/clue-transfers?status=%00", headers=partner), "status"
    )
    _names_the_field(await intake.http.get("/v1/clues?unit=a%00b", headers=clerk), "unit")


async def test_a_nul_in_a_json_string_names_the_field_and_nothing_is_stored(
    intake: Intake,
) -> None:
    partner = await intake.bearer(await intake.partner())
    body = transfer(narrative="收受购物卡\u0000")
    body["reported_persons"][0]["post"] = "局长\u0000"

    response = await intake.http.post("/v1/clue-transfers", json=body, headers=partner)

    _names_the_field(response, "reported_persons[0].post")
    assert await intake.events() == []


async def test_a_nul_in_a_path_segment_is_refused(intake: Intake) -> None:
    response = await intake.http.post(
        "/v1/hotline-orders/GD%00001/updates", json={"status": "completed"}
    )

    _names_the_field(response, "path")


async def test_a_nul_in_a_form_field_names_it(intake: Intake) -> None:
    response = await intake.http.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": "a\x00b"}
    )

    _names_the_field(response, "client_id")


async def test_text_without_nul_still_goes_through(intake: Intake) -> None:
    partner = await intake.bearer(await intake.partner())

    response = await intake.http.post(
        "/v1/clue-transfers", json=transfer(narrative="反斜杠 \\u0000 不是空字符"), headers=partner
    )

    assert response.status_code == 201, response.text
