"""Parked records kept whole (key, value, headers) so an operator can replay them."""

from libs.kit.migrations import keep_dead_letters_whole

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    keep_dead_letters_whole()
