"""Vehicle-track and parking rules: where official cars stop, when and how far they go."""

from __future__ import annotations

from services.analysis.rules.base import RuleCode
from services.analysis.rules.sql import (
    M0,
    M1,
    NO_PERSON,
    T0,
    T1,
    dispatched,
    ev,
    km,
    local_date,
    local_time,
    working_days,
)

# POIs are matched on a grid of cells at least as wide as the radius: a hash join on the
# cell and its eight neighbours, then the exact distance.
_CELL = "GREATEST(0.01, CAST(:p_radius_m AS float8) / 90000.0)"


def _poi_cells(kinds: str) -> str:
    return f"""cells AS (
        SELECT p.poi_id, p.name, p.kind, p.lat, p.lon,
               floor(p.lat / {_CELL})::int + dy AS gy, floor(p.lon / {_CELL})::int + dx AS gx
        FROM pois p, generate_series(-1, 1) dy, generate_series(-1, 1) dx
        WHERE p.kind = ANY(CAST({kinds} AS text[])))"""


def _stops_near(kinds: str, extra: str = "") -> str:
    """Stopped GPS points within the radius of a POI of ``kinds``, by plate, POI and day."""
    return f"""{_poi_cells(kinds)},
        stops AS (
            SELECT g.plate, c.poi_id, c.name, c.kind, {local_date("g.ts")} AS d,
                   min(g.ts) AS t_in, max(g.ts) AS t_out, count(*) AS points,
                   (array_agg(to_jsonb(g) - 'batch_id' ORDER BY g.ts))[1] AS first_point
            FROM gps_points g
            JOIN cells c ON floor(g.lat / {_CELL})::int = c.gy AND floor(g.lon / {_CELL})::int = c.gx
            WHERE g.speed_kmh = 0 AND {km("g.lat", "g.lon", "c.lat", "c.lon")} * 1000 <= :p_radius_m {extra}
            GROUP BY 1, 2, 3, 4, 5)"""


RULES = [
    RuleCode(
        "vehicle.sensitive_place",
        "gps",
        ("gps_points", "pois"),
        f"""WITH {_stops_near(":p_poi_kinds", f"AND g.ts BETWEEN {T0} AND {T1}")}
            SELECT s.plate || '|' || s.poi_id || '|' || s.d AS evidence_key, {NO_PERSON} AS person_id,
                   v.unit_code, s.plate, s.d AS occurred_on,
                   format('%s 于 %s 在%s（%s）停留 %s 分钟', s.plate, s.d, s.name, s.kind,
                          round(extract(epoch FROM s.t_out - s.t_in) / 60)) AS summary,
                   jsonb_build_array({ev("pois", "p")},
                       jsonb_build_object('feed', 'gps_points', 'plate', s.plate, 'from', s.t_in,
                                          'to', s.t_out, 'points', s.points, 'first', s.first_point)) AS evidence
            FROM stops s JOIN vehicles v USING (plate) JOIN pois p USING (poi_id)
            WHERE s.t_out - s.t_in >= make_interval(mins => :p_min_minutes)""",
    ),
    RuleCode(
        "vehicle.out_of_jurisdiction",
        "gps",
        ("gps_points", "dispatches"),
        f"""WITH away AS (
                SELECT g.*, {km("g.lat", "g.lon", ":p_centre_lat", ":p_centre_lon")} AS dist
                FROM gps_points g
                WHERE g.ts BETWEEN {T0} AND {T1}
                  AND {km("g.lat", "g.lon", ":p_centre_lat", ":p_centre_lon")} > :p_max_km),
            days AS (
                SELECT o.plate, {local_date("o.ts")} AS d, min(o.ts) AS t_out, max(o.ts) AS t_back,
                       max(o.dist) AS farthest, count(*) AS points,
                       (array_agg(to_jsonb(o) - 'batch_id' - 'dist' ORDER BY o.dist DESC))[1] AS far_point
                FROM away o WHERE NOT {dispatched("o.plate", "o.ts")}
                GROUP BY 1, 2)
            SELECT d.plate || '|' || d.d AS evidence_key, {NO_PERSON} AS person_id, v.unit_code, d.plate,
                   d.d AS occurred_on,
                   format('%s 于 %s 无派车记录驶出辖区，最远 %s 公里', d.plate, d.d, round(d.farthest::numeric)) AS summary,
                   jsonb_build_array(jsonb_build_object('feed', 'gps_points', 'plate', d.plate,
                       'from', d.t_out, 'to', d.t_back, 'points', d.points,
                       'farthest_km', round(d.farthest::numeric, 1), 'farthest_point', d.far_point)) AS evidence
            FROM days d JOIN vehicles v USING (plate)""",
    ),
    RuleCode(
        "vehicle.off_hours_without_dispatch",
        "gps",
        ("gps_points", "dispatches", "holidays"),
        f"""WITH moving AS (
                SELECT g.*, {local_date("g.ts")} AS d, {local_time("g.ts")} AS tod
                FROM gps_points g
                WHERE g.ts BETWEEN {T0} AND {T1} AND g.speed_kmh > 0),
            off AS (
                SELECT m.* FROM moving m JOIN {working_days()} ON wd.day = m.d
                WHERE (NOT wd.working OR m.tod < CAST(CAST(:p_work_start AS text) AS time)
                       OR m.tod >= CAST(CAST(:p_work_end AS text) AS time))
                  AND NOT {dispatched("m.plate", "m.ts")}),
            days AS (
                SELECT o.plate, o.d, min(o.ts) AS t_from, max(o.ts) AS t_to, count(*) AS points
                FROM off o GROUP BY 1, 2 HAVING count(*) >= :p_min_points)
            SELECT d.plate || '|' || d.d AS evidence_key, {NO_PERSON} AS person_id, v.unit_code, d.plate,
                   d.d AS occurred_on,
                   format('%s 于 %s 非工作时间行驶（%s—%s），无派车记录', d.plate, d.d,
                          to_char(d.t_from AT TIME ZONE :tz, 'HH24:MI'), to_char(d.t_to AT TIME ZONE :tz, 'HH24:MI')) AS summary,
                   jsonb_build_array(jsonb_build_object('feed', 'gps_points', 'plate', d.plate,
                       'from', d.t_from, 'to', d.t_to, 'points', d.points)) AS evidence
            FROM days d JOIN vehicles v USING (plate)""",
    ),
    RuleCode(
        "vehicle.residence_shuttle",
        "gps",
        ("gps_points", "pois"),
        f"""WITH months AS (SELECT generate_series({M0}, {M1}, interval '1 month')::date AS m),
            {
            _stops_near(
                ":p_poi_kinds",
                f'''AND g.ts >= ({M0}::timestamp AT TIME ZONE :tz)
                  AND g.ts < (({M1} + interval '1 month')::timestamp AT TIME ZONE :tz)
                  AND (({local_time("g.ts")} BETWEEN CAST(CAST(:p_morning_from AS text) AS time) AND CAST(CAST(:p_morning_to AS text) AS time))
                    OR ({local_time("g.ts")} BETWEEN CAST(CAST(:p_evening_from AS text) AS time) AND CAST(CAST(:p_evening_to AS text) AS time)))''',
            )
        },
            short AS (
                SELECT s.*, date_trunc('month', s.d)::date AS m FROM stops s
                WHERE s.t_out - s.t_in <= make_interval(mins => :p_max_stop_minutes))
            SELECT s.plate || '|' || s.poi_id || '|' || to_char(s.m, 'YYYY-MM') AS evidence_key,
                   {NO_PERSON} AS person_id, v.unit_code, s.plate, min(s.d) AS occurred_on,
                   format('%s 于 %s 有 %s 天在通勤时段短暂停靠%s', s.plate, to_char(s.m, 'YYYY-MM'),
                          count(DISTINCT s.d), s.name) AS summary,
                   jsonb_agg(jsonb_build_object('feed', 'gps_points', 'plate', s.plate, 'poi_id', s.poi_id,
                       'poi', s.name, 'day', s.d, 'from', s.t_in, 'to', s.t_out) ORDER BY s.d) AS evidence
            FROM short s JOIN months USING (m) JOIN vehicles v USING (plate)
            GROUP BY s.plate, s.poi_id, s.name, s.m, v.unit_code
            HAVING count(DISTINCT s.d) >= :p_min_days""",
        margin_days=31,
    ),
    RuleCode(
        "parking.sensitive_place",
        "parking",
        ("parking", "pois"),
        f"""SELECT r.record_id AS evidence_key, {NO_PERSON} AS person_id, v.unit_code, r.plate,
                   {local_date("r.ts")} AS occurred_on,
                   format('%s 于 %s %s记录在%s（%s）', r.plate,
                          to_char(r.ts AT TIME ZONE :tz, 'YYYY-MM-DD HH24:MI'),
                          CASE r.kind WHEN 'etc' THEN 'ETC' ELSE '停车' END, p.name, p.kind) AS summary,
                   jsonb_build_array({ev("parking", "r")}, {ev("pois", "p")}) AS evidence
            FROM parking r JOIN vehicles v USING (plate)
            JOIN LATERAL (
                SELECT * FROM pois p
                WHERE p.kind = ANY(CAST(:p_poi_kinds AS text[]))
                  AND p.lat BETWEEN r.lat - 0.05 AND r.lat + 0.05
                  AND {km("p.lat", "p.lon", "r.lat", "r.lon")} * 1000 <= :p_radius_m
                ORDER BY {km("p.lat", "p.lon", "r.lat", "r.lon")} LIMIT 1) p ON true
            WHERE r.ts BETWEEN {T0} AND {T1}""",
    ),
]
