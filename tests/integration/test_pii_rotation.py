"""Rotating the personal-data master key loses no one: data keys are re-wrapped under the
new key, blind indexes still find every person, and the old key can then be dropped."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from typer.testing import CliRunner

from libs.events import pii
from libs.events.devmode import MissingSecret
from tests.conftest import Schemas, unique
from zhengfeng.cli import app as cli

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


async def test_a_rotated_master_key_loses_no_person(database_url: str, schemas: Schemas) -> None:
    engine = await schemas.migrated("intake")
    vault_schema = unique("t_vault")
    schemas.created.append(vault_schema)  # dropped after the test
    old, new = secrets.token_bytes(32), secrets.token_bytes(32)
    before = pii.Vault(engine, old, vault_schema)
    await before.ensure()
    index = before.blind_index("id", "110101199003070011")
    async with engine.begin() as conn:
        person = await before.person_for(conn, index, NOW)
        token = await before.seal(conn, person, "周某某", context="clue-1", field="name")
    env = {"DATABASE_URL": database_url, "ZF_INTAKE_PII_VAULT_SCHEMA": vault_schema}
    runner = CliRunner()

    # 1. While the old key is current: the index key to keep as a secret.
    printed = await asyncio.to_thread(
        runner.invoke, cli, ["pii", "index-key"], env={**env, "ZF_PII_MASTER_KEY": b64(old)}
    )
    # 2.-3. The new key current, the old one still accepted; every data key re-wrapped.
    rotating = {
        **env,
        "ZF_PII_MASTER_KEY": b64(new),
        "ZF_PII_PREVIOUS_MASTER_KEYS": b64(old),
        "ZF_PII_INDEX_KEY": printed.output.strip(),
    }
    first = await asyncio.to_thread(runner.invoke, cli, ["pii", "rewrap"], env=rotating)
    again = await asyncio.to_thread(runner.invoke, cli, ["pii", "rewrap"], env=rotating)

    assert printed.exit_code == 0, printed.output
    assert first.exit_code == 0, first.output
    assert json.loads(first.output) == {"rewrapped": 1, "already_current": 0}
    assert json.loads(again.output) == {"rewrapped": 0, "already_current": 1}
    # 4. The old key dropped: the person opens and is found again under the same index.
    after = pii.Vault(engine, new, vault_schema, index_key=base64.b64decode(printed.output.strip()))
    assert await after.reveal(token, context="clue-1", field="name") == "周某某"
    assert after.blind_index("id", "110101199003070011") == index
    assert await after.known_as(index) == person
    # The old key alone no longer opens anything.
    with pytest.raises(LookupError, match="not configured"):
        await pii.Vault(engine, old, vault_schema).reveal(token, context="clue-1", field="name")


async def test_a_data_key_wrapped_before_key_ids_still_opens_and_is_rewrapped(
    schemas: Schemas,
) -> None:
    engine = await schemas.migrated("intake")
    vault_schema = unique("t_vault")
    schemas.created.append(vault_schema)
    old, new = secrets.token_bytes(32), secrets.token_bytes(32)
    legacy = pii.Vault(engine, old, vault_schema)
    await legacy.ensure()
    async with engine.begin() as conn:
        person = await legacy.person_for(conn, legacy.blind_index("id", "x"), NOW)
        token = await legacy.seal(conn, person, "吴某", context="c", field="name")
        # Wrapped as before master keys had ids: nonce + sealed data key, nothing else.
        wrapped = (
            await conn.exec_driver_sql(
                f'SELECT wrapped_key FROM "{vault_schema}".data_keys WHERE person_id = $1',
                (person,),
            )
        ).scalar_one()
        data_key = legacy._unwrap(person, bytes(wrapped))
        nonce = secrets.token_bytes(12)
        bare = nonce + AESGCM(old).encrypt(nonce, data_key, b"zhengfeng dek|" + person.bytes)
        await conn.exec_driver_sql(
            f'UPDATE "{vault_schema}".data_keys SET wrapped_key = $1 WHERE person_id = $2',
            (bare, person),
        )

    rotating = pii.Vault(engine, new, vault_schema, previous=[old], index_key=b"i" * 32)
    opened_before = await rotating.reveal(token, context="c", field="name")
    done = await rotating.rewrap()
    opened_after = await pii.Vault(engine, new, vault_schema).reveal(
        token, context="c", field="name"
    )

    assert opened_before == opened_after == "吴某"
    assert (done.rewrapped, done.already_current) == (1, 0)


def test_rotating_without_keeping_the_index_key_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ZF_PII_MASTER_KEY", b64(secrets.token_bytes(32)))
    monkeypatch.setenv("ZF_PII_PREVIOUS_MASTER_KEYS", b64(secrets.token_bytes(32)))
    monkeypatch.delenv("ZF_PII_INDEX_KEY", raising=False)

    with pytest.raises(MissingSecret, match="ZF_PII_INDEX_KEY"):
        pii.Vault.from_env(engine=None)  # type: ignore[arg-type]
