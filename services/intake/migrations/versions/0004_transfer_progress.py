"""What a partner may learn of its transfer: the outcome and when it last changed."""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute("ALTER TABLE transfers ADD COLUMN outcome text")
    op.execute("ALTER TABLE transfers ADD COLUMN updated_at timestamptz")
