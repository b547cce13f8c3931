"""SQL pieces the rules share: local time, distances, evidence rows, period bounds.

Every rule query returns the same columns: ``evidence_key``, ``person_id``,
``unit_code``, ``plate``, ``occurred_on``, ``summary``, ``evidence`` (a JSON array of
the feed rows the finding rests on). ``:t0``/``:t1`` bound the period being run,
``:tz`` is the county's time zone, ``:p_<name>`` the rule version's parameters.
"""

from __future__ import annotations

T0 = "CAST(:t0 AS timestamptz)"
T1 = "CAST(:t1 AS timestamptz)"
D0 = f"({T0} AT TIME ZONE :tz)::date"
D1 = f"({T1} AT TIME ZONE :tz)::date"
M0 = f"date_trunc('month', {T0} AT TIME ZONE :tz)::date"
M1 = f"date_trunc('month', {T1} AT TIME ZONE :tz)::date"


def local_date(ts: str) -> str:
    """The county-local calendar day of a timestamptz expression."""
    return f"({ts} AT TIME ZONE :tz)::date"


def local_time(ts: str) -> str:
    """The county-local time of day of a timestamptz expression."""
    return f"({ts} AT TIME ZONE :tz)::time"


def km(lat1: str, lon1: str, lat2: str, lon2: str) -> str:
    """Equirectangular distance in km: exact enough within a few hundred km."""
    return (
        f"(111.2 * sqrt(power(({lat1}) - ({lat2}), 2)"
        f" + power((({lon1}) - ({lon2})) * cos(radians(({lat1} + {lat2}) / 2)), 2)))"
    )


def ev(feed: str, alias: str) -> str:
    """One evidence row: the feed it came from and the row itself."""
    return f"(jsonb_build_object('feed', '{feed}') || (to_jsonb({alias}) - 'batch_id'))"


NO_PERSON = "CAST(NULL AS text)"
NO_PLATE = "CAST(NULL AS text)"

FUEL = "product <> ALL(CAST(:p_non_fuel_products AS text[]))"


def dispatched(plate: str, ts: str) -> str:
    """Whether a dispatch record covers a vehicle at a time (派车单)."""
    return (
        f"EXISTS (SELECT 1 FROM dispatches dp WHERE dp.plate = {plate}"
        f" AND {ts} BETWEEN dp.start_at AND dp.end_at)"
    )


def working_days(d0: str = D0, d1: str = D1) -> str:
    """A derived table ``wd(day, working)`` for the days between two dates (调休 aware)."""
    return f"""(SELECT gs::date AS day,
                  CASE WHEN EXISTS (SELECT 1 FROM calendar_days h WHERE h.day = gs::date AND h.kind = 'workday') THEN true
                       WHEN EXISTS (SELECT 1 FROM calendar_days h WHERE h.day = gs::date AND h.kind = 'holiday') THEN false
                       ELSE extract(isodow FROM gs) < 6 END AS working
           FROM generate_series({d0} - 1, {d1} + 1, interval '1 day') gs) wd"""
