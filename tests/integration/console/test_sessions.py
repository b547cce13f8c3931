"""The console's sessions in PostgreSQL: the cookie, the CSRF token on state changes, the idle
timeout, renewal while in use up to an absolute end, and a restart that loses no one."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text

from console.sessions import COOKIE, CSRF_HEADER
from libs.kit.auth import Principal
from libs.kit.db import make_engine
from tests.conftest import Schemas
from tests.integration.console.conftest import Clock, client, running

CLERK = Principal(
    subject="zhangmin", kind="operator", name="信访室 张敏", roles=frozenset({"clerk"})
)


async def test_the_session_tells_the_operator_and_csrf_token_but_never_a_token(
    schemas: Schemas,
) -> None:
    async with running(schemas) as (app, _):
        sid, session = await app.state.sessions.open("secret-token", CLERK, 900, "refresh", 3600)
        async with client(app) as http:
            http.cookies.set(COOKIE, sid)
            answer = await http.get("/auth/session")

    assert answer.status_code == 200
    body = answer.json()
    assert body["operator"] == {
        "id": "zhangmin",
        "name": "信访室 张敏",
        "department": None,
        "roles": ["clerk"],
    }
    assert body["csrf_token"] == session.csrf and body["idle_seconds"] == 900
    assert "secret-token" not in answer.text and "refresh" not in answer.text


async def test_an_idle_session_ends_with_a_problem_in_chinese(schemas: Schemas) -> None:
    clock = Clock()
    async with running(schemas, clock=clock, session_idle_seconds=60) as (app, _):
        sid, _ = await app.state.sessions.open("token", CLERK, 900, "refresh", 3600)
        async with client(app) as http:
            http.cookies.set(COOKIE, sid)
            clock.now += 30
            assert (await http.get("/auth/session")).status_code == 200  # use restarts the clock
            clock.now += 59
            assert (await http.get("/auth/session")).status_code == 200
            clock.now += 61
            answer = await http.get("/auth/session")

    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "/problems/session-expired"
    assert answer.json()["title"] == "登录已失效"


async def test_a_pages_calls_at_once_keep_the_session_alive_and_it_still_ends_when_idle(
    schemas: Schemas,
) -> None:
    clock = Clock()
    async with running(schemas, clock=clock, session_idle_seconds=60) as (app, _):
        sid, _ = await app.state.sessions.open("token", CLERK, 900, "refresh", 3600)
        async with client(app) as http:
            http.cookies.set(COOKIE, sid)
            clock.now += 30
            page = await asyncio.gather(*(http.get("/auth/session") for _ in range(8)))
            clock.now += 59  # 59 s after the page: still in use
            again = await http.get("/auth/session")
            clock.now += 61  # then idle for longer than 60 s
            answer = await http.get("/auth/session")

    assert [a.status_code for a in page] == [200] * 8
    assert again.status_code == 200
    assert answer.status_code == 401
    assert answer.json()["type"] == "/problems/session-expired"


async def test_a_busy_session_is_renewed_without_a_login_and_ends_at_its_absolute_end(
    schemas: Schemas,
) -> None:
    clock = Clock()
    refreshed: list[str] = []

    def issuer(request: httpx.Request) -> httpx.Response:
        form = dict(x.split("=") for x in request.content.decode().split("&"))
        refreshed.append(form["refresh_token"])
        return httpx.Response(200, json={"access_token": f"t{len(refreshed)}", "expires_in": 300})

    settings = {"session_idle_seconds": 200, "session_max_seconds": 1000}
    async with running(schemas, clock=clock, **settings) as (app, _):
        app.state.http = httpx.AsyncClient(transport=httpx.MockTransport(issuer))
        sid, _ = await app.state.sessions.open("t0", CLERK, 300, "the-refresh-token", 3600)
        statuses = []
        async with client(app) as http:
            http.cookies.set(COOKIE, sid)
            for _ in range(11):  # every 100 s: never idle, past the 300 s tokens and the end
                clock.now += 100
                statuses.append((await http.get("/auth/session")).status_code)

    assert statuses == [200] * 9 + [401, 401]  # 1000 s after the login it ends
    assert refreshed and set(refreshed) == {"the-refresh-token"}


async def test_sessions_survive_a_restart_and_their_table_holds_no_usable_secret(
    schemas: Schemas,
) -> None:
    async with running(schemas) as (app, schema):
        sid, session = await app.state.sessions.open("the-access-token", CLERK, 900, "r", 3600)
    async with running(schemas, schema) as (again, _):  # a restarted console (or a replica)
        async with client(again) as http:
            http.cookies.set(COOKIE, sid)
            answer = await http.get("/auth/session")

    engine = make_engine(schemas.database_url, schema, pooled=False)
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM console_sessions"))).all()
    await engine.dispose()
    assert answer.status_code == 200 and answer.json()["csrf_token"] == session.csrf
    [row] = rows
    stored = b"".join(
        bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in row
    )
    assert b"the-access-token" not in stored and sid.encode() not in stored
    assert session.csrf.encode() not in stored


async def test_a_state_change_needs_the_sessions_csrf_token(schemas: Schemas) -> None:
    async with running(schemas) as (app, _):
        sid, session = await app.state.sessions.open("token", CLERK, 900, "r", 3600)
        async with client(app) as http:
            http.cookies.set(COOKIE, sid)
            for headers in ({}, {CSRF_HEADER: "forged"}):
                refused = await http.post("/auth/logout", headers=headers)
                assert refused.status_code == 403
                assert refused.json()["type"] == "/problems/csrf-rejected"
            assert (await http.get("/auth/session")).status_code == 200  # still logged in
            out = await http.post("/auth/logout", headers={CSRF_HEADER: session.csrf})
            assert out.status_code == 204
            http.cookies.set(COOKIE, sid)
            assert (await http.get("/auth/session")).status_code == 401


async def test_the_api_is_not_reached_without_a_session(schemas: Schemas) -> None:
    async with running(schemas) as (app, _), client(app) as http:
        answer = await http.get("/api/casework/v1/cases")
    assert answer.status_code == 401
    assert answer.json()["detail"] == "会话不存在或已超时，请重新登录。"
