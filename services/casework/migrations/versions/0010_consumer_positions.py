"""Each consumer's position per source partition, kept with its inbox: a restart skips what
was applied without a database round trip per record."""

from libs.kit.migrations import keep_consumer_positions

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    keep_consumer_positions()
