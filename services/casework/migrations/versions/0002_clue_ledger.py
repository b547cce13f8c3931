"""The clue ledger read model (线索台账)."""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE clue_ledger (
               clue_id uuid PRIMARY KEY,
               clue_number text NOT NULL,
               status text NOT NULL,
               source_kind text NOT NULL,
               source_department text,
               source_reference text,
               reported_persons jsonb NOT NULL,
               categories text[] NOT NULL,
               narrative text NOT NULL,
               received_at timestamptz NOT NULL,
               registered_at timestamptz NOT NULL,
               version integer NOT NULL)"""
    )
    op.execute("CREATE INDEX clue_ledger_by_status ON clue_ledger (status, registered_at, clue_id)")
