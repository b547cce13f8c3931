"""Read model of published responsibility lists (every version)."""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE responsibility_lists (
               list_id uuid PRIMARY KEY,
               unit text NOT NULL,
               version integer NOT NULL,
               valid_from date NOT NULL,
               valid_to date,
               body jsonb NOT NULL,
               UNIQUE (unit, version))"""
    )
