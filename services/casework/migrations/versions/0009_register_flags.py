"""工作台's 已超期 and the register's 督办 filter read an index in registration order, not
every row of the register (a whole-table scan of 20 000 matters took ~140 ms at load; the
flag leads the index so a prepared statement's generic plan can use it too)."""

from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.execute("CREATE INDEX cases_overdue ON cases (overdue, registered_at, case_id)")
    op.execute("CREATE INDEX cases_supervised ON cases (supervised, registered_at, case_id)")
