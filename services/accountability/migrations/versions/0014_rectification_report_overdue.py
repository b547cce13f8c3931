"""双报告 overdue: whether a list's reports were noticed as late."""

from alembic import op

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    op.execute(
        "ALTER TABLE rectification_lists ADD COLUMN report_overdue boolean NOT NULL DEFAULT false"
    )
