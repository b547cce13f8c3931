"""A vault in a database of its own (each service in its own database, as ``zhengfeng up``
runs them): every service opens the tokens another sealed, a shred reaches them all, and a
service's rolled-back transaction leaves only a key that seals nothing."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.util import await_only

from libs.events import pii
from libs.kit.db import make_engine
from libs.runtime.infra import service_databases
from tests.conftest import unique
from tests.integration.test_dead_connections import _end_session

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


AGAIN = "running its statement again on a fresh one"


class Faulty:
    """``fault`` done to the vault's next pooled connection as it is handed out (after the
    pool's own check), once per ``arm()``; ``done``: the server pids it was done to."""

    def __init__(self, vault: pii.Vault, fault: Callable[[asyncpg.Connection], None]) -> None:
        self.fault, self.armed, self.done = fault, False, list[int]()
        event.listen(vault.engine.sync_engine, "checkout", self._checkout)

    def arm(self) -> None:
        self.armed = True

    def _checkout(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if self.armed:
            self.armed = False
            driver = dbapi_connection.driver_connection
            self.done.append(driver.get_server_pid())
            self.fault(driver)


async def test_a_vault_connection_dropped_before_its_statement_runs_it_on_a_fresh_one(
    vault_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The server ends the session of the vault connection a seal was just handed (its
    goodbye heard after the pool's check): the driver refuses to send, and the statement
    runs again on a fresh connection — the command sealing goes on, not a 503."""
    caplog.set_level(logging.INFO, logger="libs.events.pii")
    engine = make_engine(vault_url, "public")
    try:
        vault = pii.Vault.from_env(engine)
        assert vault.separate
        await vault.ensure()
        index = vault.blind_index("name_unit", "赵六", "某县水利局")
        matter, other = unique("clue"), unique("case")

        def end(driver: asyncpg.Connection) -> None:
            await_only(_end_session(vault_url, driver))

        faulty = Faulty(vault, end)
        async with engine.begin() as conn:
            faulty.arm()
            person = await vault.person_for(conn, index, NOW, sealed_in=matter)
            token = await vault.seal(conn, person, "赵六", context=matter, field="name")
            faulty.arm()  # another matter's key: the person's statement brought this one's
            reason = await vault.seal_matter_text(conn, "赵六收受购物卡", context=other)

        assert len(faulty.done) == 2
        again = [r for r in caplog.records if AGAIN in r.getMessage()]
        assert len(again) == 2, "a dropped vault connection was not given up and tried again"
        opening = pii.Vault.from_env(engine)
        assert await opening.reveal(token, context=matter, field="name") == "赵六"
        assert await pii.open_texts(opening, reason) == "赵六收受购物卡"
        async with engine.begin() as conn:
            assert await opening.person_for(conn, index, NOW) == person
    finally:
        await engine.dispose()


class _AnswerLost:
    """An asyncpg protocol whose next statement runs (and commits) but whose answer never
    arrives: the connection drops in the middle of the operation."""

    def __init__(self, inner: Any, database_url: str, pid: int) -> None:
        self._inner, self._url, self._pid = inner, database_url, pid
        self.lost = False

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name != "bind_execute" or self.lost:
            return attr

        async def ran_then_dropped(*args: Any, **kwargs: Any) -> Any:
            await attr(*args, **kwargs)
            self.lost = True
            admin = await asyncpg.connect(self._url)
            try:
                await admin.execute("SELECT pg_terminate_backend($1)", self._pid)
            finally:
                await admin.close()
            raise asyncpg.exceptions.ConnectionDoesNotExistError(
                "connection was closed in the middle of operation"
            )

        return ran_then_dropped


async def test_a_vault_statement_that_committed_before_its_connection_dropped_finds_what_it_made(
    vault_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A person's key and a matter's key are made, committed, and the connection drops
    before the answer arrives: the statement run again finds that person and that key (the
    token sealed with it opens), and makes no second one."""
    caplog.set_level(logging.INFO, logger="libs.events.pii")
    engine = make_engine(vault_url, "public")
    try:
        vault = pii.Vault.from_env(engine)
        await vault.ensure()
        index = vault.blind_index("id", "110101198001010053")
        matter, other = unique("clue"), unique("case")

        def lose_answer(driver: asyncpg.Connection) -> None:
            driver._protocol = _AnswerLost(driver._protocol, vault_url, driver.get_server_pid())

        faulty = Faulty(vault, lose_answer)
        async with engine.begin() as conn:
            faulty.arm()
            person = await vault.person_for(conn, index, NOW, sealed_in=matter)
            token = await vault.seal(conn, person, "110101198001010053", context=matter,
                                     field="id_number")  # fmt: skip
            faulty.arm()
            reason = await vault.seal_matter_text(conn, "立案理由", context=other)

        assert len(faulty.done) == 2
        assert len([r for r in caplog.records if AGAIN in r.getMessage()]) == 2
        opening = pii.Vault.from_env(engine)
        assert await opening.reveal(token, context=matter, field="id_number") == (
            "110101198001010053"
        )
        assert await pii.open_texts(opening, reason) == "立案理由"
        async with engine.begin() as conn:
            assert await opening.person_for(conn, index, NOW) == person
            keys = await conn.execute(text(f'SELECT count(*) FROM "{vault.schema}".data_keys'))
            # the person's, their matter's (brought by their statement) and the other's
            assert keys.scalar_one() == 3, "a statement run again made a second key"
    finally:
        await engine.dispose()


@pytest.mark.parametrize("separate", [True, False], ids=["own-database", "shared"])
async def test_a_person_sealed_in_a_matter_brings_its_key_for_the_matters_text(
    vault_url: str, separate: bool
) -> None:
    """Intake's command: a person found or made and sealed in a clue, the clue's narrative
    and its free text sealed — one vault statement for all of it. A matter already
    shredded still answers [已销毁] in place of new text."""
    engine = make_engine(vault_url, "public")
    master = base64.b64decode(os.environ["ZF_PII_MASTER_KEY"])
    vault = pii.Vault(engine, master, os.environ["ZF_PII_VAULT_SCHEMA"], separate=separate)
    statements: list[str] = []
    for name in ("_row", "_rows"):  # every vault statement goes through one of these
        run = getattr(vault, name)

        async def counted(conn: Any, query: str, *args: Any, run: Any = run) -> Any:
            statements.append(" ".join(query.split())[:50])
            return await run(conn, query, *args)

        setattr(vault, name, counted)
    try:
        await vault.ensure()
        matter, shredded = unique("clue"), unique("clue")
        async with engine.begin() as conn:
            await vault.seal_matter_text(conn, "先有的文字", context=shredded)
        await vault.shred_matter(shredded, by="operator:test", reason="测试", now=NOW)
        index = vault.blind_index("name_unit", "钱七", "某县教育局")
        statements.clear()

        async with engine.begin() as conn:
            await conn.execute(text("SELECT 1"))  # the command's first statement
            person = await vault.person_for(conn, index, NOW, sealed_in=matter)
            name = await vault.seal(conn, person, "钱七", context=matter, field="name")
            narrative = await pii.seal_text(vault, conn, [person], "钱七收受红包", context=matter)
            reason = await vault.seal_matter_text(conn, "钱七的问题线索", context=matter)
            made = len(statements)
            await vault.person_for(conn, index, NOW, sealed_in=shredded)
            gone = await vault.seal_matter_text(conn, "新的文字", context=shredded)

        statements.clear()
        case = unique("case")
        async with engine.begin() as conn:  # a case's subject, as casework seals one
            await conn.execute(text("SELECT 1"))
            subject = await pii.sealed_person(
                vault, conn, name="孙八", unit="某县", id_number="110101197001010036",
                context=case, now=NOW,
            )  # fmt: skip
            await vault.seal_matter_text(conn, "孙八的立案理由", context=case)
        assert len(statements) == 1, statements
        assert await vault.reveal(subject["sealed"]["id_number"], context=case,
                                  field="id_number") == "110101197001010036"  # fmt: skip

        assert made == 1, statements
        assert gone == pii.SHREDDED
        opening = pii.Vault.from_env(engine)
        assert await opening.reveal(name, context=matter, field="name") == "钱七"
        assert await pii.reveal_text(opening, narrative, context=matter) == "钱七收受红包"
        assert await pii.open_texts(opening, reason) == "钱七的问题线索"
    finally:
        await engine.dispose()


@pytest.mark.parametrize("separate", [True, False], ids=["own-database", "shared"])
async def test_a_transfer_naming_several_persons_finds_or_makes_them_in_one_statement(
    vault_url: str, separate: bool
) -> None:
    """One known person, two new ones (one named twice): found or made, linked to the clue
    and their keys read in one statement; their seals and the clue's text need no more."""
    engine = make_engine(vault_url, "public")
    master = base64.b64decode(os.environ["ZF_PII_MASTER_KEY"])
    vault = pii.Vault(engine, master, os.environ["ZF_PII_VAULT_SCHEMA"], separate=separate)
    statements: list[str] = []
    run = vault._rows

    async def counted(conn: Any, query: str, *args: Any) -> Any:
        statements.append(" ".join(query.split())[:50])
        return await run(conn, query, *args)

    try:
        await vault.ensure()
        earlier, clue = unique("clue"), unique("clue")
        names = [("周一", "某县交通局"), ("吴二", "某县交通局"), ("郑三", "某县林业局")]
        indexes = [vault.blind_index("name_unit", n, u) for n, u in names]
        async with engine.begin() as conn:
            known = await vault.person_for(conn, indexes[0], NOW, sealed_in=earlier)

        vault._rows = counted  # type: ignore[method-assign]
        async with engine.begin() as conn:
            await conn.execute(text("SELECT 1"))  # the command's first statement
            refs = await vault.persons_in(conn, [*indexes, indexes[1]], NOW, clue)
            tokens = [
                await vault.seal(conn, ref, name, context=clue, field="name")
                for ref, (name, _) in zip(refs, names, strict=False)
            ]
            await pii.seal_text(vault, conn, refs, "三人共同收受礼金", context=clue)
            await vault.seal_matter_text(conn, "线索摘要", context=clue)
        vault._rows = run  # type: ignore[method-assign]

        assert len(statements) == 1, statements
        assert refs[0] == known and refs[1] == refs[3] and len(set(refs)) == 3
        opening = pii.Vault.from_env(engine)
        for token, (name, _) in zip(tokens, names, strict=True):
            assert await opening.reveal(token, context=clue, field="name") == name
        assert await opening.matters_of(refs[0]) == sorted([earlier, clue])
        assert await opening.matters_of(refs[1]) == [clue]
        async with engine.begin() as conn:  # found again, each by their index
            assert await opening.persons_in(conn, indexes, NOW, unique("clue")) == refs[:3]
    finally:
        await engine.dispose()


async def test_transfers_naming_the_same_new_persons_at_once_agree_on_each_person(
    vault_url: str,
) -> None:
    """Statements of several transfers at once, naming overlapping new persons: each blind
    index ends with one person, every transfer gets that one, and what each sealed opens
    (a transfer whose index another took first seals with the other's key, not its own)."""
    engine = make_engine(vault_url, "public", pool_size=4)
    try:
        vault = pii.Vault.from_env(engine)
        await vault.ensure()
        indexes = [vault.blind_index("name_unit", f"冯{n}", "某县民政局") for n in range(4)]
        named = 2 * ([indexes[i : i + 2] for i in range(3)] + [indexes[::-1]])

        async def transfer(persons: list[str]) -> tuple[list[UUID], list[str], str]:
            clue = unique("clue")
            async with engine.begin() as conn:
                await conn.execute(text("SELECT 1"))
                refs = await vault.persons_in(conn, persons, NOW, clue)
                tokens = [
                    await vault.seal(conn, r, "冯某", context=clue, field="name") for r in refs
                ]
            return refs, tokens, clue

        done = await asyncio.gather(*(transfer(p) for p in named))

        person_of: dict[str, set[UUID]] = {}
        for persons, (refs, _, _) in zip(named, done, strict=True):
            for index, ref in zip(persons, refs, strict=True):
                person_of.setdefault(index, set()).add(ref)
        assert all(len(refs) == 1 for refs in person_of.values()), person_of
        opening = pii.Vault.from_env(engine)
        for _, tokens, clue in done:
            for token in tokens:
                assert await opening.reveal(token, context=clue, field="name") == "冯某"
        async with engine.begin() as conn:
            for index, (ref,) in person_of.items():
                assert await opening.known_as(index, conn) == ref
    finally:
        await engine.dispose()


async def test_an_answer_revealing_a_persons_fields_reads_their_key_once(vault_url: str) -> None:
    """A revealed person's name and ID number (pii.revealed) read the person's key once for
    the answer; once they are shredded, every field reads [已销毁]."""
    engine = make_engine(vault_url, "public")
    try:
        vault = pii.Vault.from_env(engine)
        await vault.ensure()
        case = unique("case")
        async with engine.begin() as conn:
            subject = await pii.sealed_person(
                vault, conn, name="褚九", unit="某县", id_number="110101196001010019",
                context=case, now=NOW,
            )  # fmt: skip
        statements: list[str] = []
        run = vault._row

        async def counted(conn: Any, query: str, *args: Any) -> Any:
            statements.append(" ".join(query.split())[:50])
            return await run(conn, query, *args)

        vault._row = counted  # type: ignore[method-assign]
        shown = await pii.revealed(vault, {"name": "褚*"}, subject["sealed"], context=case)
        assert shown == {"name": "褚九", "id_number": "110101196001010019"}
        assert len(statements) == 1, statements

        await vault.shred(subject["person_ref"], by="operator:test", reason="测试", now=NOW)
        gone = await pii.revealed(vault, {"name": "褚*"}, subject["sealed"], context=case)
        assert gone == {"name": pii.SHREDDED, "id_number": pii.SHREDDED}
        assert len(statements) == 2, statements
    finally:
        await engine.dispose()
