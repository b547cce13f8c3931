"""Logging in at the console: the token is fetched server-side and never leaves it; the
cookie is HttpOnly, SameSite=Strict, and Secure over TLS.

The issuer is a stand-in answering ``/oauth/token`` with tokens signed by a test key.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from jwt.algorithms import RSAAlgorithm

from libs.kit.auth import JwksVerifier
from tests.conftest import Schemas
from tests.integration.console.conftest import client, running

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
JWKS = {"keys": [{**json.loads(RSAAlgorithm.to_jwk(KEY.public_key())), "kid": "k1"}]}
ACCOUNTS = {"zhangmin": ("secret", "operator"), "audit-bureau": ("secret", "partner")}


def _issuer(request: httpx.Request) -> httpx.Response:
    form = dict(x.split("=") for x in request.content.decode().split("&"))
    secret, kind = ACCOUNTS.get(form["username"], ("", ""))
    if form["password"] != secret:
        return httpx.Response(400, json={"error": "invalid_grant"})
    now = int(time.time())
    claims: dict[str, Any] = {"iss": "zhengfeng", "aud": "zhengfeng", "sub": form["username"],
              "iat": now, "exp": now + 900, "kind": kind, "name": "信访室 张敏", "roles": ["clerk"]}  # fmt: skip
    token = jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": "k1"})
    return httpx.Response(
        200,
        json={
            "access_token": token,
            "expires_in": 900,
            "refresh_token": "r",
            "refresh_expires_in": 28800,
        },
    )


@pytest.fixture
async def app(schemas: Schemas) -> AsyncIterator[FastAPI]:
    async with running(schemas) as (app, _):

        async def jwks() -> dict[str, Any]:
            return JWKS

        app.state.http = httpx.AsyncClient(transport=httpx.MockTransport(_issuer))
        app.state.verifier = JwksVerifier(jwks, issuer="zhengfeng", audience="zhengfeng")
        yield app


async def _login(app: FastAPI, base: str, username: str, password: str) -> httpx.Response:
    async with client(app, base) as http:
        return await http.post("/auth/login", json={"username": username, "password": password})


async def test_login_over_tls_sets_a_secure_httponly_strict_cookie_and_no_token(
    app: FastAPI,
) -> None:
    answer = await _login(app, "https://console.example", "zhangmin", "secret")
    assert answer.status_code == 200, answer.text
    cookie = answer.headers["set-cookie"].lower()
    assert all(flag in cookie for flag in ("httponly", "samesite=strict", "secure", "path=/"))
    assert answer.json()["operator"]["roles"] == ["clerk"]
    assert "access_token" not in answer.text and "eyJ" not in answer.text


async def test_login_over_plain_http_leaves_the_cookie_without_secure(app: FastAPI) -> None:
    answer = await _login(app, "http://127.0.0.1:8000", "zhangmin", "secret")
    assert answer.status_code == 200
    assert "secure" not in answer.headers["set-cookie"].lower()


async def test_a_wrong_password_is_refused_in_chinese(app: FastAPI) -> None:
    answer = await _login(app, "http://127.0.0.1:8000", "zhangmin", "wrong")
    assert answer.status_code == 401
    assert answer.json()["title"] == "登录失败"
    assert "set-cookie" not in answer.headers


async def test_a_partner_client_cannot_log_in_at_the_console(app: FastAPI) -> None:
    answer = await _login(app, "http://127.0.0.1:8000", "audit-bureau", "secret")
    assert answer.status_code == 403
    assert answer.json()["type"] == "/problems/not-an-operator"
