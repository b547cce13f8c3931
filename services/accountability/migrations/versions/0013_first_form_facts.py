"""形态一 applied on clues (casework's FirstFormApplied), counted by the monthly statistics."""

from alembic import op

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE first_form_facts (
               clue_id uuid PRIMARY KEY,
               clue_number text NOT NULL,
               unit text,
               department text,
               rank text,
               categories text[] NOT NULL DEFAULT '{}',
               measures text[] NOT NULL DEFAULT '{}',
               applied_at timestamptz NOT NULL)"""
    )
    op.execute("CREATE INDEX first_form_facts_applied_at ON first_form_facts (applied_at)")


def downgrade() -> None:
    op.execute("DROP TABLE first_form_facts")
