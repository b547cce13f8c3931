"""DDL of the tables every service schema has: the event store and its bookkeeping.

Migrations call these; the statements are plain SQL so that the trigger and privilege
rules that make the events table append-only are visible in one place.
"""

from __future__ import annotations

EVENT_STORE_DDL: tuple[str, ...] = (
    """
    CREATE TABLE events (
        global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        -- The writing transaction: readers stop below the oldest one still running,
        -- so an event that commits late is never skipped (see store.read_all).
        tx_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
        event_id uuid NOT NULL UNIQUE,
        stream_id text NOT NULL,
        stream_version integer NOT NULL CHECK (stream_version > 0),
        type text NOT NULL,
        type_version integer NOT NULL,
        source text NOT NULL,
        time timestamptz NOT NULL,
        -- json, not jsonb: the exact canonical text that was hashed is kept, so verify
        -- checks the stored bytes themselves (jsonb would renormalise numbers).
        data json NOT NULL,
        correlation_id text NOT NULL,
        causation_id text,
        actor text NOT NULL,
        prev_hash char(64) NOT NULL,
        hash char(64) NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        UNIQUE (stream_id, stream_version)
    )
    """,
    "CREATE INDEX events_commit_order ON events (tx_id, global_position)",
    "CREATE INDEX events_type ON events (type, global_position)",
    """
    CREATE TABLE streams (
        stream_id text PRIMARY KEY,
        version integer NOT NULL,
        last_hash char(64) NOT NULL,
        last_tx xid8 NOT NULL
    )
    """,
    """
    CREATE FUNCTION reject_event_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'events are immutable: % on %.% is not allowed',
            TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'append a compensating event instead';
    END $$
    """,
    """
    CREATE TRIGGER events_immutable BEFORE UPDATE OR DELETE ON events
        FOR EACH ROW EXECUTE FUNCTION reject_event_mutation()
    """,
    """
    CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
        FOR EACH STATEMENT EXECUTE FUNCTION reject_event_mutation()
    """,
    "REVOKE UPDATE, DELETE, TRUNCATE ON events FROM PUBLIC",
    """
    CREATE TABLE relay_cursors (
        name text PRIMARY KEY,
        tx_id xid8 NOT NULL,
        position bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE projection_checkpoints (
        name text PRIMARY KEY,
        tx_id xid8 NOT NULL,
        position bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE inbox (
        event_id uuid PRIMARY KEY,
        consumer text NOT NULL,
        type text NOT NULL,
        source text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE dead_letters (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        consumer text NOT NULL,
        topic text NOT NULL,
        partition integer NOT NULL,
        "offset" bigint NOT NULL,
        event_id text,
        error text NOT NULL,
        attempts integer NOT NULL,
        parked_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE store_checkpoints (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tx_id xid8 NOT NULL,
        position bigint NOT NULL,
        event_count bigint NOT NULL,
        digest char(64) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE idempotency_keys (
        principal text NOT NULL,
        key text NOT NULL,
        request_hash char(64) NOT NULL,
        status_code integer,
        response jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (principal, key)
    )
    """,
)


def grant_app_role(schema: str, role: str) -> tuple[str, ...]:
    """Privileges for a login role that may append events but never change them."""
    return (
        f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"',
        f'GRANT SELECT, INSERT ON "{schema}".events TO "{role}"',
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"',
        f'REVOKE UPDATE, DELETE, TRUNCATE ON "{schema}".events FROM "{role}"',
    )
