"""Bearer-token authentication: JWTs verified against a JWKS, roles and scopes.

Every service verifies tokens through a JWKS URL, so the built-in issuer on intake can
be replaced by a real identity provider by changing ``ZF_<SERVICE>_JWKS_URL``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from libs.kit.problems import Problem
from libs.kit.roles import role_names

log = logging.getLogger(__name__)

JwksFetcher = Callable[[], Awaitable[dict[str, Any]]]

VERIFIED_KEPT = 4096
"""Verified tokens a verifier remembers (the oldest forgotten first)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a partner department, a system, or an operator."""

    subject: str
    kind: str
    name: str = ""
    department: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def actor(self) -> str:
        """How events record this caller, e.g. ``partner:audit-bureau``."""
        return f"{self.kind}:{self.subject}"


def http_jwks_fetcher(url: str) -> JwksFetcher:
    """Fetch a JWKS document over HTTP."""

    async def fetch() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.get(url)
            response.raise_for_status()
            return dict(response.json())

    return fetch


class JwksVerifier:
    """Verifies RS256 JWTs with keys from a JWKS, refetched when an unknown key id appears."""

    def __init__(
        self, fetch: JwksFetcher, *, issuer: str, audience: str, min_refresh: float = 10.0
    ):
        self._fetch = fetch
        self.issuer = issuer
        self.audience = audience
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        self._min_refresh = min_refresh
        self._lock = asyncio.Lock()
        self._verified: OrderedDict[str, tuple[Principal, float, str, Any]] = OrderedDict()

    async def _key(self, kid: str) -> Any:
        if kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            if kid not in self._keys and time.monotonic() - self._fetched_at >= self._min_refresh:
                try:
                    document = await self._fetch()
                except (httpx.HTTPError, OSError) as exc:
                    raise Problem(
                        503,
                        "identity-provider-unreachable",
                        "暂时无法核验登录凭证",
                        f"未能取得签名公钥，请稍后再试（{type(exc).__name__}）。",
                    ) from exc
                self._fetched_at = time.monotonic()
                self._keys = {
                    k["kid"]: jwt.PyJWK.from_json(json.dumps(k)).key
                    for k in document.get("keys", [])
                }
        if kid not in self._keys:
            raise Problem(
                401,
                "invalid-token",
                "登录凭证无效",
                "凭证的签名密钥不是本系统的，请重新登录。",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return self._keys[kid]

    async def verify(self, token: str) -> Principal:
        """Check signature, issuer, audience and expiry; return the caller.

        A client sends the same token with every request: once verified, it is taken at
        its word until it expires, for as long as the key that signed it is still the
        JWKS's as this verifier last fetched it."""
        known = self._verified.get(token)
        if known is not None:
            principal, expires, kid, key = known
            if time.time() < expires and self._keys.get(kid) is key:
                return principal
        principal, expires, kid, key = verified = await self._verify(token)
        self._verified[token] = verified
        if len(self._verified) > VERIFIED_KEPT:
            self._verified.popitem(last=False)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float, str, Any]:
        bad = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        try:
            kid = jwt.get_unverified_header(token).get("kid", "")
        except jwt.PyJWTError as exc:
            raise _invalid_token(exc) from exc
        key = await self._key(kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Problem(
                401, "token-expired", "登录已过期", "请重新登录或申请新的访问凭证。", headers=bad
            ) from exc
        except jwt.PyJWTError as exc:
            raise _invalid_token(exc) from exc
        principal = Principal(
            subject=claims["sub"],
            kind=claims.get("kind", "system"),
            name=claims.get("name", ""),
            department=claims.get("dept"),
            roles=frozenset(claims.get("roles", [])),
            scopes=frozenset(str(claims.get("scope", "")).split()),
        )
        return principal, float(claims["exp"]), kid, key


def _invalid_token(exc: Exception) -> Problem:
    # The library's English reason is for the log, not the clerk.
    log.info("token refused: %s", exc)
    return Problem(
        401,
        "invalid-token",
        "登录凭证无效",
        "访问凭证无法核验，请重新登录。",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


_bearer = HTTPBearer(auto_error=False)


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """FastAPI dependency: the verified caller, or a 401 problem."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Problem(
            401,
            "unauthenticated",
            "请先登录",
            "请携带访问凭证：Authorization: Bearer <token>（在受理服务 POST /oauth/token 申请）。",
            headers={"WWW-Authenticate": "Bearer"},
        )
    verifier: JwksVerifier = request.app.state.verifier
    principal = await verifier.verify(credentials.credentials)
    request.state.principal = principal  # whether the answer's sealed texts open for it
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def require_scopes(*scopes: str) -> Any:
    """Dependency: the caller's token must carry every one of ``scopes``."""

    async def check(principal: CurrentPrincipal) -> Principal:
        missing = [s for s in scopes if s not in principal.scopes]
        if missing:
            raise Problem(
                403,
                "insufficient-scope",
                "无权办理",
                f"访问凭证缺少权限范围：{'、'.join(missing)}。",
                headers={
                    "WWW-Authenticate": f'Bearer error="insufficient_scope" scope="{" ".join(scopes)}"'
                },
            )
        return principal

    return Depends(check)


def require_roles(*roles: str) -> Any:
    """Dependency: the caller must hold at least one of ``roles`` (operators)."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.roles.intersection(roles):
            raise Problem(
                403,
                "forbidden-role",
                "无权办理",
                f"此项须由以下角色之一办理：{role_names(roles)}。",
            )
        return principal

    return Depends(check)
