"""The console's sessions: the cookie, the CSRF token on state changes, the idle timeout.

No service behind it: a session is put in place as a login would leave it.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from console.app import create
from console.sessions import COOKIE, CSRF_HEADER, Sessions
from console.settings import ConsoleSettings
from libs.kit.auth import Principal

CLERK = Principal(
    subject="zhangmin", kind="operator", name="信访室 张敏", roles=frozenset({"clerk"})
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def console(clock: Clock, idle: int = 60) -> tuple[TestClient, str, str]:
    """A console app and one live session on it: (client, session id, csrf token)."""
    app = create(ConsoleSettings(session_idle_seconds=idle, services={"intake": "http://x"}))
    app.state.sessions = Sessions(idle, clock)
    sid, session = app.state.sessions.open("token", CLERK, expires_in=900)
    client = TestClient(app)
    client.cookies.set(COOKIE, sid)
    return client, sid, session.csrf


def test_the_session_tells_the_operator_and_csrf_token_but_never_the_access_token() -> None:
    client, _, csrf = console(Clock())
    answer = client.get("/auth/session")
    assert answer.status_code == 200
    assert answer.json()["operator"] == {
        "id": "zhangmin",
        "name": "信访室 张敏",
        "department": None,
        "roles": ["clerk"],
    }
    assert answer.json()["csrf_token"] == csrf
    assert "token" not in answer.text.replace("csrf_token", "")


def test_an_idle_session_ends_with_a_problem_in_chinese() -> None:
    clock = Clock()
    client, _, _ = console(clock, idle=60)
    clock.now += 30
    assert client.get("/auth/session").status_code == 200  # use restarts the idle clock
    clock.now += 59
    assert client.get("/auth/session").status_code == 200
    clock.now += 61
    answer = client.get("/auth/session")
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "/problems/session-expired"
    assert answer.json()["title"] == "登录已失效"


def test_a_session_ends_when_its_access_token_expires_however_busy() -> None:
    clock = Clock()
    client, _, _ = console(clock, idle=600)
    for _ in range(4):
        clock.now += 240
        status = client.get("/auth/session").status_code
    assert status == 401


def test_a_state_change_needs_the_sessions_csrf_token() -> None:
    client, sid, csrf = console(Clock())
    for headers in ({}, {CSRF_HEADER: "forged"}):
        refused = client.post("/auth/logout", headers=headers)
        assert refused.status_code == 403
        assert refused.json()["type"] == "/problems/csrf-rejected"
    assert client.get("/auth/session").status_code == 200  # still logged in
    assert client.post("/auth/logout", headers={CSRF_HEADER: csrf}).status_code == 204
    client.cookies.set(COOKIE, sid)
    assert client.get("/auth/session").status_code == 401


def test_the_api_is_not_reached_without_a_session() -> None:
    client = TestClient(
        create(ConsoleSettings(services={"intake": "http://x", "casework": "http://x"}))
    )
    answer = client.get("/api/casework/v1/cases")
    assert answer.status_code == 401
    assert answer.json()["detail"] == "会话不存在或已超时，请重新登录。"
