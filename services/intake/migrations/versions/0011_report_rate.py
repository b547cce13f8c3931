"""The public reports' rate limit, shared by every replica (services/intake/ratelimit.py).

One row per client address, keyed by the address's keyed hash (never the address), with
the times of its reports inside the window.
"""

from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.execute(
        "CREATE TABLE report_rate ( address_key char(64) PRIMARY KEY, hits timestamptz[] NOT NULL)"
    )
