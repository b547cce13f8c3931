"""Case register (案件台账) read model and the record of who read which case."""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE cases (
               case_id uuid PRIMARY KEY,
               clue_number text NOT NULL,
               case_number text,
               status text NOT NULL,
               categories text[] NOT NULL,
               unit text,
               department text,
               officer text,
               supervisor text,
               leader text,
               subject_name text,
               supervised boolean NOT NULL DEFAULT false,
               overdue boolean NOT NULL DEFAULT false,
               next_notice date,
               registered_at timestamptz NOT NULL,
               updated_at timestamptz NOT NULL,
               version integer NOT NULL,
               state jsonb NOT NULL)"""
    )
    op.execute("CREATE INDEX cases_by_registration ON cases (registered_at, case_id)")
    op.execute("CREATE INDEX cases_by_status ON cases (status, registered_at, case_id)")
    op.execute("CREATE INDEX cases_by_officer ON cases (officer, registered_at, case_id)")
    op.execute(
        "CREATE INDEX cases_next_notice ON cases (next_notice) WHERE next_notice IS NOT NULL"
    )
    op.execute(
        "CREATE INDEX cases_by_subject ON cases (subject_name, unit) WHERE leader IS NOT NULL"
    )
    op.execute(
        """CREATE TABLE case_reads (
               id bigserial PRIMARY KEY,
               case_id uuid NOT NULL,
               actor text NOT NULL,
               view text NOT NULL,
               as_of timestamptz,
               read_at timestamptz NOT NULL DEFAULT now())"""
    )
    op.execute("CREATE INDEX case_reads_by_case ON case_reads (case_id, read_at)")
