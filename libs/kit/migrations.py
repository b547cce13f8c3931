"""Alembic, one history per service schema: the runner and the shared env.py body."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.schema import EVENT_STORE_DDL, grant_app_role
from libs.kit.db import make_engine

SERVICES_DIR = Path(__file__).resolve().parents[2] / "services"


def alembic_config(database_url: str, service: str, schema: str | None = None) -> Config:
    """The Alembic configuration of one service's migration history."""
    cfg = Config()
    cfg.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.set_main_option("zhengfeng.schema", schema or service)
    return cfg


def upgrade(database_url: str, service: str, schema: str | None = None) -> None:
    """Apply a service's migrations to ``schema`` (default: the service's name)."""
    command.upgrade(alembic_config(database_url, service, schema), "head")


async def upgrade_async(database_url: str, service: str, schema: str | None = None) -> None:
    """``upgrade`` from async code (Alembic runs its own event loop in a thread)."""
    await asyncio.to_thread(upgrade, database_url, service, schema)


def run_env() -> None:
    """Body of every service's ``migrations/env.py``."""
    from alembic import context

    cfg = context.config
    url = cfg.get_main_option("sqlalchemy.url")
    schema = cfg.get_main_option("zhengfeng.schema")
    assert url and schema

    def migrate(sync_conn: object) -> None:
        context.configure(
            connection=sync_conn,  # type: ignore[arg-type]
            version_table_schema=schema,
            target_metadata=None,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def go() -> None:
        engine = make_engine(url, schema, pooled=False, app="zhengfeng-migrate")
        try:
            async with engine.begin() as conn:
                # Several processes may migrate at once (services starting together).
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": schema}
                )
                await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
                await conn.execute(text(f'SET LOCAL search_path TO "{schema}"'))
                await conn.run_sync(migrate)
                await _grant_app_role(conn, schema)
        finally:
            await engine.dispose()

    asyncio.run(go())


APP_ROLE_ENV = "ZF_DB_APP_ROLE"


async def _grant_app_role(conn: AsyncConnection, schema: str) -> None:
    """Where the deployment names a login role for the services, give it only what it needs.

    The role may append and read events but never change or remove them (privilege on
    top of the trigger); the other tables are ordinary state. Skipped when the role is
    not set or does not exist, or when the migrating role may not grant.
    """
    role = os.environ.get(APP_ROLE_ENV, "").strip()
    if not role:
        return
    if not await conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}):
        return
    for statement in grant_app_role(schema, role):
        await conn.execute(text(statement))


def create_event_store() -> None:
    """Migration step: the event store tables every service schema has."""
    from alembic import op

    for statement in EVENT_STORE_DDL:
        op.execute(statement)


def keep_dead_letters_whole() -> None:
    """Migration step: parked records kept byte for byte, with their replay state."""
    from alembic import op

    from libs.events.deadletters import DDL

    for statement in DDL:
        op.execute(statement)


def keep_consumer_positions() -> None:
    """Migration step: each consumer's position per source partition, kept with its inbox
    (a restart skips what was applied without a look-up per record)."""
    from alembic import op

    from libs.events.consumer import POSITIONS_DDL

    op.execute(POSITIONS_DDL)


def create_read_events_after() -> None:
    """Migration step: the store's page read as one function (``read_events_after``): the
    horizon, then the events below it, in one round trip."""
    from alembic import op

    from libs.events.store import READ_EVENTS_AFTER_DDL

    op.execute(READ_EVENTS_AFTER_DDL)


def create_document_numbers() -> None:
    """Migration step: the counter of document numbers (文号) per kind and year."""
    from alembic import op

    from libs.kit.documents import COUNTER_DDL

    op.execute(COUNTER_DDL)
