"""The platform's holiday calendar beside the ``holidays`` feed, and the days rules read.

``platform_calendar`` holds the platform calendar's holiday breaks and 调休 working days
(libs/kit/workdays, written at start); ``calendar_days`` is what the holiday rules join:
a day a partner's ``holidays`` feed names reads as the feed says (the override), every
other day as the platform calendar says.
"""

from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.execute(
        """CREATE TABLE platform_calendar (
               day date PRIMARY KEY,
               name text NOT NULL,
               kind text NOT NULL CHECK (kind IN ('holiday', 'workday')),
               calendar text NOT NULL)"""
    )
    op.execute(
        """CREATE VIEW calendar_days AS
               SELECT h.day, h.name, h.kind, 'feed:holidays' AS source, h.batch_id
               FROM holidays h
               UNION ALL
               SELECT p.day, p.name, p.kind, 'platform:' || p.calendar AS source, NULL AS batch_id
               FROM platform_calendar p
               WHERE NOT EXISTS (SELECT 1 FROM holidays h WHERE h.day = p.day)"""
    )
