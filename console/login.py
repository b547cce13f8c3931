"""``/auth``: log in with an operator account (the token is obtained here, server-side),
read the session, log out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from console.guard import CurrentSession, sessions_of
from console.sessions import COOKIE, Session
from libs.kit.auth import JwksVerifier
from libs.kit.problems import Problem

router = APIRouter(prefix="/auth", tags=["session"])


class LoginIn(BaseModel):
    """An operator account (made by a 系统管理员 on 系统, or ``zhengfeng clients create --kind
    operator``) and its password."""

    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=500)


def _answer(session: Session, idle_seconds: int) -> dict[str, Any]:
    return {
        "operator": session.operator(),
        "csrf_token": session.csrf,
        "started_at": _iso(session.started_at),
        "idle_seconds": idle_seconds,
        "ends_at": _iso(session.ends_at),
    }


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


async def _token(request: Request, login: LoginIn) -> dict[str, Any]:
    client: httpx.AsyncClient = request.app.state.http
    intake = request.app.state.settings.services["intake"]
    form = {"grant_type": "password", "username": login.username, "password": login.password}
    try:
        answer = await client.post(f"{intake}/oauth/token", data=form)
    except httpx.HTTPError as exc:
        raise Problem(
            503, "issuer-unreachable", "暂时无法登录", "认证服务无响应，请稍后再试。"
        ) from exc
    if answer.status_code != 200:
        raise Problem(
            401,
            "login-failed",
            "登录失败",
            "账号或密码不正确，或该账号不是工作人员账号。",
            errors=[{"field": "password", "reason": "账号或密码不正确"}],
        )
    token: dict[str, Any] = answer.json()
    return token


@router.post("/login")
async def login(body: LoginIn, request: Request, response: Response) -> dict[str, Any]:
    """Obtain the operator's token from the issuer and open a session (cookie)."""
    token = await _token(request, body)
    verifier: JwksVerifier = request.app.state.verifier
    principal = await verifier.verify(token["access_token"])
    if principal.kind != "operator":
        raise Problem(403, "not-an-operator", "无法登录", "该账号不是工作人员账号。")
    sessions = sessions_of(request)
    refresh = token.get("refresh_token")
    refresh_in = token.get("refresh_expires_in")
    sid, session = await sessions.open(
        token["access_token"],
        principal,
        int(token.get("expires_in", 900)),
        refresh,
        int(refresh_in) if refresh_in is not None else None,
    )
    secure = request.url.scheme == "https" or request.app.state.settings.secure_cookie
    response.set_cookie(COOKIE, sid, httponly=True, samesite="strict", secure=secure, path="/")
    response.headers["Cache-Control"] = "no-store"
    return _answer(session, sessions.idle)


@router.get("/session")
async def whoami(session: CurrentSession, request: Request, response: Response) -> dict[str, Any]:
    """The logged-in operator, the session's CSRF token, when it started, its idle timeout
    and its absolute end (401 when there is none)."""
    response.headers["Cache-Control"] = "no-store"
    return _answer(session, sessions_of(request).idle)


@router.post("/logout", status_code=204)
async def logout(session: CurrentSession, request: Request, response: Response) -> None:
    """End the session and clear the cookie."""
    await sessions_of(request).close(request.cookies.get(COOKIE))
    response.delete_cookie(COOKIE, path="/")
