"""Intake's own time limits (转办, 受理告知), the register its deadline scheduler reads."""

from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE intake_deadlines (
               clue_id uuid NOT NULL,
               kind text NOT NULL,
               clue_number text,
               due date NOT NULL,
               open boolean NOT NULL,
               overdue_noticed boolean NOT NULL DEFAULT false,
               escalated_to text,
               PRIMARY KEY (clue_id, kind))"""
    )
    op.execute("CREATE INDEX intake_deadlines_due ON intake_deadlines (due) WHERE open")
