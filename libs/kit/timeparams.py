"""Time parameters as clerks write them: a time without a zone is China Standard Time.

A clerk asking for a case "as of 2026-03-05T09:00" means nine in the morning in China, not
in UTC. Every ``as_of``-style query parameter uses :data:`AsOf`, which reads a time without
an offset as UTC+08:00 (Asia/Shanghai) and says so in the OpenAPI document.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Query
from pydantic import AfterValidator

CHINA = ZoneInfo("Asia/Shanghai")


def in_china_if_naive(value: datetime | None) -> datetime | None:
    """``value`` with China Standard Time attached when it has no offset."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=CHINA)
    return value


AsOf = Annotated[
    datetime | None,
    AfterValidator(in_china_if_naive),
    Query(
        description=(
            "As it stood at this time (RFC 3339). A time without an offset is read as China "
            "Standard Time (UTC+08:00), e.g. 2026-03-05T09:00 = 2026-03-05T09:00+08:00."
        )
    ),
]
"""FastAPI query parameter: a point in time, China Standard Time unless an offset is given."""
