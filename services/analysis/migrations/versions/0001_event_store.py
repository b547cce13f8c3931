"""Event store tables of the analysis schema."""

from libs.kit.migrations import create_event_store

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_event_store()
