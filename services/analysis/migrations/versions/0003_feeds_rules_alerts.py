"""Feed tables (plain rows, one per feed kind), batches, rule versions, alerts."""

from alembic import op

from services.analysis.feeds.spec import FEEDS, table_ddl

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    for spec in FEEDS.values():
        for statement in table_ddl(spec):
            op.execute(statement)
    op.execute(
        """CREATE TABLE feed_batches (
               batch_id text PRIMARY KEY,
               kind text NOT NULL,
               partner text NOT NULL,
               report jsonb,
               created_at timestamptz NOT NULL DEFAULT now())"""
    )
    op.execute(
        """CREATE TABLE rule_versions (
               rule_id text NOT NULL,
               version integer NOT NULL,
               params jsonb NOT NULL,
               level text NOT NULL,
               category text NOT NULL,
               enabled boolean NOT NULL,
               reason text NOT NULL,
               published_by text NOT NULL,
               published_at timestamptz NOT NULL,
               PRIMARY KEY (rule_id, version))"""
    )
    op.execute(
        """CREATE TABLE alerts (
               alert_id uuid PRIMARY KEY,
               identity text NOT NULL UNIQUE,
               rule_id text NOT NULL,
               rule_version integer NOT NULL,
               source text NOT NULL,
               level text NOT NULL,
               raised_level text NOT NULL,
               category text NOT NULL,
               subject_key text NOT NULL,
               person_id text,
               person_name text,
               unit_code text,
               unit_name text,
               plate text,
               evidence_key text NOT NULL,
               summary text NOT NULL,
               evidence jsonb NOT NULL,
               occurred_on date NOT NULL,
               raised_at timestamptz NOT NULL,
               escalation_reason text,
               finding text,
               finding_notes text,
               verified_by text,
               verified_at timestamptz,
               clue_id uuid,
               case_id uuid,
               case_number text,
               stream_version integer NOT NULL DEFAULT 1)"""
    )
    op.execute("CREATE INDEX alerts_by_raised ON alerts (raised_at, alert_id)")
    op.execute("CREATE INDEX alerts_by_subject ON alerts (subject_key, occurred_on)")
    op.execute("CREATE INDEX alerts_by_rule ON alerts (rule_id, rule_version)")
    op.execute("CREATE INDEX alerts_by_clue ON alerts (clue_id)")
