"""Parked records kept whole (key, value, headers) so an operator can replay them."""

from libs.kit.migrations import keep_dead_letters_whole

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    keep_dead_letters_whole()
