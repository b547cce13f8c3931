"""Every generic answer the kit gives is Chinese for the clerk; its machine fields stay.

A tiny app in memory (httpx's ASGI transport): no socket, database or broker.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date
from typing import Literal

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from libs.events.store import ConcurrencyError
from libs.kit import problems
from libs.kit.auth import CurrentPrincipal, Principal, require_roles
from libs.kit.commands import Aggregate, Command, Pipeline
from libs.kit.problems import Problem

CJK = re.compile(r"[\u4e00-\u9fff]")

CASE: Aggregate[None] = Aggregate(
    noun="case", label="案件", stream=lambda key: f"case-{key}", initial=lambda: None,
    evolve=lambda state, event: state,
)  # fmt: skip
PINNED: Command[None] = Command(
    name="decide", aggregate=CASE, decide=lambda s, b, c: [], render=lambda s, c: {},
    if_match="required",
)  # fmt: skip


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=2)
    form: Literal["first", "second"]
    days: int = Field(ge=1)
    served_on: date


class Verifier:
    async def verify(self, token: str) -> Principal:
        return Principal(subject="clerk-1", kind="operator", roles=frozenset({"clerk"}))


def kit_app() -> FastAPI:
    app = FastAPI()
    problems.install(app)
    app.state.verifier = Verifier()

    @app.post("/verdicts")
    async def verdict(body: Verdict) -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/mine")
    async def mine(principal: CurrentPrincipal) -> dict[str, str]:
        return {"ok": principal.subject}

    @app.get("/leaders", dependencies=[require_roles("leader")])
    async def leaders() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/status/{code}")
    async def status(code: int) -> None:
        raise HTTPException(code)

    @app.get("/stale")
    async def stale() -> None:
        raise ConcurrencyError("case-1", 7, 9)

    @app.get("/pinned")
    async def pinned() -> None:
        await Pipeline(store=None).execute(PINNED, "1", {}, Principal("c", "operator"))  # type: ignore[arg-type]

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("disk on fire")

    @app.get("/lost")
    async def lost() -> None:
        raise ConnectionError("connection reset by peer")

    return app


@pytest.fixture
async def kit() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=kit_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://unit") as client:
        yield client


BEARER = {"Authorization": "Bearer any"}

GENERIC = [
    (401, "get", "/mine", {}, "unauthenticated"),
    (403, "get", "/leaders", BEARER, "forbidden-role"),
    (404, "get", "/nowhere", {}, "not-found"),
    (405, "delete", "/mine", {}, "method-not-allowed"),
    (409, "get", "/stale", {}, "stale-version"),
    (412, "get", "/status/412", {}, "precondition-failed"),
    (413, "get", "/status/413", {}, "too-large"),
    (415, "get", "/status/415", {}, "unsupported-media-type"),
    (422, "post", "/verdicts", {}, "validation-error"),
    (428, "get", "/pinned", {}, "if-match-required"),
    (429, "get", "/status/429", {}, "too-many-requests"),
    (500, "get", "/crash", {}, "internal-error"),
    (503, "get", "/lost", {}, "database-unavailable"),
]


@pytest.mark.parametrize(("status", "method", "path", "headers", "slug"), GENERIC)
async def test_every_generic_problem_has_a_chinese_title_and_its_english_slug(
    kit: httpx.AsyncClient, status: int, method: str, path: str, headers: dict[str, str], slug: str
) -> None:
    response = await kit.request(method, path, headers=headers)

    assert response.status_code == status
    problem = response.json()
    assert problem["type"] == f"/problems/{slug}"
    assert CJK.search(problem["title"]), problem
    assert "detail" not in problem or CJK.search(problem["detail"]), problem


async def test_field_errors_are_chinese_by_pydantic_type_and_keep_the_type_as_code(
    kit: httpx.AsyncClient,
) -> None:
    body = {"reason": "x", "form": "third", "days": 0, "served_on": "昨天", "extra": 1}
    response = await kit.post("/verdicts", json=body)

    problem = response.json()
    assert problem["title"] == "提交的内容不符合要求"
    assert problem["detail"] == "请检查以下字段：reason、form、days、served_on、extra"
    assert {e["field"]: (e["code"], e["reason"]) for e in problem["errors"]} == {
        "reason": ("string_too_short", "至少 2 个字符"),
        "form": ("literal_error", "只能是：first、second"),
        "days": ("greater_than_equal", "不得小于 1"),
        "served_on": ("date_from_datetime_parsing", "应为日期，格式 YYYY-MM-DD"),
        "extra": ("extra_forbidden", "不接受该字段"),
    }


async def test_a_missing_field_is_required_and_broken_json_is_named(
    kit: httpx.AsyncClient,
) -> None:
    missing = await kit.post(
        "/verdicts", json={"form": "first", "days": 1, "served_on": "2026-03-02"}
    )
    broken = await kit.post(
        "/verdicts", content=b'{"reason": ', headers={"Content-Type": "application/json"}
    )

    assert missing.json()["errors"] == [{"field": "reason", "reason": "必填", "code": "missing"}]
    (error,) = broken.json()["errors"]
    assert (error["field"], error["code"]) == ("body", "json_invalid")
    assert error["reason"].startswith("不是合法的 JSON")


async def test_a_stale_version_names_both_versions_and_says_read_it_again(
    kit: httpx.AsyncClient,
) -> None:
    problem = (await kit.get("/stale")).json()

    assert problem["current_version"] == 9
    assert "当前版本 9" in problem["detail"] and "请重新读取后再提交" in problem["detail"]


async def test_a_wrong_role_names_the_roles_in_chinese(kit: httpx.AsyncClient) -> None:
    problem = (await kit.get("/leaders", headers=BEARER)).json()

    assert problem["detail"] == "此项须由以下角色之一办理：分管领导。"


async def test_a_command_without_if_match_names_the_matter(kit: httpx.AsyncClient) -> None:
    problem = (await kit.get("/pinned")).json()

    assert problem["title"] == "缺少版本号"
    assert "案件版本号" in problem["detail"]
    assert problem["errors"] == [{"field": "If-Match", "reason": "必填"}]


def test_a_raised_problem_keeps_what_the_service_said() -> None:
    problem = Problem(409, "reference-reused", "该来源编号已使用")

    assert problem.body()["title"] == "该来源编号已使用"
