"""Invoice, travel-claim, 12345 and police rules."""

from __future__ import annotations

from services.analysis.rules.base import RuleCode
from services.analysis.rules.sql import D0, D1, M0, M1, NO_PLATE, T0, T1, ev, local_date

_INV = f"""SELECT i.invoice_no AS evidence_key, i.claimant_id AS person_id, i.buyer_unit AS unit_code,
                  {NO_PLATE} AS plate, {local_date("i.issued_at")} AS occurred_on"""
_CLAIM = f"""SELECT c.claim_id AS evidence_key, c.person_id, c.unit_code, {NO_PLATE} AS plate,
                    c.depart_on AS occurred_on"""

INVOICES = [
    RuleCode(
        "invoice.holiday_catering",
        "invoice",
        ("invoices", "holidays"),
        f"""{_INV}, format('%s（%s）开具于%s的%s发票 %s 元', i.seller, i.seller_type, h.name, i.items, i.amount) AS summary,
                jsonb_build_array({ev("invoices", "i")}, {ev("holidays", "h")}) AS evidence
            FROM invoices i JOIN calendar_days h ON h.day = {local_date("i.issued_at")} AND h.kind = 'holiday'
            WHERE i.issued_at BETWEEN {T0} AND {T1}
              AND i.seller_type = ANY(CAST(:p_seller_types AS text[]))""",
    ),
    RuleCode(
        "invoice.private_club",
        "invoice",
        ("invoices", "pois"),
        f"""{_INV}, format('私人会所%s开具发票 %s 元（%s）', i.seller, i.amount, i.items) AS summary,
                jsonb_build_array({ev("invoices", "i")}) AS evidence
            FROM invoices i
            WHERE i.issued_at BETWEEN {T0} AND {T1}
              AND (i.seller_type = ANY(CAST(:p_seller_types AS text[]))
                   OR EXISTS (SELECT 1 FROM pois p WHERE p.kind = 'private_club' AND p.name = i.seller))""",
    ),
    RuleCode(
        "invoice.split",
        "invoice",
        ("invoices",),
        f"""WITH near AS (
                SELECT * FROM invoices
                WHERE amount >= CAST(:p_approval_limit AS float8) * CAST(:p_below_ratio AS float8)
                  AND amount < CAST(:p_approval_limit AS float8)),
            starts AS (
                SELECT n.* FROM near n
                WHERE n.issued_at BETWEEN {T0} AND {T1}
                  AND NOT EXISTS (
                    SELECT 1 FROM near m
                    WHERE m.seller = n.seller AND m.buyer_unit = n.buyer_unit
                      AND m.issued_at < n.issued_at
                      AND m.issued_at >= n.issued_at - make_interval(days => :p_window_days)))
            SELECT s.seller || '|' || s.buyer_unit || '|' || s.invoice_no AS evidence_key,
                   s.claimant_id AS person_id, s.buyer_unit AS unit_code, {NO_PLATE} AS plate,
                   {local_date("s.issued_at")} AS occurred_on,
                   format('%s 在 %s 天内向%s开具 %s 张略低于审批限额（%s 元）的发票，合计 %s 元',
                          s.seller, CAST(:p_window_days AS int), s.buyer_unit, count(*), CAST(:p_approval_limit AS numeric), sum(m.amount)) AS summary,
                   jsonb_agg({ev("invoices", "m")} ORDER BY m.issued_at) AS evidence
            FROM starts s
            JOIN near m ON m.seller = s.seller AND m.buyer_unit = s.buyer_unit
                 AND m.issued_at BETWEEN s.issued_at AND s.issued_at + make_interval(days => :p_window_days)
            GROUP BY s.seller, s.buyer_unit, s.invoice_no, s.claimant_id, s.issued_at
            HAVING count(*) >= :p_min_count""",
        margin_days=31,
    ),
    RuleCode(
        "invoice.keywords",
        "invoice",
        ("invoices",),
        f"""{_INV}, format('发票品目含敏感词：%s（%s，%s 元）', i.items, i.seller, i.amount) AS summary,
                jsonb_build_array({ev("invoices", "i")}) AS evidence
            FROM invoices i
            WHERE i.issued_at BETWEEN {T0} AND {T1}
              AND EXISTS (SELECT 1 FROM unnest(CAST(:p_keywords AS text[])) k
                          WHERE position(k IN coalesce(i.items, '') || ' ' || i.seller) > 0)""",
    ),
    RuleCode(
        "invoice.per_person_over_standard",
        "invoice",
        ("invoices",),
        f"""{_INV}, format('%s 餐费 %s 元 / %s 人，人均 %s 元，标准 %s 元', i.seller, i.amount, i.diners,
                round((i.amount / i.diners)::numeric, 2), CAST(:p_standard_per_person AS numeric)) AS summary,
                jsonb_build_array({ev("invoices", "i")}) AS evidence
            FROM invoices i
            WHERE i.issued_at BETWEEN {T0} AND {T1}
              AND i.seller_type = ANY(CAST(:p_seller_types AS text[]))
              AND i.diners > 0 AND i.amount / i.diners > :p_standard_per_person""",
    ),
]

TRAVEL = [
    RuleCode(
        "travel.office_same_day",
        "travel",
        ("travel_claims", "attendance"),
        f"""{_CLAIM}, format('%s 报销 %s 至 %s 赴%s出差，期间 %s 天在单位打卡', c.person_id, c.depart_on,
                c.return_on, c.destination, count(*)) AS summary,
                jsonb_build_array({ev("travel_claims", "c")}) || jsonb_agg({ev("attendance", "a")} ORDER BY a.day) AS evidence
            FROM travel_claims c
            JOIN attendance a ON a.person_id = c.person_id
                 AND a.day BETWEEN c.depart_on AND c.return_on
                 AND (CAST(:p_include_end_days AS boolean) OR (a.day > c.depart_on AND a.day < c.return_on))
            WHERE c.depart_on BETWEEN {D0} AND {D1}
            GROUP BY c.claim_id""",
    ),
    RuleCode(
        "travel.duplicate_ticket",
        "travel",
        ("travel_claims",),
        f"""SELECT c.ticket_no AS evidence_key,
                   (array_agg(c.person_id ORDER BY c.depart_on DESC))[1] AS person_id,
                   (array_agg(c.unit_code ORDER BY c.depart_on DESC))[1] AS unit_code,
                   {NO_PLATE} AS plate, max(c.depart_on) AS occurred_on,
                   format('票据 %s 被 %s 份差旅报销重复使用', c.ticket_no, count(*)) AS summary,
                   jsonb_agg({ev("travel_claims", "c")} ORDER BY c.depart_on) AS evidence
            FROM travel_claims c
            WHERE c.ticket_no IS NOT NULL
            GROUP BY c.ticket_no
            HAVING count(*) >= 2 AND bool_or(c.depart_on BETWEEN {D0} AND {D1})""",
    ),
    RuleCode(
        "travel.hotel_implausible",
        "travel",
        ("travel_claims",),
        f"""{_CLAIM}, format('%s 赴%s住宿 %s 晚 %s 人，报销 %s 元，人均每晚 %s 元（上限 %s）', c.person_id,
                c.destination, c.nights, c.travellers, c.hotel_amount,
                round((c.hotel_amount / (c.nights * c.travellers))::numeric), CAST(:p_max_per_person_night AS numeric)) AS summary,
                jsonb_build_array({ev("travel_claims", "c")}) AS evidence
            FROM travel_claims c
            WHERE c.depart_on BETWEEN {D0} AND {D1} AND c.nights > 0
              AND c.hotel_amount / (c.nights * c.travellers) > :p_max_per_person_night""",
    ),
    RuleCode(
        "travel.tourist_holiday",
        "travel",
        ("travel_claims", "holidays"),
        f"""{_CLAIM}, format('%s 于 %s 至 %s 赴旅游地%s出差，临近%s', c.person_id, c.depart_on, c.return_on,
                c.destination, min(h.name)) AS summary,
                jsonb_build_array({ev("travel_claims", "c")}) || jsonb_agg({ev("holidays", "h")} ORDER BY h.day) AS evidence
            FROM travel_claims c
            JOIN calendar_days h ON h.kind = 'holiday'
                 AND h.day BETWEEN c.depart_on - CAST(:p_days_around AS int) AND c.return_on + CAST(:p_days_around AS int)
            WHERE c.depart_on BETWEEN {D0} AND {D1}
              AND c.destination = ANY(CAST(:p_tourist_destinations AS text[]))
            GROUP BY c.claim_id""",
    ),
]

PUBLIC = [
    RuleCode(
        "hotline.unit_sloth",
        "hotline",
        ("hotline_orders",),
        f"""WITH per AS (
                SELECT o.unit_code, date_trunc('month', o.opened_at AT TIME ZONE :tz)::date AS m,
                       count(*) AS orders,
                       count(*) FILTER (WHERE coalesce(o.closed_at, {T1}) > o.due_at) AS overdue,
                       coalesce(sum(o.reopened), 0) AS reopened,
                       avg(o.satisfaction) AS satisfaction,
                       jsonb_agg({ev("hotline_orders", "o")} ORDER BY o.opened_at) AS rows
                FROM hotline_orders o
                WHERE date_trunc('month', o.opened_at AT TIME ZONE :tz)::date BETWEEN {M0} AND {M1}
                GROUP BY 1, 2)
            SELECT p.unit_code || '|' || to_char(p.m, 'YYYY-MM') AS evidence_key, CAST(NULL AS text) AS person_id,
                   p.unit_code, {NO_PLATE} AS plate, p.m AS occurred_on,
                   format('%s %s：12345 工单 %s 件，超期 %s 件，重办 %s 次，满意度 %s', p.unit_code,
                          to_char(p.m, 'YYYY-MM'), p.orders, p.overdue, p.reopened,
                          round(p.satisfaction::numeric, 1)) AS summary,
                   p.rows AS evidence
            FROM per p
            WHERE p.orders >= :p_min_orders
              AND (p.overdue >= p.orders * CAST(:p_overdue_ratio AS float8)
                   OR p.reopened >= :p_min_reopened
                   OR p.satisfaction < CAST(:p_min_satisfaction AS float8))""",
        margin_days=31,
    ),
    RuleCode(
        "hotline.repeat_complaints",
        "hotline",
        ("hotline_orders",),
        f"""SELECT o.unit_code || '|' || o.topic || '|' || to_char(date_trunc('month', o.opened_at AT TIME ZONE :tz), 'YYYY-MM') AS evidence_key,
                   CAST(NULL AS text) AS person_id, o.unit_code, {NO_PLATE} AS plate,
                   min({local_date("o.opened_at")}) AS occurred_on,
                   format('%s 当月收到「%s」投诉 %s 件', o.unit_code, o.topic, count(*)) AS summary,
                   jsonb_agg({ev("hotline_orders", "o")} ORDER BY o.opened_at) AS evidence
            FROM hotline_orders o
            WHERE date_trunc('month', o.opened_at AT TIME ZONE :tz)::date BETWEEN {M0} AND {M1}
            GROUP BY o.unit_code, o.topic, date_trunc('month', o.opened_at AT TIME ZONE :tz)
            HAVING count(*) >= :p_min_orders""",
        margin_days=31,
    ),
    RuleCode(
        "drunk.dinner_lookback",
        "police",
        ("drunk_driving", "people", "invoices"),
        f"""SELECT d.case_no AS evidence_key, d.person_id, pe.unit_code, {NO_PLATE} AS plate,
                   {local_date("d.ts")} AS occurred_on,
                   format('%s（%s）%s 酒驾，当晚可查餐饮发票 %s 张', pe.name, pe.unit_code,
                          to_char(d.ts AT TIME ZONE :tz, 'YYYY-MM-DD HH24:MI'), jsonb_array_length(dinners.rows)) AS summary,
                   jsonb_build_array({ev("drunk_driving", "d")}) || dinners.rows AS evidence
            FROM drunk_driving d JOIN people pe ON pe.person_id = d.person_id
            CROSS JOIN LATERAL (
                SELECT coalesce(jsonb_agg({ev("invoices", "i")} ORDER BY i.issued_at), '[]'::jsonb) AS rows
                FROM invoices i
                WHERE (i.buyer_unit = pe.unit_code OR i.claimant_id = d.person_id)
                  AND i.seller_type = ANY(CAST(:p_seller_types AS text[]))
                  AND i.issued_at BETWEEN d.ts - make_interval(hours => :p_hours_before) AND d.ts) dinners
            WHERE d.ts BETWEEN {T0} AND {T1}""",
    ),
]

RULES = INVOICES + TRAVEL + PUBLIC
