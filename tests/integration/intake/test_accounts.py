"""账号管理: an administrator opens operator accounts and partner clients over the API;
each change is an event with the person's name sealed; the refusals a clerk reads."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import jwt
from sqlalchemy import text

from libs.kit.issuer import Credentials, create_client
from tests.integration.fixtures import Intake


async def _login(intake: Intake, username: str, password: str) -> Any:
    return await intake.http.post(
        "/oauth/token",
        data={"grant_type": "password", "username": username, "password": password},
    )


async def _as(intake: Intake, who: Credentials) -> dict[str, str]:
    answer = await _login(intake, who.client_id, who.client_secret)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def _admin(
    intake: Intake, account_id: str = "root-admin"
) -> tuple[Credentials, dict[str, str]]:
    """An administrator made as the CLI makes one (the bootstrap path)."""
    who = await create_client(
        intake.engine, kind="operator", name="刘洋", roles=["admin"], client_id=account_id
    )
    return who, await _as(intake, who)


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid4())}


async def _open(intake: Intake, auth: dict[str, str], **overrides: Any) -> Any:
    body = {"account_id": "zhangmin", "name": "张敏", "department": "信访室", "roles": ["clerk"]}
    body.update(overrides)
    return await intake.http.post("/v1/operators", json=body, headers={**auth, **_key()})


async def _post(
    intake: Intake, auth: dict[str, str], path: str, body: dict[str, Any], version: int | str
) -> Any:
    headers = {**auth, **_key(), "If-Match": f'"{version}"'}
    return await intake.http.post(path, json=body, headers=headers)


async def _version(intake: Intake, auth: dict[str, str], account_id: str) -> int:
    answer = await intake.http.get(f"/v1/operators/{account_id}", headers=auth)
    assert answer.status_code == 200, answer.text
    return int(answer.headers["ETag"].strip('"'))


def _refused(answer: Any, status: int, slug: str, field: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["type"] == f"/problems/{slug}"
    assert [e["field"] for e in problem["errors"]] == [field]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in problem["detail"]), problem


async def _events(intake: Intake, stream: str) -> list[tuple[str, dict[str, Any]]]:
    async with intake.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT type, data FROM events WHERE stream_id = :s ORDER BY stream_version"),
            {"s": stream},
        )
        return [(r.type.rsplit(".", 1)[-1], r.data) for r in rows]


async def test_an_admin_opens_an_operator_who_logs_in_with_the_roles_given(
    intake: Intake,
) -> None:
    _, admin = await _admin(intake)

    opened = await _open(intake, admin)

    assert opened.status_code == 201, opened.text
    body = opened.json()
    assert body["name"] == "张*"
    assert body["roles"] == ["clerk"] and body["role_labels"] == ["信访室"]
    assert opened.headers["Location"] == "/v1/operators/zhangmin"
    login = await _login(intake, "zhangmin", body["password"])
    assert login.status_code == 200, login.text
    listed = (await intake.http.get("/v1/operators", headers=admin)).json()["items"]
    assert {o["account_id"]: o["name"] for o in listed} == {"root-admin": "刘*", "zhangmin": "张*"}
    assert all(o["password"] is None for o in listed)


async def test_the_event_seals_the_name_and_the_vault_opens_it(intake: Intake) -> None:
    _, admin = await _admin(intake)
    await _open(intake, admin)

    [(kind, data)] = await _events(intake, "account-zhangmin")
    async with intake.engine.connect() as conn:
        raw = (
            await conn.execute(
                text("SELECT data::text FROM events WHERE stream_id = 'account-zhangmin'")
            )
        ).scalar_one()

    assert kind == "operator_account_created"
    assert "张敏" not in raw and data["name"] == "张*"
    vault = intake.app.state.deps.vault
    name = await vault.reveal(data["sealed"]["name"], context="account-zhangmin", field="name")
    assert name == "张敏"
    assert data["created_by"] == "operator:root-admin"


async def test_a_retry_gets_the_first_answer_without_the_password(intake: Intake) -> None:
    _, admin = await _admin(intake)
    body = {"account_id": "liqiang", "name": "李强", "roles": ["investigator"]}
    headers = {**admin, **_key()}

    first = await intake.http.post("/v1/operators", json=body, headers=headers)
    again = await intake.http.post("/v1/operators", json=body, headers=headers)

    assert first.status_code == again.status_code == 201
    assert first.json()["password"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["password"] is None
    assert len(await _events(intake, "account-liqiang")) == 1


async def test_a_duplicate_account_id_is_refused_naming_the_field(intake: Intake) -> None:
    _, admin = await _admin(intake)
    await create_client(intake.engine, kind="partner", name="审计局", client_id="taken")

    again = await _open(intake, admin, account_id="root-admin")
    partner = await _open(intake, admin, account_id="taken")

    _refused(again, 409, "duplicate-account", "account_id")
    _refused(partner, 409, "duplicate-account", "account_id")
    assert await _events(intake, "account-root-admin") == []


async def test_an_unknown_role_is_refused_naming_the_field(intake: Intake) -> None:
    _, admin = await _admin(intake)
    await _open(intake, admin)

    opening = await _open(intake, admin, account_id="x-1", roles=["clerk", "boss"])
    changing = await _post(
        intake, admin, "/v1/operators/zhangmin/roles", {"roles": ["boss"], "reason": "调岗"}, 1
    )

    _refused(opening, 422, "unknown-role", "roles")
    assert "boss" in opening.json()["detail"]
    _refused(changing, 422, "unknown-role", "roles")
    assert (await _events(intake, "account-x-1")) == []


async def test_changed_roles_take_effect_at_the_next_token(intake: Intake) -> None:
    _, admin = await _admin(intake)
    password = (await _open(intake, admin)).json()["password"]

    changed = await _post(
        intake,
        admin,
        "/v1/operators/zhangmin/roles",
        {"roles": ["clerk", "supervisor"], "reason": "兼任案件监督管理"},
        1,
    )

    assert changed.status_code == 200, changed.text
    assert changed.headers["ETag"] == '"2"'
    token = (await _login(intake, "zhangmin", password)).json()["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["roles"] == [
        "clerk",
        "supervisor",
    ]
    stale = await _post(
        intake, admin, "/v1/operators/zhangmin/roles", {"roles": ["clerk"], "reason": "x"}, 1
    )
    assert stale.status_code == 409 and stale.json()["type"] == "/problems/stale-version"


async def test_a_change_without_if_match_is_428(intake: Intake) -> None:
    _, admin = await _admin(intake)
    await _open(intake, admin)

    answer = await intake.http.post(
        "/v1/operators/zhangmin/deactivation", json={"reason": "离职"}, headers=admin
    )

    assert answer.status_code == 428, answer.text
    assert answer.json()["errors"][0]["field"] == "If-Match"


async def test_a_deactivated_operator_cannot_log_in_or_renew_and_can_again_once_reactivated(
    intake: Intake,
) -> None:
    _, admin = await _admin(intake)
    clerk = await create_client(intake.engine, kind="operator", name="王芳", roles=["clerk"])
    first = await _login(intake, clerk.client_id, clerk.client_secret)
    refresh = first.json()["refresh_token"]

    stopped = await _post(
        intake, admin, f"/v1/operators/{clerk.client_id}/deactivation", {"reason": "调离"}, 0
    )

    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["active"] is False
    login = await _login(intake, clerk.client_id, clerk.client_secret)
    assert login.status_code == 400 and login.json()["error"] == "invalid_grant"
    renewed = await intake.http.post(
        "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": refresh}
    )
    assert renewed.status_code == 400, renewed.text
    again = await _post(
        intake, admin, f"/v1/operators/{clerk.client_id}/deactivation", {"reason": "调离"}, 1
    )
    _refused(again, 409, "already-deactivated", "account_id")

    back = await _post(
        intake, admin, f"/v1/operators/{clerk.client_id}/reactivation", {"reason": "返岗"}, 1
    )
    assert back.status_code == 200, back.text
    assert (await _login(intake, clerk.client_id, clerk.client_secret)).status_code == 200
    kinds = [k for k, _ in await _events(intake, f"account-{clerk.client_id}")]
    assert kinds == ["operator_account_deactivated", "operator_account_reactivated"]


async def test_an_admin_cannot_deactivate_their_own_account(intake: Intake) -> None:
    _, admin = await _admin(intake)
    await _open(intake, admin, account_id="second", roles=["admin"])

    answer = await _post(
        intake, admin, "/v1/operators/root-admin/deactivation", {"reason": "测试"}, 0
    )

    _refused(answer, 409, "own-account", "account_id")


async def test_the_last_active_administrator_is_kept(intake: Intake) -> None:
    _, admin = await _admin(intake)
    other = (await _open(intake, admin, account_id="second", roles=["admin"])).json()
    second = {
        "Authorization": "Bearer "
        + (await _login(intake, "second", other["password"])).json()["access_token"]
    }
    outsider, external = await _admin(intake, "outsider")

    # Two administrators (three): one may go ...
    gone = await _post(
        intake, second, "/v1/operators/root-admin/deactivation", {"reason": "离任"}, 0
    )
    assert gone.status_code == 200, gone.text
    # ... and acts no more, though the token it holds has not run out.
    back = await _post(intake, admin, "/v1/operators/root-admin/reactivation", {"reason": "x"}, 1)
    assert back.status_code == 403, back.text
    assert back.json()["type"] == "/problems/no-longer-administrator"
    # A caller from another identity provider (not in the directory) is taken at its
    # token's word; with the outsider gone from it, "second" is the last administrator.
    async with intake.engine.begin() as conn:
        await conn.execute(text("DELETE FROM clients WHERE client_id = 'outsider'"))

    last = await _post(intake, external, "/v1/operators/second/deactivation", {"reason": "x"}, 1)
    demoted = await _post(
        intake, second, "/v1/operators/second/roles", {"roles": ["clerk"], "reason": "x"}, 1
    )

    _refused(last, 409, "last-administrator", "account_id")
    _refused(demoted, 409, "last-administrator", "roles")
    assert "最后一位" in last.json()["detail"]
    assert outsider.client_id == "outsider"


async def test_only_an_administrator_may_use_the_directory(intake: Intake) -> None:
    clerk = await create_client(intake.engine, kind="operator", name="王芳", roles=["clerk"])
    auth = await _as(intake, clerk)

    listed = await intake.http.get("/v1/operators", headers=auth)
    opened = await _open(intake, auth)

    assert listed.status_code == 403 and opened.status_code == 403
    assert "系统管理员" in opened.json()["detail"]


async def test_an_admin_registers_a_partner_client_that_gets_a_token_until_revoked(
    intake: Intake,
) -> None:
    _, admin = await _admin(intake)

    made = await intake.http.post(
        "/v1/partner-clients",
        json={
            "client_id": "city-audit",
            "name": "市审计局",
            "department": "audit",
            "scopes": ["clue:transfer"],
        },
        headers={**admin, **_key()},
    )

    assert made.status_code == 201, made.text
    secret = made.json()["client_secret"]
    form = {"grant_type": "client_credentials", "client_id": "city-audit", "client_secret": secret}
    assert (await intake.http.post("/oauth/token", data=form)).status_code == 200
    listed = (await intake.http.get("/v1/partner-clients", headers=admin)).json()["items"]
    assert [(c["client_id"], c["client_secret"]) for c in listed] == [("city-audit", None)]

    revoked = await _post(
        intake, admin, "/v1/partner-clients/city-audit/revocation", {"reason": "合作终止"}, 1
    )
    assert revoked.status_code == 200, revoked.text
    assert (await intake.http.post("/oauth/token", data=form)).status_code == 401
    kinds = [k for k, _ in await _events(intake, "account-city-audit")]
    assert kinds == ["partner_client_registered", "partner_client_revoked"]


async def test_a_client_refused_for_its_fields(intake: Intake) -> None:
    _, admin = await _admin(intake)

    def client(**kw: Any) -> dict[str, Any]:
        return {"client_id": "c-1", "name": "市审计局", "department": "audit", **kw}

    async def post(body: dict[str, Any]) -> Any:
        return await intake.http.post("/v1/partner-clients", json=body, headers={**admin, **_key()})

    _refused(await post(client(scopes=["root"])), 422, "unknown-scope", "scopes")
    _refused(await post(client(department=None)), 422, "department-required", "department")
    _refused(await post(client(client_id="root-admin")), 409, "duplicate-account", "client_id")
    system = await post(client(kind="system", department=None, scopes=["feeds:invoices"]))
    assert system.status_code == 201, system.text
