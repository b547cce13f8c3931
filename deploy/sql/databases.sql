-- One database per service: no service reads another's tables, and a reader by position
-- (relay, projections) waits only for the writing transactions of its own database, so one
-- service's transactions never hold another's events back. The platform database
-- (`zhengfeng`, the one POSTGRES_DB creates) keeps the personal-data vault.
-- Run by the postgres image on its first start (docker-entrypoint-initdb.d); on a volume
-- made before, run it once: psql "$OWNER_DATABASE_URL" -f deploy/sql/databases.sql
CREATE DATABASE zhengfeng_intake;
CREATE DATABASE zhengfeng_analysis;
CREATE DATABASE zhengfeng_casework;
CREATE DATABASE zhengfeng_accountability;
