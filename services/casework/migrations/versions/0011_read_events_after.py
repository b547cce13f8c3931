"""The store's page read in one round trip: ``read_events_after`` takes the horizon, then
reads the events below it (each with a snapshot of its own), sorting off for itself."""

from libs.kit.migrations import create_read_events_after

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    create_read_events_after()
