"""查阅记录: who read which inquiry's documents (and lists), like casework's case_reads."""

from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE inquiry_reads (
               id bigserial PRIMARY KEY,
               inquiry_id uuid NOT NULL,
               actor text NOT NULL,
               view text NOT NULL,
               read_at timestamptz NOT NULL DEFAULT now())"""
    )
    op.execute("CREATE INDEX inquiry_reads_by_inquiry ON inquiry_reads (inquiry_id, read_at)")
