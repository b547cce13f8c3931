"""Where a deployment runs the services under their own role, the database refuses them
any change to history by privilege, before the trigger is even reached."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from libs.kit.migrations import APP_ROLE_ENV
from tests.conftest import Schemas, unique


@pytest.fixture
async def app_role(schemas: Schemas, monkeypatch: pytest.MonkeyPatch) -> str:
    role = unique("zf_app")
    engine = await schemas.migrated()  # any engine will do to create the role
    async with engine.begin() as conn:
        if not await conn.scalar(
            text("SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user")
        ):
            pytest.skip("the test database role may not create roles")
        await conn.execute(text(f'CREATE ROLE "{role}" NOLOGIN'))
    monkeypatch.setenv(APP_ROLE_ENV, role)
    yield role
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP OWNED BY "{role}"'))
        await conn.execute(text(f'DROP ROLE "{role}"'))


async def test_the_service_role_may_append_and_read_events_but_not_change_them(
    schemas: Schemas, app_role: str
) -> None:
    engine = await schemas.migrated("casework")
    async with engine.begin() as conn:
        await conn.execute(text(f'SET LOCAL ROLE "{app_role}"'))
        await conn.execute(
            text(
                """INSERT INTO events (event_id, stream_id, stream_version, type, type_version, source,
                                       time, data, correlation_id, actor, prev_hash, hash)
                   VALUES (gen_random_uuid(), 's', 1, 't', 1, 'src', now(), '{}', 'c', 'a',
                           repeat('0', 64), repeat('1', 64))"""
            )
        )
        assert await conn.scalar(text("SELECT count(*) FROM events")) == 1
        await conn.execute(
            text(
                "INSERT INTO inbox (event_id, consumer, type, source) "
                "VALUES (gen_random_uuid(), 'c', 't', 's')"
            )
        )  # ordinary state

    for statement in ("UPDATE events SET actor = 'x'", "DELETE FROM events", "TRUNCATE events"):
        with pytest.raises(DBAPIError, match="permission denied"):
            async with engine.begin() as conn:
                await conn.execute(text(f'SET LOCAL ROLE "{app_role}"'))
                await conn.execute(text(statement))
