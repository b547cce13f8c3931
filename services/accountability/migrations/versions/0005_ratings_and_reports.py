"""Read models for 红黄绿 ratings, monthly statistics, 廉情通报 and typical cases."""

from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE unit_ratings (
               unit text PRIMARY KEY,
               level text NOT NULL,
               score integer NOT NULL,
               explanation text NOT NULL,
               inputs jsonb NOT NULL,
               changed_at timestamptz NOT NULL)"""
    )
    op.execute(
        """CREATE TABLE rating_history (
               event_id uuid PRIMARY KEY,
               unit text NOT NULL,
               from_level text,
               to_level text NOT NULL,
               score integer NOT NULL,
               explanation text NOT NULL,
               rules_version text NOT NULL,
               changed_at timestamptz NOT NULL)"""
    )
    op.execute("CREATE INDEX rating_history_unit ON rating_history (unit, changed_at)")
    op.execute(
        """CREATE TABLE case_facts (
               case_id uuid PRIMARY KEY,
               case_number text NOT NULL,
               unit text,
               department text,
               subject_name text,
               rank text,
               form integer,
               major boolean,
               categories text[] NOT NULL DEFAULT '{}',
               measures text[] NOT NULL DEFAULT '{}',
               summary text NOT NULL DEFAULT '',
               misconduct_date date,
               decided_at timestamptz,
               filed_at timestamptz,
               closed_at timestamptz)"""
    )
    op.execute(
        """CREATE TABLE overdue_facts (
               deadline_id text PRIMARY KEY,
               unit text,
               item_kind text NOT NULL,
               case_id uuid,
               noticed_at timestamptz NOT NULL)"""
    )
    op.execute(
        """CREATE TABLE typical_cases (
               publication_id uuid PRIMARY KEY,
               case_id uuid NOT NULL,
               title text NOT NULL,
               text text NOT NULL,
               published_by text NOT NULL,
               published_at timestamptz NOT NULL)"""
    )
