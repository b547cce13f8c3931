"""Fuel-card rules: card against register, card against tracks, card spend against odometer."""

from __future__ import annotations

from services.analysis.rules.base import RuleCode
from services.analysis.rules.sql import (
    D0,
    D1,
    FUEL,
    M0,
    M1,
    NO_PERSON,
    T0,
    T1,
    dispatched,
    ev,
    km,
    local_date,
)

_TXN = f"""SELECT t.txn_id AS evidence_key, {NO_PERSON} AS person_id, v.unit_code, t.plate,
                  {local_date("t.ts")} AS occurred_on"""

RULES = [
    RuleCode(
        "fuel.holiday_refuel",
        "fuel_card",
        ("fuel_transactions", "vehicles", "holidays"),
        f"""{_TXN}, format('%s 于%s（%s）在%s加油 %s 升', t.plate, h.name, h.day, t.station_name, t.volume_l) AS summary,
                jsonb_build_array({ev("fuel_transactions", "t")}, {ev("holidays", "h")}) AS evidence
            FROM fuel_transactions t JOIN vehicles v USING (plate)
            JOIN calendar_days h ON h.day = {local_date("t.ts")} AND h.kind = 'holiday'
            WHERE t.ts BETWEEN {T0} AND {T1} AND t.{FUEL}""",
    ),
    RuleCode(
        "fuel.several_per_day",
        "fuel_card",
        ("fuel_transactions", "vehicles"),
        f"""SELECT t.plate || '|' || t.d AS evidence_key, {NO_PERSON} AS person_id, v.unit_code, t.plate,
                   t.d AS occurred_on,
                   format('%s 于 %s 加油 %s 次', t.plate, t.d, count(*)) AS summary,
                   jsonb_agg({ev("fuel_transactions", "t.frow")} ORDER BY t.ts) AS evidence
            FROM (SELECT f AS frow, f.plate, f.ts, {local_date("f.ts")} AS d
                  FROM fuel_transactions f WHERE f.{FUEL} AND f.volume_l > 0) t
            JOIN vehicles v USING (plate)
            WHERE t.d BETWEEN {D0} AND {D1}
            GROUP BY t.plate, v.unit_code, t.d HAVING count(*) >= :p_min_refuels""",
    ),
    RuleCode(
        "fuel.over_tank",
        "fuel_card",
        ("fuel_transactions", "vehicles"),
        f"""{_TXN}, format('%s 单次加油 %s 升，油箱容积 %s 升', t.plate, t.volume_l, v.tank_capacity_l) AS summary,
                jsonb_build_array({ev("fuel_transactions", "t")}, {ev("vehicles", "v")}) AS evidence
            FROM fuel_transactions t JOIN vehicles v USING (plate)
            WHERE t.ts BETWEEN {T0} AND {T1} AND t.volume_l > v.tank_capacity_l * :p_capacity_ratio""",
    ),
    RuleCode(
        "fuel.wrong_grade",
        "fuel_card",
        ("fuel_transactions", "vehicles"),
        f"""{_TXN}, format('%s 登记油品 %s，实际加注 %s', t.plate, v.fuel_type, t.product) AS summary,
                jsonb_build_array({ev("fuel_transactions", "t")}, {ev("vehicles", "v")}) AS evidence
            FROM fuel_transactions t JOIN vehicles v USING (plate)
            WHERE t.ts BETWEEN {T0} AND {T1} AND t.{FUEL} AND t.product <> v.fuel_type
              AND v.fuel_type || '>' || t.product <> ALL(CAST(:p_accepted_substitutes AS text[]))""",
    ),
    RuleCode(
        "fuel.card_shopping",
        "fuel_card",
        ("fuel_transactions", "vehicles"),
        f"""{_TXN}, format('%s 的油卡在%s购物 %s 元', t.plate, t.station_name, t.amount) AS summary,
                jsonb_build_array({ev("fuel_transactions", "t")}) AS evidence
            FROM fuel_transactions t JOIN vehicles v USING (plate)
            WHERE t.ts BETWEEN {T0} AND {T1} AND NOT t.{FUEL} AND t.amount >= :p_min_amount""",
    ),
    RuleCode(
        "fuel.far_from_jurisdiction",
        "fuel_card",
        ("fuel_transactions", "vehicles", "dispatches"),
        f"""{_TXN}, format('%s 在距县城 %s 公里的%s加油，无派车记录', t.plate,
                round({km("t.lat", "t.lon", ":p_centre_lat", ":p_centre_lon")}::numeric, 1), t.station_name) AS summary,
                jsonb_build_array({ev("fuel_transactions", "t")}) AS evidence
            FROM fuel_transactions t JOIN vehicles v USING (plate)
            WHERE t.ts BETWEEN {T0} AND {T1}
              AND {km("t.lat", "t.lon", ":p_centre_lat", ":p_centre_lon")} > :p_max_km
              AND NOT {dispatched("t.plate", "t.ts")}""",
    ),
    RuleCode(
        "fuel.vehicle_absent",
        "fuel_card",
        ("fuel_transactions", "gps_points"),
        f"""{_TXN}, format('%s 油卡在%s使用时，车辆轨迹距加油站 %s 公里', t.plate, t.station_name,
                round({km("near.lat", "near.lon", "t.lat", "t.lon")}::numeric, 1)) AS summary,
                jsonb_build_array({ev("fuel_transactions", "t")}, {ev("gps_points", "near")}) AS evidence
            FROM fuel_transactions t JOIN vehicles v USING (plate)
            CROSS JOIN LATERAL (
                SELECT g.* FROM gps_points g
                WHERE g.plate = t.plate
                  AND g.ts BETWEEN t.ts - make_interval(mins => :p_window_minutes)
                               AND t.ts + make_interval(mins => :p_window_minutes)
                ORDER BY abs(extract(epoch FROM g.ts - t.ts)) LIMIT 1) near
            WHERE t.ts BETWEEN {T0} AND {T1}
              AND NOT EXISTS (
                SELECT 1 FROM gps_points g
                WHERE g.plate = t.plate
                  AND g.ts BETWEEN t.ts - make_interval(mins => :p_window_minutes)
                               AND t.ts + make_interval(mins => :p_window_minutes)
                  AND {km("g.lat", "g.lon", "t.lat", "t.lon")} * 1000 <= :p_radius_m)""",
        margin_days=1,
    ),
    RuleCode(
        "fuel.two_within_window",
        "fuel_card",
        ("fuel_transactions", "vehicles"),
        # Each refuel against the next one of the same vehicle: one pass, no self-join.
        f"""WITH seq AS (
                SELECT f AS frow, f.txn_id, f.plate, f.ts, f.volume_l,
                       lead(f) OVER (PARTITION BY f.plate ORDER BY f.ts, f.txn_id) AS nrow
                FROM fuel_transactions f
                WHERE f.ts BETWEEN {T0} - make_interval(mins => :p_window_minutes)
                               AND {T1} + make_interval(mins => :p_window_minutes)
                  AND f.{FUEL} AND f.volume_l > 0)
            SELECT s.txn_id || '|' || (s.nrow).txn_id AS evidence_key, {NO_PERSON} AS person_id,
                   v.unit_code, s.plate, {local_date("s.ts")} AS occurred_on,
                   format('%s 在 %s 分钟内加油两次（%s 升、%s 升）', s.plate,
                          round(extract(epoch FROM (s.nrow).ts - s.ts) / 60), s.volume_l,
                          (s.nrow).volume_l) AS summary,
                   jsonb_build_array({ev("fuel_transactions", "s.frow")},
                                     {ev("fuel_transactions", "s.nrow")}) AS evidence
            FROM seq s JOIN vehicles v ON v.plate = s.plate
            WHERE (s.nrow).txn_id IS NOT NULL AND s.ts BETWEEN {T0} AND {T1}
              AND (s.nrow).ts <= s.ts + make_interval(mins => :p_window_minutes)""",
    ),
    RuleCode(
        "fuel.consumption_above_norm",
        "fuel_card",
        ("fuel_transactions", "gps_points", "vehicles"),
        f"""WITH months AS (
                SELECT generate_series({M0}, {M1}, interval '1 month')::date AS m),
            odo AS (
                SELECT g.plate, date_trunc('month', g.ts AT TIME ZONE :tz)::date AS m,
                       max(g.odometer_km) - min(g.odometer_km) AS km
                FROM gps_points g
                WHERE g.ts >= ({M0}::timestamp AT TIME ZONE :tz)
                  AND g.ts < (({M1} + interval '1 month')::timestamp AT TIME ZONE :tz)
                  AND g.odometer_km IS NOT NULL
                GROUP BY 1, 2),
            fuel AS (
                SELECT f.plate, date_trunc('month', f.ts AT TIME ZONE :tz)::date AS m,
                       sum(f.volume_l) AS litres, jsonb_agg(f.txn_id ORDER BY f.ts) AS txns
                FROM fuel_transactions f
                WHERE f.ts >= ({M0}::timestamp AT TIME ZONE :tz)
                  AND f.ts < (({M1} + interval '1 month')::timestamp AT TIME ZONE :tz)
                  AND f.{FUEL}
                GROUP BY 1, 2)
            SELECT o.plate || '|' || to_char(o.m, 'YYYY-MM') AS evidence_key, {NO_PERSON} AS person_id,
                   v.unit_code, o.plate, o.m AS occurred_on,
                   format('%s %s 行驶 %s 公里、加油 %s 升，百公里 %s 升，定额 %s 升', o.plate,
                          to_char(o.m, 'YYYY-MM'), round(o.km::numeric), round(f.litres::numeric, 1),
                          round((f.litres / o.km * 100)::numeric, 1), v.norm_l_per_100km) AS summary,
                   jsonb_build_array(jsonb_build_object(
                       'feed', 'gps_points+fuel_transactions', 'plate', o.plate,
                       'month', to_char(o.m, 'YYYY-MM'), 'km', round(o.km::numeric, 1),
                       'litres', round(f.litres::numeric, 2),
                       'l_per_100km', round((f.litres / o.km * 100)::numeric, 2),
                       'norm_l_per_100km', v.norm_l_per_100km, 'txn_ids', f.txns)) AS evidence
            FROM odo o JOIN fuel f USING (plate, m) JOIN vehicles v USING (plate)
            JOIN months USING (m)
            WHERE o.km >= :p_min_km
              AND f.litres / o.km * 100 > v.norm_l_per_100km * :p_ratio""",
        margin_days=31,
    ),
]
