"""The session and CSRF checks every console API call goes through, and the renewal of an
active session's access token."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import Depends, Request

from console.sessions import COOKIE, CSRF_HEADER, Session, Sessions
from libs.kit.problems import Problem

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RENEW_BEFORE_SECONDS = 60
"""An access token this close to its end is renewed before the call that needs it."""

EXPIRED = Problem(401, "session-expired", "登录已失效", "会话不存在或已超时，请重新登录。")


def sessions_of(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.sessions
    return sessions


async def current_session(request: Request) -> Session:
    """The caller's live session, or 401 ``session-expired``; state changes need the CSRF
    token; an access token near its end is renewed with the refresh token first."""
    sessions = sessions_of(request)
    sid = request.cookies.get(COOKIE)
    session = await sessions.touch(sid)
    if session is None or sid is None:
        raise EXPIRED
    if request.method not in SAFE_METHODS and not session.csrf_matches(
        request.headers.get(CSRF_HEADER)
    ):
        raise Problem(
            403,
            "csrf-rejected",
            "请求被拒绝",
            "页面的安全令牌缺失或不符（CSRF），请刷新页面后重试。",
        )
    if session.token_expires_at - sessions.clock() < RENEW_BEFORE_SECONDS:
        await _renew(request, sid, session)
    return session


async def _renew(request: Request, sid: str, session: Session) -> None:
    """Sliding renewal: a new access token from the issuer for the refresh token; refused
    (the login's absolute end, a deactivated account) the session ends."""
    sessions = sessions_of(request)
    answer = None
    if session.refresh_token:
        client: httpx.AsyncClient = request.app.state.http
        intake = request.app.state.settings.services["intake"]
        form = {"grant_type": "refresh_token", "refresh_token": session.refresh_token}
        try:
            answer = await client.post(f"{intake}/oauth/token", data=form)
        except httpx.HTTPError as exc:
            if session.token_expires_at > sessions.clock():
                return  # still valid a little longer: try again on the next call
            raise Problem(
                503, "issuer-unreachable", "暂时无法续期登录", "认证服务无响应，请稍后再试。"
            ) from exc
    if answer is None or answer.status_code != 200:
        if session.token_expires_at > sessions.clock():
            return  # the token serves until it ends; then the session does
        await sessions.close(sid)
        raise EXPIRED
    token = answer.json()
    await sessions.renewed(
        sid, session, token["access_token"], token.get("refresh_token"), int(token["expires_in"])
    )


CurrentSession = Annotated[Session, Depends(current_session)]
