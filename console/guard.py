"""The session and CSRF checks every console API call goes through."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from console.sessions import COOKIE, CSRF_HEADER, Session, Sessions
from libs.kit.problems import Problem

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def sessions_of(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.sessions
    return sessions


def current_session(request: Request) -> Session:
    """The caller's live session, or 401 ``session-expired``; state changes need the CSRF token."""
    session = sessions_of(request).touch(request.cookies.get(COOKIE))
    if session is None:
        raise Problem(
            401,
            "session-expired",
            "登录已失效",
            "会话不存在或已超时，请重新登录。",
        )
    if request.method not in SAFE_METHODS and not session.csrf_matches(
        request.headers.get(CSRF_HEADER)
    ):
        raise Problem(
            403,
            "csrf-rejected",
            "请求被拒绝",
            "页面的安全令牌缺失或不符（CSRF），请刷新页面后重试。",
        )
    return session


CurrentSession = Annotated[Session, Depends(current_session)]
