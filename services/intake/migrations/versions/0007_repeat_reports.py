"""Duplicate lookups (blind indexes of each clue's persons) and repeat reports' clues."""

from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE clue_subjects (
               clue_id uuid NOT NULL,
               person_ref uuid,
               name_unit_key char(64) NOT NULL,
               id_key char(64),
               categories text[] NOT NULL,
               received_at timestamptz NOT NULL)"""
    )
    op.execute("CREATE INDEX clue_subjects_by_name_unit ON clue_subjects (name_unit_key)")
    op.execute(
        "CREATE INDEX clue_subjects_by_id ON clue_subjects (id_key) WHERE id_key IS NOT NULL"
    )
    op.execute(
        """CREATE TABLE repeat_reports (
               repeat_id uuid PRIMARY KEY,
               clue_id uuid NOT NULL,
               source_department text)"""
    )
