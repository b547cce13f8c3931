"""Read model of inquiries (list, filters, reports)."""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE inquiries (
               inquiry_id uuid PRIMARY KEY,
               unit text NOT NULL,
               department text,
               trigger_kind text NOT NULL,
               trigger_reason text NOT NULL,
               misconduct_date date NOT NULL,
               status text NOT NULL,
               opened_at timestamptz NOT NULL,
               parties text[] NOT NULL,
               measures_in_effect integer NOT NULL DEFAULT 0)"""
    )
    op.execute("CREATE INDEX inquiries_unit ON inquiries (unit, opened_at)")
