"""The unit index read model: clues per unit (the start of 一案双查 triggers)."""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE unit_index (
               unit_key text PRIMARY KEY,
               unit text NOT NULL,
               clue_ids uuid[] NOT NULL,
               categories text[] NOT NULL,
               last_clue_at timestamptz NOT NULL)"""
    )
