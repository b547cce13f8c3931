"""The HTTP API as partners and operators use it, on a real PostgreSQL.

Intake runs in this process with its own lifespan (store, issuer, projection runner) and
no broker, so no relay or consumer starts. Casework is checked against an intake served
over real HTTP by uvicorn, since it verifies tokens through intake's JWKS URL.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import jwt
import pytest
import uvicorn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.events.contracts import schema_uri
from libs.kit.db import make_engine
from libs.kit.issuer import Credentials, create_client
from libs.kit.pagination import encode_cursor
from libs.kit.problems import PROBLEM_JSON
from services.casework import app as casework_app
from services.intake import app as intake_app
from tests.conftest import Schemas
from tests.integration.fixtures import (
    Intake,
    eventually,
    intake_settings,
    migrated_schema,
    transfer,
)

CLUE_RECEIVED = "zhengfeng.intake.clue_received"


async def decode(intake: Intake, token: str) -> dict[str, Any]:
    """Verify a token against the JWKS intake serves, as any other service would."""
    jwks = (await intake.http.get("/.well-known/jwks.json")).json()
    kid = jwt.get_unverified_header(token)["kid"]
    (jwk,) = [k for k in jwks["keys"] if k["kid"] == kid]
    return dict(
        jwt.decode(
            token,
            jwt.PyJWK(jwk).key,
            algorithms=["RS256"],
            audience="zhengfeng",
            issuer="zhengfeng",
        )
    )


# Tokens (/oauth/token, JWKS)


async def test_partner_gets_a_token_with_client_credentials_in_the_form(intake: Intake) -> None:
    partner = await intake.partner("audit")

    response = await intake.http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": partner.client_id,
            "client_secret": partner.client_secret,
        },
    )

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] > 0
    assert body["scope"] == "clue:transfer"
    claims = await decode(intake, body["access_token"])
    assert claims["sub"] == partner.client_id
    assert claims["kind"] == "partner"
    assert claims["dept"] == "audit"
    assert claims["scope"] == "clue:transfer"


async def test_partner_gets_a_token_with_http_basic_credentials(intake: Intake) -> None:
    partner = await intake.partner("audit")

    response = await intake.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(partner.client_id, partner.client_secret),
    )

    assert response.status_code == 200
    claims = await decode(intake, response.json()["access_token"])
    assert claims["sub"] == partner.client_id


async def test_operator_gets_a_token_with_the_password_grant(intake: Intake) -> None:
    clerk = await intake.operator("clerk")

    response = await intake.http.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": clerk.client_id,
            "password": clerk.client_secret,
        },
    )

    assert response.status_code == 200
    claims = await decode(intake, response.json()["access_token"])
    assert claims["sub"] == clerk.client_id
    assert claims["kind"] == "operator"
    assert claims["roles"] == ["clerk"]
    assert claims["name"] == "张三"


async def test_an_operator_renews_their_token_with_the_refresh_token_until_deactivated(
    intake: Intake,
) -> None:
    clerk = await intake.operator("clerk")
    login = {"grant_type": "password", "username": clerk.client_id, "password": clerk.client_secret}
    first = (await intake.http.post("/oauth/token", data=login)).json()
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}

    renewed = await intake.http.post("/oauth/token", data=refresh)
    as_access = await intake.http.get(
        "/v1/clues", headers={"Authorization": f"Bearer {first['refresh_token']}"}
    )
    async with intake.engine.begin() as conn:
        await conn.execute(
            text("UPDATE clients SET active = false WHERE client_id = :id"), {"id": clerk.client_id}
        )
    refused = await intake.http.post("/oauth/token", data=refresh)

    assert renewed.status_code == 200
    claims = await decode(intake, renewed.json()["access_token"])
    assert claims["sub"] == clerk.client_id and claims["roles"] == ["clerk"]
    # The login's absolute end does not move: the refresh token expires when the first did.
    assert renewed.json()["refresh_expires_in"] <= first["refresh_expires_in"]
    assert as_access.status_code == 401
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


async def test_wrong_client_secret_is_401_invalid_client(intake: Intake) -> None:
    partner = await intake.partner("audit")

    response = await intake.http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": partner.client_id,
            "client_secret": partner.client_secret + "x",
        },
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "access_token" not in response.json()
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_partner_cannot_use_the_operator_password_grant(intake: Intake) -> None:
    partner = await intake.partner("audit")

    response = await intake.http.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": partner.client_id,
            "password": partner.client_secret,
        },
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_scope_not_granted_is_400_invalid_scope(intake: Intake) -> None:
    partner = await intake.partner("audit", scopes=("clue:transfer",))

    refused = await intake.http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": partner.client_id,
            "client_secret": partner.client_secret,
            "scope": "clue:transfer case:close",
        },
    )
    narrowed = await intake.token(partner, scope="clue:transfer")

    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"
    assert "clue:transfer" in refused.json()["error_description"]
    assert (await decode(intake, narrowed))["scope"] == "clue:transfer"


async def test_jwks_serves_the_rs256_signing_key_with_a_kid(intake: Intake) -> None:
    token = await intake.token(await intake.partner())

    response = await intake.http.get("/.well-known/jwks.json")

    assert response.status_code == 200
    (key,) = response.json()["keys"]
    assert key["kty"] == "RSA"
    assert key["alg"] == "RS256"
    assert key["use"] == "sig"
    assert key["kid"]
    assert {"n", "e"} <= set(key)
    assert "d" not in key, "the private exponent must never be published"
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "kid": key["kid"], "typ": "JWT"}


# Clue transfers: authentication and validation


async def test_transfer_without_a_token_is_401_problem(intake: Intake) -> None:
    response = await intake.http.post("/v1/clue-transfers", json=transfer())

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["type"] == "/problems/unauthenticated"
    assert await intake.events() == []


async def test_transfer_with_a_forged_token_is_401_problem(intake: Intake) -> None:
    token = await intake.token(await intake.partner())
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"

    response = await intake.http.post(
        "/v1/clue-transfers", json=transfer(), headers={"Authorization": f"Bearer {forged}"}
    )

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["type"] == "/problems/invalid-token"
    assert await intake.events() == []


async def test_transfer_without_the_clue_transfer_scope_is_403_naming_the_scope(
    intake: Intake,
) -> None:
    reader = await intake.partner("audit", scopes=("clue:read",))

    response = await intake.http.post(
        "/v1/clue-transfers", json=transfer(), headers=await intake.bearer(reader)
    )

    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["type"] == "/problems/insufficient-scope"
    assert "clue:transfer" in problem["detail"]
    assert 'scope="clue:transfer"' in response.headers["www-authenticate"]
    assert await intake.events() == []


async def test_invalid_transfer_is_422_naming_each_field_and_writes_nothing(
    intake: Intake,
) -> None:
    auth = await intake.bearer(await intake.partner())
    body = transfer(
        reported_persons=[{"name": "  ", "unit": "某县财政局"}],
        categories=[],
    )
    del body["narrative"]

    response = await intake.http.post(
        "/v1/clue-transfers", json=body, headers={**auth, "Idempotency-Key": "retry-me"}
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["type"] == "/problems/validation-error"
    reasons = {e["field"]: e["reason"] for e in problem["errors"]}
    assert set(reasons) == {"reported_persons[0].name", "categories", "narrative"}
    assert all(reasons.values())
    assert "reported_persons[0].name" in problem["detail"]
    assert await intake.events() == []
    for table in ("partner_references", "idempotency_keys", "clue_numbers"):
        assert await intake.count(table) == 0, table

    corrected = await intake.http.post(
        "/v1/clue-transfers", json=transfer(), headers={**auth, "Idempotency-Key": "retry-me"}
    )
    assert corrected.status_code == 201


async def test_unknown_fields_in_a_transfer_are_rejected(intake: Intake) -> None:
    auth = await intake.bearer(await intake.partner())

    response = await intake.http.post(
        "/v1/clue-transfers", json=transfer(urgent=True), headers=auth
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["urgent"]


# Clue transfers: receiving, retries, references


async def test_valid_transfer_is_received_with_a_clue_number_and_location(
    intake: Intake,
) -> None:
    auth = await intake.bearer(await intake.partner())

    response = await intake.http.post("/v1/clue-transfers", json=transfer(), headers=auth)

    assert response.status_code == 201
    body = response.json()
    clue_id = UUID(body["clue_id"])
    received_at = datetime.fromisoformat(body["received_at"])
    assert body["clue_number"] == f"XS-{received_at.year}-000001"
    assert body["status"] == "received"
    assert body["reference"] == "SJ-2026-0042"
    assert body["categories"] == ["violation_gifts"]
    assert body["status_url"] == f"/v1/clue-transfers/{clue_id}"
    assert response.headers["location"] == body["status_url"]
    assert "idempotent-replayed" not in response.headers
    (event,) = await intake.events()
    assert event.type == CLUE_RECEIVED
    assert event.stream_id == f"clue-{clue_id}"


async def test_transfers_are_numbered_in_sequence(intake: Intake) -> None:
    auth = await intake.bearer(await intake.partner())

    numbers = []
    for n in range(3):
        response = await intake.http.post(
            "/v1/clue-transfers", json=transfer(f"SJ-2026-{n:04d}"), headers=auth
        )
        numbers.append(response.json()["clue_number"][-6:])

    assert numbers == ["000001", "000002", "000003"]


async def test_retry_with_the_same_idempotency_key_returns_the_original_answer(
    intake: Intake,
) -> None:
    auth = {**await intake.bearer(await intake.partner()), "Idempotency-Key": "batch-7-item-1"}

    first = await intake.http.post("/v1/clue-transfers", json=transfer(), headers=auth)
    retry = await intake.http.post("/v1/clue-transfers", json=transfer(), headers=auth)

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.headers["location"] == first.headers["location"]
    assert len(await intake.events()) == 1


async def test_same_idempotency_key_with_a_different_body_is_422(intake: Intake) -> None:
    auth = {**await intake.bearer(await intake.partner()), "Idempotency-Key": "batch-7-item-1"}
    await intake.http.post("/v1/clue-transfers", json=transfer(), headers=auth)

    response = await intake.http.post(
        "/v1/clue-transfers", json=transfer("SJ-2026-0043", narrative="另一条线索。"), headers=auth
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["type"] == "/problems/idempotency-key-reused"
    assert len(await intake.events()) == 1


async def test_idempotency_keys_belong_to_one_partner(intake: Intake) -> None:
    audit = {**await intake.bearer(await intake.partner("audit")), "Idempotency-Key": "k-1"}
    tax = {**await intake.bearer(await intake.partner("tax")), "Idempotency-Key": "k-1"}

    first = await intake.http.post("/v1/clue-transfers", json=transfer(), headers=audit)
    other = await intake.http.post("/v1/clue-transfers", json=transfer(), headers=tax)

    assert first.status_code == other.status_code == 201
    assert other.json()["clue_id"] != first.json()["clue_id"]
    assert len(await intake.events()) == 2


async def test_resending_a_reference_unchanged_without_a_key_returns_the_original_answer(
    intake: Intake,
) -> None:
    auth = await intake.bearer(await intake.partner())

    first = await intake.http.post("/v1/clue-transfers", json=transfer(), headers=auth)
    again = await intake.http.post("/v1/clue-transfers", json=transfer(), headers=auth)

    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert len(await intake.events()) == 1


async def test_reusing_a_reference_for_different_content_is_409(intake: Intake) -> None:
    auth = await intake.bearer(await intake.partner())
    await intake.http.post("/v1/clue-transfers", json=transfer(), headers=auth)

    response = await intake.http.post(
        "/v1/clue-transfers", json=transfer(narrative="内容不同的另一条线索。"), headers=auth
    )

    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["type"] == "/problems/reference-reused"
    assert problem["errors"][0]["field"] == "reference"
    assert "SJ-2026-0042" in problem["detail"]
    assert len(await intake.events()) == 1


async def test_departments_may_use_the_same_reference_number(intake: Intake) -> None:
    audit = await intake.bearer(await intake.partner("audit"))
    tax = await intake.bearer(await intake.partner("tax"))

    first = await intake.http.post("/v1/clue-transfers", json=transfer(), headers=audit)
    second = await intake.http.post(
        "/v1/clue-transfers", json=transfer(narrative="税务稽查发现的问题。"), headers=tax
    )

    assert first.status_code == second.status_code == 201
    assert len(await intake.events()) == 2


# Following up transfers


async def test_transfer_status_is_visible_to_the_sending_department_only(
    intake: Intake,
) -> None:
    audit = await intake.bearer(await intake.partner("audit"))
    tax = await intake.bearer(await intake.partner("tax"))
    sent = (await intake.http.post("/v1/clue-transfers", json=transfer(), headers=audit)).json()

    own = await intake.http.get(sent["status_url"], headers=audit)
    other = await intake.http.get(sent["status_url"], headers=tax)
    unknown = await intake.http.get(f"/v1/clue-transfers/{uuid4()}", headers=audit)

    assert own.status_code == 200
    assert own.json() == sent
    assert other.status_code == 404
    assert other.headers["content-type"] == PROBLEM_JSON
    assert other.json()["type"] == "/problems/not-found"
    assert sent["clue_number"] not in other.text
    assert unknown.status_code == 404


async def test_transfer_list_shows_own_transfers_in_pages_with_next_cursor(
    intake: Intake,
) -> None:
    audit = await intake.bearer(await intake.partner("audit"))
    tax = await intake.bearer(await intake.partner("tax"))
    await intake.http.post("/v1/clue-transfers", json=transfer("SW-1"), headers=tax)
    sent = [
        (
            await intake.http.post(
                "/v1/clue-transfers",
                # three matters, on three people (the same one again would be a 重复件)
                json=transfer(
                    f"SJ-2026-000{n}", reported_persons=[{"name": f"王{n}", "unit": "某县财政局"}]
                ),
                headers=audit,
            )
        ).json()
        for n in range(3)
    ]

    async def all_three_listed() -> bool:
        page = (await intake.http.get("/v1/clue-transfers", headers=audit)).json()
        return len(page["items"]) == 3

    await eventually(all_three_listed, "the transfers projection to list 3 transfers")
    first = await intake.http.get("/v1/clue-transfers", params={"limit": 2}, headers=audit)
    cursor = first.json()["next_cursor"]
    second = await intake.http.get(
        "/v1/clue-transfers", params={"limit": 2, "cursor": cursor}, headers=audit
    )

    assert first.status_code == second.status_code == 200
    assert cursor
    assert second.json()["next_cursor"] is None
    listed = first.json()["items"] + second.json()["items"]
    assert [t["clue_id"] for t in listed] == [t["clue_id"] for t in sent]
    assert [t["reference"] for t in listed] == ["SJ-2026-0000", "SJ-2026-0001", "SJ-2026-0002"]
    assert all(t["status"] == "received" for t in listed)


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        encode_cursor("yesterday", str(uuid4())),
        encode_cursor(1, 2),
        base64.urlsafe_b64encode(b'["2026-01-01T00:00:00+00:00"]').decode(),
    ],
    ids=["garbage", "bad-time", "numbers", "one-value"],
)
async def test_transfer_list_with_an_invalid_cursor_is_400_naming_the_cursor(
    intake: Intake, cursor: str
) -> None:
    auth = await intake.bearer(await intake.partner())

    response = await intake.http.get("/v1/clue-transfers", params={"cursor": cursor}, headers=auth)

    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["type"] == "/problems/invalid-cursor"
    assert [e["field"] for e in response.json()["errors"]] == ["cursor"]


# Operations: health, readiness, metrics, contracts, correlation


async def test_healthz_answers_ok(intake: Intake) -> None:
    response = await intake.http.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "intake"}


async def test_readyz_reports_database_ok_and_broker_not_configured(intake: Intake) -> None:
    response = await intake.http.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "broker": "not configured"},
    }


class _Broker:
    """A producer whose broker answers metadata requests, counting them (or is down)."""

    def __init__(self) -> None:
        self.asked = 0
        self.down = False
        self.client = self

    async def fetch_all_metadata(self) -> None:
        self.asked += 1
        await asyncio.sleep(0.05)
        if self.down:
            raise ConnectionError("broker down")


async def test_readyz_asks_the_broker_once_for_calls_at_once_and_says_when_it_is_down(
    intake: Intake,
) -> None:
    runtime = intake.app.state.runtime
    broker = _Broker()
    runtime.producer = broker
    try:
        answers = await asyncio.gather(*(intake.http.get("/readyz") for _ in range(4)))
        assert [a.status_code for a in answers] == [200] * 4
        assert all(a.json()["checks"]["broker"] == "ok" for a in answers)
        assert broker.asked == 1

        broker.down = True
        await asyncio.sleep(3.1)  # the broker's answer is kept at most BROKER_CHECK_SECONDS
        down = await intake.http.get("/readyz")
        assert down.status_code == 503
        assert down.json()["status"] == "not ready"
        assert down.json()["checks"]["broker"].startswith("unavailable")
    finally:
        runtime.producer = None


async def test_readyz_is_not_ready_when_the_database_is_gone(intake: Intake) -> None:
    runtime = intake.app.state.runtime
    engine = runtime.engine
    runtime.engine = make_engine("postgresql+asyncpg://postgres@127.0.0.1:9/gone", "public")
    try:
        answer = await intake.http.get("/readyz")
    finally:
        await runtime.engine.dispose()
        runtime.engine = engine
    assert answer.status_code == 503
    assert answer.json()["status"] == "not ready"
    assert answer.json()["checks"]["database"].startswith("unavailable")


async def test_openapi_document_is_revalidated_with_its_etag_without_its_body(
    intake: Intake,
) -> None:
    first = await intake.http.get("/openapi.json")
    assert first.status_code == 200
    assert first.json()["paths"]["/v1/clues"]
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"

    again = await intake.http.get("/openapi.json", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag

    other = await intake.http.get("/openapi.json", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200
    assert other.content == first.content


async def test_dead_letters_summary_counts_what_is_parked_for_auditors_only(
    intake: Intake,
) -> None:
    async def bearer(role: str) -> dict[str, str]:
        account = await intake.operator(role)
        token = await intake.token(
            account,
            grant_type="password",
            username=account.client_id,
            password=account.client_secret,
        )
        return {"Authorization": f"Bearer {token}"}

    auditor, clerk = await bearer("auditor"), await bearer("clerk")

    summary = await intake.http.get("/v1/dead-letters/summary", headers=auditor)
    refused = await intake.http.get("/v1/dead-letters/summary", headers=clerk)

    assert summary.status_code == 200
    assert summary.json() == {
        "service": "intake",
        "parked": 0,
        "ever_parked": 0,
        "oldest_parked_at": None,
    }
    assert refused.status_code == 403 and "审计" in refused.json()["detail"]


async def test_metrics_count_http_requests(intake: Intake) -> None:
    await intake.http.get("/healthz")

    response = await intake.http.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = [
        line
        for line in response.text.splitlines()
        if line.startswith("zhengfeng_http_requests_total{")
    ]
    assert any('service="intake"' in line and 'route="/healthz"' in line for line in lines)


async def test_schemas_list_the_clue_received_contract_with_its_json_schema(
    intake: Intake,
) -> None:
    listing = (await intake.http.get("/v1/schemas")).json()
    (entry,) = [s for s in listing if s["type"] == CLUE_RECEIVED]

    response = await intake.http.get(entry["schema"])

    assert entry["version"] == 3
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/schema+json"
    schema = response.json()
    assert schema["$id"] == entry["schema"] == schema_uri(CLUE_RECEIVED, 3)
    assert "reported_persons" in schema["properties"]


async def test_an_old_schema_version_stays_served_and_an_unknown_one_is_404_problem(
    intake: Intake,
) -> None:
    old = await intake.http.get(f"/v1/schemas/{CLUE_RECEIVED}/1")
    future = await intake.http.get(f"/v1/schemas/{CLUE_RECEIVED}/4")

    assert old.status_code == 200
    assert old.json()["$id"] == schema_uri(CLUE_RECEIVED, 1)
    assert "Superseded by v3" in old.json()["description"]
    assert future.status_code == 404
    assert future.json()["type"] == "/problems/unknown-schema"


async def test_every_response_echoes_the_correlation_id(intake: Intake) -> None:
    auth = await intake.bearer(await intake.partner())
    sent = {"X-Correlation-ID": "corr-echo-1"}

    responses = [
        await intake.http.get("/healthz", headers=sent),
        await intake.http.get("/no-such-page", headers=sent),
        await intake.http.post("/v1/clue-transfers", json=transfer(), headers=sent),
        await intake.http.post("/v1/clue-transfers", json={}, headers={**sent, **auth}),
        await intake.http.post("/v1/clue-transfers", json=transfer(), headers={**sent, **auth}),
        await intake.http.post("/oauth/token", data={"grant_type": "magic"}, headers=sent),
    ]
    generated = await intake.http.get("/healthz")

    assert [r.status_code for r in responses] == [200, 404, 401, 422, 201, 400]
    assert all(r.headers["x-correlation-id"] == "corr-echo-1" for r in responses)
    assert UUID(generated.headers["x-correlation-id"])


async def test_events_carry_the_request_correlation_id_and_the_partner_as_actor(
    intake: Intake,
) -> None:
    partner = await intake.partner()
    auth = await intake.bearer(partner)

    await intake.http.post(
        "/v1/clue-transfers",
        json=transfer(),
        headers={**auth, "X-Correlation-ID": "corr-transfer-42"},
    )

    (event,) = await intake.events()
    assert event.correlation_id == "corr-transfer-42"
    assert event.actor == f"partner:{partner.client_id}"


# Casework verifies intake's tokens through the JWKS URL


@dataclass
class Served:
    url: str
    engine: AsyncEngine


@pytest.fixture
async def served_intake(database_url: str, schemas: Schemas) -> AsyncIterator[Served]:
    engine, schema = await migrated_schema(schemas, "intake")
    app = intake_app.create(intake_settings(database_url, schema))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on")
    )
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()
        return server.started

    await eventually(started, "uvicorn to serve intake")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Served(f"http://127.0.0.1:{port}", engine)
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def casework(
    database_url: str, schemas: Schemas, served_intake: Served
) -> AsyncIterator[httpx.AsyncClient]:
    _, schema = await migrated_schema(schemas, "casework")
    settings = casework_app.Settings(
        database_url=database_url,
        db_schema=schema,
        kafka_bootstrap_servers="",
        jwks_url=f"{served_intake.url}/.well-known/jwks.json",
    )
    app = casework_app.create(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://casework") as http:
            yield http


async def issued_token(served: Served, client: Credentials) -> str:
    grant = (
        {"grant_type": "password", "username": client.client_id, "password": client.client_secret}
        if client.kind == "operator"
        else {
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": client.client_secret,
        }
    )
    async with httpx.AsyncClient(base_url=served.url) as http:
        response = await http.post("/oauth/token", data=grant)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def test_casework_answers_an_operator_with_intakes_token_404_for_an_unknown_clue(
    served_intake: Served, casework: httpx.AsyncClient
) -> None:
    clerk = await create_client(served_intake.engine, kind="operator", name="张三", roles=["clerk"])
    token = await issued_token(served_intake, clerk)
    clue_id = uuid4()

    response = await casework.get(
        f"/v1/clues/{clue_id}", headers={"Authorization": f"Bearer {token}"}
    )
    ledger = await casework.get("/v1/clues", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["type"] == "/problems/not-found"
    assert str(clue_id) in response.json()["detail"]
    assert ledger.status_code == 200
    assert ledger.json() == {"items": [], "next_cursor": None}


async def test_casework_without_a_token_is_401_problem(casework: httpx.AsyncClient) -> None:
    response = await casework.get(f"/v1/clues/{uuid4()}")

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["type"] == "/problems/unauthenticated"


async def test_casework_refuses_a_partner_token_403(
    served_intake: Served, casework: httpx.AsyncClient
) -> None:
    partner = await create_client(
        served_intake.engine,
        kind="partner",
        name="audit bureau",
        department="audit",
        scopes=["clue:transfer"],
    )
    token = await issued_token(served_intake, partner)

    response = await casework.get("/v1/clues", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 403
    assert response.json()["type"] == "/problems/forbidden-role"


async def test_casework_ledger_with_an_invalid_cursor_is_400(
    served_intake: Served, casework: httpx.AsyncClient
) -> None:
    clerk = await create_client(served_intake.engine, kind="operator", name="张三", roles=["clerk"])
    token = await issued_token(served_intake, clerk)

    response = await casework.get(
        "/v1/clues",
        params={"cursor": encode_cursor("yesterday", "nobody")},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["cursor"]
