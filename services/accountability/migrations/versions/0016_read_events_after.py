"""The store's page read in one round trip: ``read_events_after`` takes the horizon, then
reads the events below it (each with a snapshot of its own), sorting off for itself."""

from libs.kit.migrations import create_read_events_after

revision = "0016"
down_revision = "0015"


def upgrade() -> None:
    create_read_events_after()
