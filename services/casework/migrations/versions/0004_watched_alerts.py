"""Yellow and green alerts casework keeps, so one escalated to red can open a matter."""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE watched_alerts (
               alert_id uuid PRIMARY KEY,
               alert jsonb NOT NULL,
               received_at timestamptz NOT NULL DEFAULT now())"""
    )
