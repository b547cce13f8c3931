-- Optional, for production: a least-privilege login role for the four services.
--
--   psql "$OWNER_DATABASE_URL" -v app_password='...' -f deploy/sql/roles.sql
--
-- Run it as a superuser, or as the schemas' owner (the role `zhengfeng migrate` connects
-- as) if that role has CREATEROLE, after the migrations, and again after any migration
-- that adds or recreates tables: it is idempotent. With a database per service
-- (deploy/sql/databases.sql), run it in each of them and in the platform database (the
-- vault): it grants on whichever of the service schemas and the vault it finds. The services then connect as
-- zhengfeng_app; migrations keep using the owner.
--
-- Each service's `events` table is append-only twice over:
--   * by privilege (this script): zhengfeng_app may SELECT and INSERT, never UPDATE,
--     DELETE or TRUNCATE, so no service code path can rewrite history;
--   * by trigger (installed by the migrations): UPDATE, DELETE and TRUNCATE raise an
--     error for everyone, including the table owner and superusers, whom privileges do
--     not restrict.
-- The other tables of those schemas (read models, inbox, relay cursor, idempotency keys)
-- are ordinary state and get normal DML. TRUNCATE, REFERENCES and TRIGGER are granted on
-- nothing.

\set ON_ERROR_STOP on

BEGIN;

DO $$
DECLARE
    s text;
    schema_owner text;
    found integer := 0;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'zhengfeng_app') THEN
        CREATE ROLE zhengfeng_app LOGIN;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO zhengfeng_app', current_database());
    -- A transaction left open holds back every relay and projection of the database (the
    -- commit horizon cannot pass it): the server ends one idle that long.
    ALTER ROLE zhengfeng_app SET idle_in_transaction_session_timeout = '30s';

    FOREACH s IN ARRAY ARRAY['intake', 'analysis', 'casework', 'accountability'] LOOP
        -- A database per service (deploy/sql/databases.sql) holds one of the four.
        CONTINUE WHEN to_regclass(format('%I.events', s)) IS NULL;
        found := found + 1;

        SELECT nspowner::regrole::text INTO schema_owner FROM pg_namespace WHERE nspname = s;
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO zhengfeng_app', s);

        -- Ordinary state: read and write.
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I '
                       'TO zhengfeng_app', s);
        EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO zhengfeng_app', s);
        -- Tables the owner creates later get the same; rerun this script after such a
        -- migration so the revocations below apply to them too.
        EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA %I '
                       'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO zhengfeng_app',
                       schema_owner, s);
        EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA %I '
                       'GRANT USAGE, SELECT ON SEQUENCES TO zhengfeng_app', schema_owner, s);

        -- The event store: append and read, nothing else.
        EXECUTE format('REVOKE ALL ON %I.events FROM PUBLIC', s);
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON %I.events '
                       'FROM zhengfeng_app', s);
        EXECUTE format('GRANT SELECT, INSERT ON %I.events TO zhengfeng_app', s);

        -- Migration bookkeeping belongs to the owner; the services may only read it.
        IF to_regclass(format('%I.alembic_version', s)) IS NOT NULL THEN
            EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON %I.alembic_version '
                           'FROM zhengfeng_app', s);
        END IF;

        -- The second guard is the migrations' job; say so if it is missing.
        IF NOT EXISTS (
            SELECT FROM pg_trigger
            WHERE tgrelid = format('%I.events', s)::regclass AND NOT tgisinternal
        ) THEN
            RAISE WARNING '%.events has no trigger: UPDATE/DELETE are blocked by privilege only', s;
        END IF;
    END LOOP;
    IF found = 0 AND to_regnamespace('pii_vault') IS NULL THEN
        RAISE EXCEPTION 'no service schema and no vault in database %: run "zhengfeng migrate" '
                        'first', current_database();
    END IF;

    -- The personal-data vault: data keys and persons, read and written (shredding deletes
    -- a person's key), by every service.
    IF to_regnamespace('pii_vault') IS NOT NULL THEN
        SELECT nspowner::regrole::text INTO schema_owner FROM pg_namespace
         WHERE nspname = 'pii_vault';
        GRANT USAGE ON SCHEMA pii_vault TO zhengfeng_app;
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pii_vault TO zhengfeng_app;
        EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA pii_vault '
                       'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO zhengfeng_app',
                       schema_owner);
    END IF;
END
$$;

COMMIT;

\if :{?app_password}
ALTER ROLE zhengfeng_app PASSWORD :'app_password';
\else
\echo 'zhengfeng_app has no password: rerun with -v app_password=... or ALTER ROLE it.'
\endif
