"""Clue numbers, partner references and the transfers read model."""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute("CREATE TABLE clue_numbers (year integer PRIMARY KEY, last integer NOT NULL)")
    op.execute(
        """CREATE TABLE partner_references (
               department text NOT NULL,
               reference text NOT NULL,
               clue_id uuid NOT NULL,
               request_hash char(64) NOT NULL,
               response jsonb NOT NULL,
               PRIMARY KEY (department, reference))"""
    )
    op.execute(
        """CREATE TABLE transfers (
               clue_id uuid PRIMARY KEY,
               clue_number text NOT NULL UNIQUE,
               department text,
               reference text,
               status text NOT NULL,
               categories text[] NOT NULL,
               received_at timestamptz NOT NULL,
               position bigint NOT NULL)"""
    )
    op.execute(
        "CREATE INDEX transfers_by_department ON transfers (department, received_at, clue_id)"
    )
