"""问题类别目录 over HTTP: anyone reads the deployment's three-level taxonomy."""

from __future__ import annotations

from tests.integration.fixtures import Intake


async def test_the_category_tree_is_readable_without_a_login(intake: Intake) -> None:
    response = await intake.http.get("/v1/categories")

    assert response.status_code == 200, response.text
    body = response.json()
    groups = {g["label"]: g for g in body["groups"]}
    assert len(groups["享乐主义、奢靡之风"]["classes"]) == 9
    assert len(groups["形式主义、官僚主义"]["classes"]) == 15
    dining = groups["享乐主义、奢靡之风"]["classes"][0]
    assert (dining["code"], dining["label"], dining["dining"]) == (
        "violation_dining",
        "违规吃喝",
        True,
    )
    assert {"code": "public_funds_dining", "label": "公款吃喝"} in dining["manifestations"]
    assert body["formerly"]["vanity_projects"] == "digital_achievements"
