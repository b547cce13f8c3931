"""Body limits: a command's body is held to the default, a route's own limit streams."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from libs.kit.limits import BodyLimit

READ: list[int] = []


async def count(request: Request) -> JSONResponse:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        READ.append(len(chunk))
    return JSONResponse({"size": size})


def client() -> httpx.AsyncClient:
    app = Starlette(routes=[Route("/cmd", count, methods=["POST"]),
                            Route("/feed/{n}", count, methods=["POST"])])  # fmt: skip
    limited = BodyLimit(app, max_bytes=1000, routes=[("/feed/[^/]+", 10_000)])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=limited), base_url="http://t")


def chunks(n: int, size: int = 500) -> Any:
    async def gen() -> Any:
        for _ in range(n):
            yield b"x" * size

    return gen()


async def test_a_command_body_within_the_default_is_passed_whole() -> None:
    async with client() as http:
        response = await http.post("/cmd", content=b"x" * 1000)

    assert response.json() == {"size": 1000}


async def test_a_command_body_over_the_default_is_413_with_or_without_a_length() -> None:
    async with client() as http:
        declared = await http.post("/cmd", content=b"x" * 1001)
        streamed = await http.post("/cmd", content=chunks(3))

    assert [declared.status_code, streamed.status_code] == [413, 413]
    assert streamed.json()["errors"] == [{"field": "body", "reason": "超过 1000 字节"}]


async def test_a_route_with_its_own_limit_streams_up_to_it() -> None:
    READ.clear()
    async with client() as http:
        response = await http.post("/feed/1", content=chunks(20))

    assert response.json() == {"size": 10_000}
    assert max(READ) <= 500


async def test_a_streamed_body_over_its_route_limit_is_cut_off_with_a_413() -> None:
    READ.clear()
    async with client() as http:
        response = await http.post("/feed/1", content=chunks(100))

    assert response.status_code == 413
    assert response.json()["detail"] == "此处每次提交不得超过 10000 字节。"
    assert sum(READ) <= 10_000


async def test_an_address_too_long_is_414_before_the_app_sees_it() -> None:
    READ.clear()
    async with client() as http:
        long_query = await http.post("/cmd", params={"q": "x" * 9000}, content=b"x")
        many = await http.post("/cmd", params={f"p{i}": "1" for i in range(65)}, content=b"x")
        fine = await http.post("/cmd", params={f"p{i}": "1" for i in range(64)}, content=b"x")

    assert long_query.status_code == 414
    assert long_query.json()["errors"] == [
        {"field": "query", "reason": "地址和查询参数合计不得超过 8192 字节"}
    ]
    assert many.status_code == 414
    assert many.json()["title"] == "查询参数过多"
    assert fine.status_code == 200
    assert sum(READ) == 1  # only the request within the limits reached the app


async def test_headers_too_many_or_too_large_are_431_in_chinese() -> None:
    async with client() as http:
        many = await http.post("/cmd", headers={f"x-h{i}": "1" for i in range(101)}, content=b"")
        large = await http.post("/cmd", headers={"x-big": "x" * 33_000}, content=b"")
        token = await http.post("/cmd", headers={"authorization": "Bearer " + "t" * 4000})

    assert many.status_code == large.status_code == 431
    assert many.headers["content-type"] == "application/problem+json"
    assert large.json()["title"] == "请求头过大"
    assert large.json()["errors"][0]["field"] == "headers"
    assert token.status_code == 200
