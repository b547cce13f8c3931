"""Event store and token issuer tables of the intake schema."""

from alembic import op

from libs.kit.issuer import ISSUER_DDL
from libs.kit.migrations import create_event_store

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_event_store()
    for statement in ISSUER_DDL:
        op.execute(statement)
