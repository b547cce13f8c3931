"""A vault in a database of its own (each service in its own database, as ``zhengfeng up``
runs them): every service opens the tokens another sealed, a shred reaches them all, and a
service's rolled-back transaction leaves only a key that seals nothing."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from libs.events import pii
from libs.kit.db import make_engine
from libs.runtime.infra import service_databases
from tests.conftest import unique

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
async def vault_url(database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """The run's database holds the vault; the services get databases of their own."""
    schema = unique("vault")
    monkeypatch.setenv(pii.VAULT_URL_ENV, database_url)
    monkeypatch.setenv("ZF_PII_VAULT_SCHEMA", schema)
    monkeypatch.setenv("ZF_PII_MASTER_KEY", base64.b64encode(b"k" * 32).decode())
    yield database_url
    admin = make_engine(database_url, "public", pooled=False)
    async with admin.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await admin.dispose()


async def test_services_in_their_own_databases_share_one_vault(vault_url: str) -> None:
    databases = await service_databases(vault_url, ["intake", "casework"])
    assert (
        len({make_url(u).database for u in databases.values()} | {make_url(vault_url).database})
        == 3
    )
    intake = make_engine(databases["intake"], "public")
    casework = make_engine(databases["casework"], "public")
    try:
        sealing = pii.Vault.from_env(intake)
        await sealing.ensure()
        index = sealing.blind_index("name_unit", "王五", "某县财政局")
        async with intake.connect() as conn:  # a transfer that fails: rolled back
            await conn.begin()
            person = await sealing.person_for(conn, index, NOW)
            token = await sealing.seal(conn, person, "王五", context="clue-1", field="name")
            await conn.rollback()
        async with intake.begin() as conn:  # the retry finds the same person
            assert await sealing.person_for(conn, index, NOW) == person

        opening = pii.Vault.from_env(casework)
        async with casework.begin() as conn:
            assert await opening.reveal(token, context="clue-1", field="name", conn=conn) == "王五"
        assert await opening.shred(person, by="operator:test", reason="test", now=NOW)
        assert await sealing.reveal(token, context="clue-1", field="name") is None
        async with intake.connect() as conn:
            tables = await conn.execute(
                text("SELECT count(*) FROM pg_tables WHERE tablename = 'data_keys'")
            )
            assert tables.scalar_one() == 0, "the vault's tables went to a service's database"
    finally:
        await intake.dispose()
        await casework.dispose()


async def test_an_answer_listing_many_matters_opens_each_and_a_shredded_one_reads_destroyed(
    vault_url: str,
) -> None:
    """A list of cases (案件, twenty to a page) opens every case's texts at once; one whose
    matter was shredded reads [已销毁], the others as written."""
    engine = make_engine(vault_url, "public")
    try:
        vault = pii.Vault.from_env(engine)
        await vault.ensure()
        matters = [unique("case") for _ in range(3)]
        async with engine.begin() as conn:
            tokens = [
                await vault.seal_matter_text(conn, f"{m} 的立案理由", context=m) for m in matters
            ]
        assert await vault.shred_matter(matters[1], by="operator:test", reason="测试", now=NOW)
        answer = {
            "items": [
                {"case_id": m, "reason": t, "quoted": f"原文：{t}"}
                for m, t in zip(matters, tokens, strict=True)
            ]
        }

        opened = await pii.open_texts(pii.Vault.from_env(engine), answer)
    finally:
        await engine.dispose()

    reasons = [(i["reason"], i["quoted"]) for i in opened["items"]]
    assert reasons == [
        (f"{matters[0]} 的立案理由", f"原文：{matters[0]} 的立案理由"),
        (pii.SHREDDED, f"原文：{pii.SHREDDED}"),
        (f"{matters[2]} 的立案理由", f"原文：{matters[2]} 的立案理由"),
    ]
