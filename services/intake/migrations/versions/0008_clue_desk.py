"""The intake desk: every clue as a clerk lists it, and each clue's handler ledger."""

from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE clue_desk (
               clue_id uuid PRIMARY KEY,
               clue_number text NOT NULL,
               source_kind text NOT NULL,
               source_department text,
               source_reference text,
               categories text[] NOT NULL DEFAULT '{}',
               units text[] NOT NULL DEFAULT '{}',
               persons jsonb NOT NULL DEFAULT '[]',
               urgency text NOT NULL DEFAULT 'normal',
               received_at timestamptz NOT NULL,
               status text NOT NULL,
               outcome text,
               status_updated_at timestamptz,
               merged_into uuid,
               repeat_count integer NOT NULL DEFAULT 0,
               anonymous boolean,
               acknowledge_by date,
               acknowledged_at timestamptz,
               jurisdiction text NOT NULL DEFAULT 'in_jurisdiction',
               forward_by date,
               forwarded_to text,
               last_touched_at timestamptz NOT NULL,
               position bigint NOT NULL)"""
    )
    op.execute("CREATE INDEX clue_desk_newest ON clue_desk (received_at DESC, clue_id DESC)")
    op.execute("CREATE INDEX clue_desk_by_status ON clue_desk (status, received_at DESC)")
    op.execute("CREATE INDEX clue_desk_by_category ON clue_desk USING gin (categories)")
    op.execute("CREATE INDEX clue_desk_by_unit ON clue_desk USING gin (units)")
    op.execute(
        """CREATE TABLE clue_handlers (
               clue_id uuid NOT NULL,
               event_id uuid NOT NULL,
               position bigint NOT NULL,
               action text NOT NULL,
               actor text NOT NULL,
               at timestamptz NOT NULL,
               detail jsonb NOT NULL DEFAULT '{}',
               PRIMARY KEY (clue_id, event_id))"""
    )
    op.execute("CREATE INDEX clue_handlers_in_order ON clue_handlers (clue_id, position)")
