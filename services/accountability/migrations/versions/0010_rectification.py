"""整改台账 and 纪检监察建议书: the read models of lists, items and suggestions."""

from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE rectification_lists (
               list_id uuid PRIMARY KEY,
               unit text NOT NULL,
               title text NOT NULL,
               source_kind text NOT NULL,
               source_reference text NOT NULL,
               reports_to text[] NOT NULL DEFAULT '{}',
               reported_to text[] NOT NULL DEFAULT '{}',
               report_due date,
               opened_at timestamptz NOT NULL)"""
    )
    op.execute("CREATE INDEX rectification_lists_by_unit ON rectification_lists (unit, opened_at)")
    op.execute(
        """CREATE TABLE rectification_items (
               item_id uuid PRIMARY KEY,
               list_id uuid NOT NULL,
               unit text NOT NULL,
               source_kind text NOT NULL,
               problem text NOT NULL,
               owner text NOT NULL,
               immediate boolean NOT NULL,
               deadline date NOT NULL,
               round integer NOT NULL DEFAULT 1,
               status text NOT NULL,
               overdue boolean NOT NULL DEFAULT false,
               review_due date,
               assigned_at timestamptz NOT NULL,
               updated_at timestamptz NOT NULL)"""
    )
    op.execute("CREATE INDEX rectification_items_by_list ON rectification_items (list_id)")
    op.execute(
        "CREATE INDEX rectification_items_by_unit ON rectification_items (unit, status, deadline)"
    )
    op.execute(
        """CREATE TABLE suggestions (
               suggestion_id uuid PRIMARY KEY,
               unit text NOT NULL,
               number text,
               basis_kind text NOT NULL,
               basis_reference text NOT NULL,
               reply_due date NOT NULL,
               status text NOT NULL,
               overdue boolean NOT NULL DEFAULT false,
               list_id uuid,
               issued_at timestamptz NOT NULL,
               replied_at timestamptz)"""
    )
    op.execute("CREATE INDEX suggestions_by_unit ON suggestions (unit, issued_at)")
