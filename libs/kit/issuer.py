"""The built-in token issuer (served by intake): clients, signing keys, ``/oauth/token``.

OAuth2 client credentials for partner departments and systems; the password grant for
operator accounts of the built-in directory. Tokens are short-lived RS256 JWTs whose
public keys are served as a JWKS, so any service (or a real identity provider in its
place) is verified the same way.

An operator's password grant also returns a refresh token (RFC 6749 §6): a JWT for the token
endpoint only (its audience is not the services'), valid until ``refresh_ttl`` after the
login and never beyond, so a session renewed while active still ends at that absolute
maximum. Each refresh reads the account again: a deactivated operator gets no new token,
and changed roles take effect.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import unquote_plus
from uuid import uuid4

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libs.kit.openapi import refusals
from libs.kit.problems import PROBLEM_JSON

ISSUER_DDL: tuple[str, ...] = (
    """
    CREATE TABLE signing_keys (
        kid text PRIMARY KEY,
        private_pem text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE clients (
        client_id text PRIMARY KEY,
        secret_hash text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('partner', 'system', 'operator')),
        name text NOT NULL,
        department text,
        scopes text[] NOT NULL DEFAULT '{}',
        roles text[] NOT NULL DEFAULT '{}',
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now()
    )
    """,
)

_hasher = PasswordHasher()


@dataclass(frozen=True)
class Credentials:
    """What ``clients create`` prints once: the secret is not stored in clear."""

    client_id: str
    client_secret: str
    kind: str
    name: str
    department: str | None
    scopes: list[str]
    roles: list[str]


async def create_client(
    engine: AsyncEngine,
    *,
    kind: str,
    name: str,
    department: str | None = None,
    scopes: list[str] | None = None,
    roles: list[str] | None = None,
    client_id: str | None = None,
    secret: str | None = None,
) -> Credentials:
    """Register a partner/system client or an operator account; returns its secret.

    The bootstrap path (``zhengfeng clients create``, the demo's players): it writes the
    directory directly. An administrator's changes go through intake's commands
    (``services/intake/service/accounts.py``), which record them as events and write the
    same rows with :func:`insert_client` and :func:`update_client`.
    """
    client_id = client_id or f"{kind}-{secrets.token_hex(6)}"
    secret = secret or new_secret()
    async with engine.begin() as c:
        await insert_client(
            c,
            client_id=client_id,
            secret=secret,
            kind=kind,
            name=name,
            department=department,
            scopes=scopes or [],
            roles=roles or [],
        )
    return Credentials(client_id, secret, kind, name, department, scopes or [], roles or [])


def _as_json(responses: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """Problem answers as RFC 6749 has the token endpoint give them: ``application/json``
    (with the problem's fields beside ``error``)."""
    for answer in responses.values():
        content = answer["content"]
        content["application/json"] = {
            **content.pop(PROBLEM_JSON),
            "schema": {"$ref": "#/components/schemas/Problem"},
        }
    return responses


GRANT_TYPES = ("client_credentials", "password", "refresh_token")
"""The grants the token endpoint answers (any other: 400 ``unsupported_grant_type``)."""


def new_secret() -> str:
    """A client secret or an operator's first password (shown once, stored hashed)."""
    return secrets.token_urlsafe(32)


async def insert_client(
    conn: AsyncConnection,
    *,
    client_id: str,
    secret: str,
    kind: str,
    name: str,
    department: str | None,
    scopes: list[str],
    roles: list[str],
) -> None:
    """Add a directory entry with the secret's Argon2 hash, in the caller's transaction (the
    hash, most of the time taken, is computed off the event loop)."""
    hashed = await asyncio.to_thread(_hasher.hash, secret)
    await conn.execute(
        text(
            """INSERT INTO clients (client_id, secret_hash, kind, name, department, scopes, roles)
               VALUES (:id, :h, :kind, :name, :dept, :scopes, :roles)"""
        ),
        {
            "id": client_id,
            "h": hashed,
            "kind": kind,
            "name": name,
            "dept": department,
            "scopes": scopes,
            "roles": roles,
        },
    )


async def update_client(
    conn: AsyncConnection,
    client_id: str,
    *,
    roles: list[str] | None = None,
    active: bool | None = None,
) -> None:
    """Change an entry's roles and/or whether it may get tokens, in the caller's transaction:
    a deactivated account gets no token and no refresh from the next request on."""
    await conn.execute(
        text(
            """UPDATE clients SET roles = COALESCE(:roles, roles),
                                  active = COALESCE(:active, active)
               WHERE client_id = :id"""
        ),
        {"id": client_id, "roles": roles, "active": active},
    )


class Issuer:
    """Signs access tokens with the newest key in ``signing_keys`` (created on first use)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        refresh_ttl_seconds: int = 8 * 3600,
    ) -> None:
        self.engine = engine
        self.issuer = issuer
        self.audience = audience
        self.ttl = ttl_seconds
        self.refresh_ttl = refresh_ttl_seconds
        self._kid: str | None = None
        self._private: Any = None
        self._public_jwks: list[dict[str, Any]] = []

    async def load_keys(self) -> None:
        """Load signing keys, creating the first one if the table is empty."""
        async with self.engine.begin() as c:
            await c.execute(text("LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE"))
            result = await c.execute(
                text("SELECT kid, private_pem FROM signing_keys ORDER BY created_at")
            )
            rows: list[Any] = list(result.all())
            if not rows:
                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                pem = key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ).decode()
                kid = base64.urlsafe_b64encode(secrets.token_bytes(9)).decode()
                await c.execute(
                    text("INSERT INTO signing_keys (kid, private_pem) VALUES (:k, :p)"),
                    {"k": kid, "p": pem},
                )
                rows = [(kid, pem)]
        self._public_jwks = []
        for kid, pem in rows:
            private = serialization.load_pem_private_key(pem.encode(), password=None)
            jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))  # type: ignore[arg-type]
            jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})
            self._public_jwks.append(jwk)
            self._kid, self._private = kid, private

    def jwks(self) -> dict[str, Any]:
        """The public key set."""
        return {"keys": self._public_jwks}

    async def fetch_jwks(self) -> dict[str, Any]:
        """JWKS fetcher for the issuing service itself (no HTTP round trip)."""
        if not self._public_jwks:
            await self.load_keys()
        return self.jwks()

    async def authenticate(
        self, client_id: str, secret: str, kinds: tuple[str, ...]
    ) -> dict[str, Any] | None:
        """The client's row if the secret matches and the account may use this grant."""
        async with self.engine.connect() as c:
            row = (
                await c.execute(
                    text("SELECT * FROM clients WHERE client_id = :id AND active"),
                    {"id": client_id},
                )
            ).first()
        if row is None or row.kind not in kinds:
            _hasher.hash("timing-equaliser")
            return None
        try:
            _hasher.verify(row.secret_hash, secret)
        except (VerificationError, InvalidHashError):
            return None
        return dict(row._mapping)

    @property
    def refresh_audience(self) -> str:
        """The audience of refresh tokens: the token endpoint, never a service."""
        return f"{self.audience}/oauth/token"

    def issue(
        self, client: dict[str, Any], scopes: list[str], *, refresh_until: int | None = None
    ) -> dict[str, Any]:
        """A signed access token response (RFC 6749 §5.1); with ``refresh_until`` (epoch
        seconds) also a refresh token that expires then, and an access token never beyond."""
        if self._private is None:
            raise RuntimeError("signing keys not loaded")
        now = int(time.time())
        expires = now + self.ttl if refresh_until is None else min(now + self.ttl, refresh_until)
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": client["client_id"],
            "iat": now,
            "exp": expires,
            "jti": str(uuid4()),
            "kind": client["kind"],
            "name": client["name"],
            "dept": client["department"],
            "roles": list(client["roles"]),
            "scope": " ".join(scopes),
        }
        token = jwt.encode(claims, self._private, algorithm="RS256", headers={"kid": self._kid})
        answer: dict[str, Any] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": expires - now,
            "scope": " ".join(scopes),
        }
        if refresh_until is not None:
            refresh = {
                "iss": self.issuer,
                "aud": self.refresh_audience,
                "sub": client["client_id"],
                "iat": now,
                "exp": refresh_until,
                "jti": str(uuid4()),
                "scope": " ".join(scopes),
            }
            answer["refresh_token"] = jwt.encode(
                refresh, self._private, algorithm="RS256", headers={"kid": self._kid}
            )
            answer["refresh_expires_in"] = refresh_until - now
        return answer

    def refreshed(self, token: str) -> dict[str, Any] | None:
        """The claims of a refresh token this issuer signed and that has not expired."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            jwk = next(k for k in self._public_jwks if k["kid"] == kid)
            claims: dict[str, Any] = jwt.decode(
                token,
                RSAAlgorithm.from_jwk(json.dumps(jwk)),  # type: ignore[arg-type]
                algorithms=["RS256"],
                audience=self.refresh_audience,
                issuer=self.issuer,
                options={"require": ["exp", "sub", "aud"]},
            )
        except (jwt.PyJWTError, StopIteration):
            return None
        return claims

    async def account(self, client_id: str) -> dict[str, Any] | None:
        """An active operator account's row."""
        async with self.engine.connect() as c:
            row = (
                await c.execute(
                    text("SELECT * FROM clients WHERE client_id = :id AND active"),
                    {"id": client_id},
                )
            ).first()
        return dict(row._mapping) if row is not None and row.kind == "operator" else None


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    # RFC 6749 §5.2 fields, plus the problem-details fields every other error carries.
    body = {
        "error": error,
        "error_description": description,
        "type": f"/problems/oauth-{error}",
        "title": description,
        "status": status,
    }
    headers = {"WWW-Authenticate": "Basic"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers, media_type="application/json")


def router(issuer: Issuer) -> APIRouter:
    """``POST /oauth/token`` and ``GET /.well-known/jwks.json``."""
    api = APIRouter(tags=["auth"])

    @api.get("/.well-known/jwks.json")
    async def jwks() -> dict[str, Any]:
        return issuer.jwks()

    @api.post(
        "/oauth/token",
        responses=_as_json(
            refusals(
                (400, "oauth-invalid_grant", "账号不存在、密码错误或登录已过期（RFC 6749）"),
                (400, "oauth-invalid_request", "所选授权方式须提供的字段缺失"),
                (400, "oauth-invalid_scope", "申请的权限范围超出所授"),
                (
                    401,
                    "oauth-invalid_client",
                    "客户端认证失败：未提供或不认识 client_id、client_secret",
                ),
            )
        ),
    )
    async def token(
        request: Request,
        grant_type: Annotated[str, Form(json_schema_extra={"enum": list(GRANT_TYPES)})],
        client_id: Annotated[str | None, Form()] = None,
        client_secret: Annotated[str | None, Form()] = None,
        username: Annotated[str | None, Form()] = None,
        password: Annotated[str | None, Form()] = None,
        scope: Annotated[str | None, Form()] = None,
        refresh_token: Annotated[str | None, Form()] = None,
    ) -> JSONResponse:
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            try:
                raw_id, _, raw_secret = base64.b64decode(basic[6:]).decode().partition(":")
                # RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
                client_id, client_secret = unquote_plus(raw_id), unquote_plus(raw_secret)
            except ValueError:
                return _oauth_error(401, "invalid_client", "Basic 认证信息格式有误。")
        refresh_until: int | None = None
        if grant_type == "refresh_token":
            claims = issuer.refreshed(refresh_token or "")
            account = await issuer.account(claims["sub"]) if claims else None
            if claims is None or account is None:
                return _oauth_error(
                    400, "invalid_grant", "登录已超过最长时限或账号已停用，请重新登录。"
                )
            return JSONResponse(
                issuer.issue(account, claims["scope"].split(), refresh_until=int(claims["exp"])),
                headers={"Cache-Control": "no-store"},
            )
        if grant_type == "client_credentials":
            if not client_id or not client_secret:
                return _oauth_error(401, "invalid_client", "须提供 client_id 和 client_secret。")
            client = await issuer.authenticate(client_id, client_secret, ("partner", "system"))
            if client is None:
                return _oauth_error(401, "invalid_client", "客户端不存在或密钥错误。")
        elif grant_type == "password":
            if not username or not password:
                return _oauth_error(400, "invalid_request", "须提供用户名和密码。")
            client = await issuer.authenticate(username, password, ("operator",))
            if client is None:
                return _oauth_error(400, "invalid_grant", "账号不存在或密码错误。")
            refresh_until = int(time.time()) + issuer.refresh_ttl
        else:
            return _oauth_error(
                400,
                "unsupported_grant_type",
                "grant_type 只能是 client_credentials、password 或 refresh_token。",
            )
        granted = list(client["scopes"])
        if scope:
            asked = scope.split()
            if not set(asked) <= set(granted):
                return _oauth_error(
                    400, "invalid_scope", f"可申请的权限范围：{' '.join(granted) or '（无）'}。"
                )
            granted = asked
        return JSONResponse(
            issuer.issue(client, granted, refresh_until=refresh_until),
            headers={"Cache-Control": "no-store"},
        )

    return api
