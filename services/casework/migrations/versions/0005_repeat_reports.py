"""重复件 on the clue ledger: how many repeat reports a clue has, and its priority."""

from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.execute("ALTER TABLE clue_ledger ADD COLUMN repeat_count integer NOT NULL DEFAULT 0")
    op.execute("ALTER TABLE clue_ledger ADD COLUMN priority text NOT NULL DEFAULT 'normal'")
