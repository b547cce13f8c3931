"""The subject index read model: who is named in which clues."""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE subject_index (
               subject_key text PRIMARY KEY,
               name text NOT NULL,
               unit text NOT NULL,
               clue_ids uuid[] NOT NULL,
               first_seen timestamptz NOT NULL,
               last_seen timestamptz NOT NULL)"""
    )
    op.execute("CREATE INDEX subject_index_by_name ON subject_index (name, unit)")
