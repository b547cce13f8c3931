"""A bearer token verified once is not verified again, yet still expires and still dies
with the key that signed it."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from libs.kit.auth import JwksVerifier
from libs.kit.problems import Problem


class Issuer:
    """Signs tokens with keys it names; its JWKS lists the keys it currently has."""

    def __init__(self) -> None:
        self.keys: dict[str, Any] = {}

    def add_key(self, kid: str) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def token(self, kid: str, *, lasts: float = 600) -> str:
        now = int(time.time())
        claims = {"sub": "audit", "kind": "partner", "iat": now, "exp": now + lasts}
        claims |= {"iss": "zhengfeng", "aud": "zhengfeng", "scope": "clue:transfer"}
        return jwt.encode(claims, self.keys[kid], algorithm="RS256", headers={"kid": kid})

    async def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key in self.keys.items():
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return {"keys": keys}


def verifier(issuer: Issuer) -> JwksVerifier:
    return JwksVerifier(issuer.jwks, issuer="zhengfeng", audience="zhengfeng", min_refresh=0)


async def test_a_token_sent_again_is_the_same_caller_without_a_second_signature_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issuer = Issuer()
    issuer.add_key("k1")
    check = verifier(issuer)
    token = issuer.token("k1")
    first = await check.verify(token)

    def no_second_check(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("verified again")

    monkeypatch.setattr(jwt, "decode", no_second_check)

    assert await check.verify(token) is first
    assert first.scopes == {"clue:transfer"}


async def test_a_remembered_token_still_expires() -> None:
    issuer = Issuer()
    issuer.add_key("k1")
    check = verifier(issuer)
    token = issuer.token("k1", lasts=1)
    await check.verify(token)

    await asyncio.sleep(1.1)

    with pytest.raises(Problem) as refused:
        await check.verify(token)
    assert refused.value.status == 401 and refused.value.slug == "token-expired"


async def test_a_remembered_token_dies_with_the_key_the_issuer_retired() -> None:
    issuer = Issuer()
    issuer.add_key("k1")
    check = verifier(issuer)
    old = issuer.token("k1")
    await check.verify(old)
    del issuer.keys["k1"]
    issuer.add_key("k2")

    await check.verify(issuer.token("k2"))  # an unknown key id: the JWKS is fetched again

    with pytest.raises(Problem) as refused:
        await check.verify(old)
    assert refused.value.status == 401 and refused.value.slug == "invalid-token"
