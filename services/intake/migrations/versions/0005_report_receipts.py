"""Receipt codes of public reports (hashed) and their secrets (Argon2id)."""

from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE report_receipts (
               code_hash char(64) PRIMARY KEY,
               clue_id uuid NOT NULL UNIQUE,
               secret_hash text NOT NULL,
               failures integer NOT NULL DEFAULT 0,
               locked_until timestamptz)"""
    )
