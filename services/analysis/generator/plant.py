"""Planted violations, one scenario per rule (some scenarios trip two rules on purpose),
and clean look-alikes that must raise nothing (dispatched weekend and far trips)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from services.analysis.generator import county as c
from services.analysis.generator.tracks import Vehicle

if TYPE_CHECKING:
    from services.analysis.generator import County

DayPlan = Callable[[Vehicle, date, bool], None]


def _nth_working(k: County, month: int, n: int) -> date:
    days = [d for d in k.working_days() if d.month == month]
    return days[min(n, len(days) - 1)]


def _dispatch(k: County, v: Vehicle, d: date, start: int, end: int, purpose: str) -> None:
    k.emit(
        "dispatches",
        {
            "dispatch_id": k.next_id("dp"),
            "plate": v.plate,
            "start_at": k.at(d, start).isoformat(),
            "end_at": k.at(d, end).isoformat(),
            "purpose": purpose,
        },
    )


def plant_all(k: County) -> None:
    """Plant every scenario on reserved vehicles, people and unit-months."""
    vs = k.vehicles
    need = 17
    if len(vs) < need or len(k.units) < 12 or k.size.people_per_unit < 3 or k.size.months < 3:
        raise ValueError(
            f"the county needs at least {need} vehicles, 12 units of 3 people and 3 months"
        )
    k.reserved_vehicles.update(v.plate for v in vs[:need])
    _fuel(k, vs)
    _tracks(k, vs)
    _clean_lookalikes(k, vs)
    _paperwork(k)


def _on(k: County, v: Vehicle, d: date, plan: DayPlan) -> None:
    k.vehicle_overrides[(v.plate, d)] = plan


def _fuel(k: County, vs: list[Vehicle]) -> None:
    a, b, cc, d_, e, f, g, h, i = vs[:9]
    unit = {"unit_code": ""}

    # A: refuel on a statutory holiday (the trip itself is dispatched: only the card is odd)
    holiday = next(d for d in k.days if k.cal.is_holiday(d) and d.month == 2)

    def a_plan(v: Vehicle, d: date, _r: bool) -> None:
        _dispatch(k, v, d, 9, 12, "春节值班巡查")
        drive = k.drive(v, k.at(d, 9, 10)).go(c.STATIONS[0]).stay(3)
        txn = drive.pay(c.STATIONS[0], volume=max(v.used_l, 20.0))
        drive.stay(5).go(c.MEETING_PLACES[0]).stay(30).go(v.office)
        k.expect("fuel.holiday_refuel", txn, "春节加油", plate=v.plate, unit_code=v.unit_code)

    _on(k, a, holiday, a_plan)

    # B: three refuels in one day (the week's usual volume split in three)
    def b_plan(v: Vehicle, d: date, _r: bool) -> None:
        share = max(v.used_l, 15.0) / 3
        drive = k.drive(v, k.at(d, 8, 40))
        for n, hour in enumerate((9, 12, 15)):
            drive.t = k.at(d, hour, 0)
            station = c.STATIONS[n % len(c.STATIONS)]
            drive.go(station).stay(3)
            drive.pay(station, volume=round(share, 2))
            drive.stay(4).go(v.office)
        k.expect(
            "fuel.several_per_day",
            f"{v.plate}|{d.isoformat()}",
            "一日三次加油",
            plate=v.plate,
            unit_code=v.unit_code,
        )

    _on(k, b, _nth_working(k, 1, 6), b_plan)

    # C: one refuel above the tank's capacity; later refuels wait until it is burnt
    def c_plan(v: Vehicle, d: date, _r: bool) -> None:
        drive = k.drive(v, k.at(d, 9, 0)).go(c.STATIONS[1]).stay(3)
        burnt = v.used_l
        txn = drive.pay(c.STATIONS[1], volume=round(v.tank_l * 1.1, 2))
        k.fuel_credit[v.plate] = v.tank_l * 1.1 - burnt
        drive.stay(5).go(v.office)
        k.expect("fuel.over_tank", txn, "加油量超油箱容积", plate=v.plate, unit_code=v.unit_code)

    _on(k, cc, _nth_working(k, 1, 2), c_plan)

    # D: wrong grade for the vehicle
    def d_plan(v: Vehicle, d: date, _r: bool) -> None:
        wrong = "diesel_0" if v.fuel_type != "diesel_0" else "gasoline_95"
        drive = k.drive(v, k.at(d, 9, 0)).go(c.STATIONS[2]).stay(3)
        txn = drive.pay(c.STATIONS[2], product=wrong, volume=max(v.used_l, 10.0))
        drive.stay(5).go(v.office)
        k.expect("fuel.wrong_grade", txn, "油品与车辆不符", plate=v.plate, unit_code=v.unit_code)

    _on(k, d_, _nth_working(k, 1, 10), d_plan)

    # E: shopping with the card during a normal refuel stop
    def e_plan(v: Vehicle, d: date, _r: bool) -> None:
        drive = k.drive(v, k.at(d, 9, 0)).go(c.STATIONS[0]).stay(3)
        drive.pay(c.STATIONS[0], volume=max(v.used_l, 10.0))
        drive.stay(2)
        txn = drive.pay(c.STATIONS[0], product="goods", amount=800.0)
        drive.stay(4).go(v.office)
        k.expect("fuel.card_shopping", txn, "油卡购物", plate=v.plate, unit_code=v.unit_code)

    _on(k, e, _nth_working(k, 2, 3), e_plan)

    # F: undispatched trip to the provincial capital, refuelling there: fuel + GPS, escalates
    def f_plan(v: Vehicle, d: date, _r: bool) -> None:
        drive = k.drive(v, k.at(d, 8, 0)).go(c.FAR_CITY, speed=90).stay(60)
        drive.go(c.FAR_STATION, speed=60).stay(3)
        txn = drive.pay(c.FAR_STATION, volume=max(v.used_l, 20.0))
        drive.stay(5).go(v.office, speed=90)
        k.expect(
            "fuel.far_from_jurisdiction", txn, "辖区外加油", plate=v.plate, unit_code=v.unit_code
        )
        k.expect(
            "vehicle.out_of_jurisdiction",
            f"{v.plate}|{d.isoformat()}",
            "未派车出辖区",
            plate=v.plate,
            unit_code=v.unit_code,
        )
        k.escalations.append({"subject": {"plate": v.plate}, "rules": 2})

    _on(k, f, _nth_working(k, 3, 4), f_plan)

    # G: card used at a station while the vehicle is elsewhere
    def g_plan(v: Vehicle, d: date, _r: bool) -> None:
        drive = k.drive(v, k.at(d, 9, 0)).go(c.MEETING_PLACES[4]).stay(20)
        txn = drive.pay(c.STATIONS[0], volume=max(v.used_l, 15.0))
        drive.stay(30).go(v.office)
        k.expect(
            "fuel.vehicle_absent", txn, "加油时车辆不在加油站", plate=v.plate, unit_code=v.unit_code
        )

    _on(k, g, _nth_working(k, 2, 8), g_plan)

    # H: two refuels 40 minutes apart (the usual volume in two halves)
    def h_plan(v: Vehicle, d: date, _r: bool) -> None:
        half = max(v.used_l, 16.0) / 2
        drive = k.drive(v, k.at(d, 9, 0)).go(c.STATIONS[0]).stay(3)
        first = drive.pay(c.STATIONS[0], volume=round(half, 2))
        drive.stay(5).go(c.STATIONS[2]).stay(3)
        second = drive.pay(c.STATIONS[2], volume=round(half, 2))
        drive.stay(5).go(v.office)
        k.expect(
            "fuel.two_within_window",
            f"{first}|{second}",
            "两小时内两次加油",
            plate=v.plate,
            unit_code=v.unit_code,
        )

    _on(k, h, _nth_working(k, 3, 12), h_plan)

    # I: buys 2.2x the fuel its mileage needs, every month (私车公养)
    k.refuel_factor[i.plate] = 2.2
    i.tank_l = max(i.tank_l, 70.0)
    for month in sorted({d.strftime("%Y-%m") for d in k.days}):
        k.expect(
            "fuel.consumption_above_norm",
            f"{i.plate}|{month}",
            "百公里油耗远超定额",
            plate=i.plate,
            unit_code=i.unit_code,
        )
    del unit


def _tracks(k: County, vs: list[Vehicle]) -> None:
    j, kk, ll, m, n = vs[9:14]

    def j_plan(v: Vehicle, d: date, _r: bool) -> None:
        poi = c.SENSITIVE_POIS[0]
        k.drive(v, k.at(d, 11, 20)).go(poi).stay(95).go(v.office)
        k.expect(
            "vehicle.sensitive_place",
            f"{v.plate}|{poi.code}|{d.isoformat()}",
            "公车停在酒店",
            plate=v.plate,
            unit_code=v.unit_code,
        )

    _on(k, j, _nth_working(k, 1, 14), j_plan)

    def k_plan(v: Vehicle, d: date, _r: bool) -> None:
        k.drive(v, k.at(d, 8, 30)).go(c.FAR_CITY, speed=90).stay(90).go(v.office, speed=90)
        k.expect(
            "vehicle.out_of_jurisdiction",
            f"{v.plate}|{d.isoformat()}",
            "未派车出辖区",
            plate=v.plate,
            unit_code=v.unit_code,
        )

    _on(k, kk, _nth_working(k, 2, 2), k_plan)

    saturday = next(d for d in k.days if d.weekday() == 5 and d.month == 3)

    def l_weekend(v: Vehicle, d: date, _r: bool) -> None:
        k.drive(v, k.at(d, 10, 0)).go(c.MEETING_PLACES[6]).stay(40).go(v.office)
        k.expect(
            "vehicle.off_hours_without_dispatch",
            f"{v.plate}|{d.isoformat()}",
            "周末无派车记录用车",
            plate=v.plate,
            unit_code=v.unit_code,
        )

    def l_evening(v: Vehicle, d: date, refuel: bool) -> None:
        from services.analysis.generator import clean_day

        clean_day(k, v, d, refuel)
        k.drive(v, k.at(d, 21, 0)).go(c.MEETING_PLACES[7]).stay(30).go(v.office)
        k.expect(
            "vehicle.off_hours_without_dispatch",
            f"{v.plate}|{d.isoformat()}",
            "夜间无派车记录用车",
            plate=v.plate,
            unit_code=v.unit_code,
        )

    _on(k, ll, saturday, l_weekend)
    _on(k, ll, _nth_working(k, 1, 15), l_evening)

    home = c.SENSITIVE_POIS[9]  # 锦绣华庭小区
    shuttle_days = [d for d in k.working_days() if d.month == 3][2:8]

    def m_plan(v: Vehicle, d: date, refuel: bool) -> None:
        from services.analysis.generator import clean_day

        k.drive(v, k.at(d, 7, 0)).go(home, speed=50).stay(5).go(v.office, speed=50)
        clean_day(k, v, d, refuel)

    for d in shuttle_days:
        _on(k, m, d, m_plan)
    k.expect(
        "vehicle.residence_shuttle",
        f"{m.plate}|{home.code}|2026-03",
        "上下班时段多次接送至同一小区",
        plate=m.plate,
        unit_code=m.unit_code,
    )

    # N: parked overnight at a hotel (the parking operator's record, no GPS)
    d = _nth_working(k, 2, 12)
    record = k.next_id("pk")
    hotel = c.SENSITIVE_POIS[2]
    k.emit(
        "parking",
        {
            "record_id": record,
            "plate": n.plate,
            "kind": "parking",
            "ts": k.at(d, 21, 30).isoformat(),
            "place_name": hotel.name + "停车场",
            "lat": hotel.at[0],
            "lon": hotel.at[1],
        },
    )
    k.expect(
        "parking.sensitive_place", record, "公车夜停宾馆", plate=n.plate, unit_code=n.unit_code
    )


def _clean_lookalikes(k: County, vs: list[Vehicle]) -> None:
    """Dispatched weekend work and a dispatched trip to the capital with a refuel there."""
    o, p, q = vs[14:17]
    sunday = next(d for d in k.days if d.weekday() == 6 and d.month == 1 and d.day > 7)

    def o_plan(v: Vehicle, d: date, _r: bool) -> None:
        _dispatch(k, v, d, 9, 13, "防汛检查")
        k.drive(v, k.at(d, 9, 30)).go(c.MEETING_PLACES[8]).stay(60).go(v.office)

    _on(k, o, sunday, o_plan)

    def p_plan(v: Vehicle, d: date, _r: bool) -> None:
        _dispatch(k, v, d, 7, 19, "赴省城参加会议")
        drive = k.drive(v, k.at(d, 7, 30)).go(c.FAR_CITY, speed=90).stay(120)
        drive.go(c.FAR_STATION, speed=60).stay(3)
        drive.pay(c.FAR_STATION, volume=max(v.used_l, 20.0))
        drive.stay(5).go(v.office, speed=90)

    _on(k, p, _nth_working(k, 2, 5), p_plan)

    def q_plan(v: Vehicle, d: date, refuel: bool) -> None:
        from services.analysis.generator import clean_day

        clean_day(k, v, d, refuel)
        _dispatch(k, v, d, 20, 23, "夜间应急处置")
        k.drive(v, k.at(d, 20, 30)).go(c.MEETING_PLACES[5]).stay(40).go(v.office)

    _on(k, q, _nth_working(k, 1, 8), q_plan)


def _person(k: County, n: int) -> dict[str, Any]:
    """The n-th reserved person: spread over units, never a unit's first person."""
    units = len(k.units)
    per = k.size.people_per_unit
    person = k.people[(n % units) * per + 1 + (n // units) % max(per - 1, 1)]
    k.reserved_people.add(person["person_id"])
    return person


def _invoice(k: County, person: dict[str, Any], **row: Any) -> str:
    no = k.next_id("inv")
    k.emit(
        "invoices",
        {
            "invoice_no": no,
            "seller": row["seller"],
            "seller_type": row["seller_type"],
            "buyer_unit": person["unit_code"],
            "claimant_id": person["person_id"],
            "issued_at": row["issued_at"],
            "amount": row["amount"],
            "items": row["items"],
            "diners": row.get("diners", 1),
        },
    )
    return no


def _paperwork(k: County) -> None:
    p = [_person(k, n) for n in range(12)]

    def who(person: dict[str, Any]) -> dict[str, str]:
        return {"person_id": person["person_id"], "unit_code": person["unit_code"]}

    holiday = next(d for d in k.days if k.cal.is_holiday(d) and d.month == 2)
    no = _invoice(
        k,
        p[0],
        seller="农家小厨",
        seller_type="catering",
        issued_at=k.at(holiday, 18).isoformat(),
        amount=780.0,
        items="餐费",
        diners=6,
    )
    k.expect("invoice.holiday_catering", no, "节假日餐饮发票", **who(p[0]))

    club = c.SENSITIVE_POIS[6]
    no = _invoice(
        k,
        p[1],
        seller=club.name,
        seller_type="entertainment",
        issued_at=k.at(_nth_working(k, 1, 9), 19).isoformat(),
        amount=600.0,
        items="餐饮服务",
        diners=5,
    )
    k.expect("invoice.private_club", no, "私人会所消费", **who(p[1]))

    first = None
    start = _nth_working(k, 2, 10)
    for n, amount in enumerate((4800.0, 4950.0, 4700.0, 4890.0)):
        no = _invoice(
            k,
            p[2],
            seller="办公用品商行",
            seller_type="retail",
            issued_at=k.at(start + timedelta(days=n), 10).isoformat(),
            amount=amount,
            items="办公用品",
        )
        first = first or no
    k.expect("invoice.split", f"办公用品商行|{p[2]['unit_code']}|{first}", "拆分发票", **who(p[2]))

    for items in ("礼品（茶叶）", "超市购物卡"):
        no = _invoice(
            k,
            p[3],
            seller="城南百货",
            seller_type="retail",
            issued_at=k.at(_nth_working(k, 1, 12), 11).isoformat(),
            amount=1200.0,
            items=items,
        )
        k.expect("invoice.keywords", no, f"敏感品目：{items}", **who(p[3]))

    no = _invoice(
        k,
        p[4],
        seller="城南快餐店",
        seller_type="catering",
        issued_at=k.at(_nth_working(k, 3, 3), 12).isoformat(),
        amount=2400.0,
        items="公务接待餐费",
        diners=4,
    )
    k.expect("invoice.per_person_over_standard", no, "人均超标准", **who(p[4]))

    _travel(k, p, who)
    _hotline(k)

    # A cadre's drunk driving, after a dinner a colleague paid for
    drinker = p[10]
    host = k.people[k.people.index(drinker) + 1]
    d = _nth_working(k, 3, 5)
    case_no = k.next_id("jj")
    k.emit(
        "drunk_driving",
        {
            "case_no": case_no,
            "person_id": drinker["person_id"],
            "name": drinker["name"],
            "unit_code": drinker["unit_code"],
            "ts": k.at(d, 22, 30).isoformat(),
            "place": "城南大道",
            "lat": c.MEETING_PLACES[0].at[0],
            "lon": c.MEETING_PLACES[0].at[1],
            "bac_mg_100ml": 88.0,
        },
    )
    dinner = _invoice(
        k,
        host,
        seller="农家小厨",
        seller_type="catering",
        issued_at=k.at(d, 18, 40).isoformat(),
        amount=840.0,
        items="餐费",
        diners=6,
    )
    k.expect("drunk.dinner_lookback", case_no, f"由酒驾查吃喝（{dinner}）", **who(drinker))


def _claim(k: County, person: dict[str, Any], start: date, end: date, **row: Any) -> str:
    cid = k.next_id("tc")
    k.travel_days.setdefault(person["person_id"], set()).update(
        start + timedelta(days=i) for i in range((end - start).days + 1)
    )
    k.emit(
        "travel_claims",
        {
            "claim_id": cid,
            "person_id": person["person_id"],
            "unit_code": person["unit_code"],
            "depart_on": start.isoformat(),
            "return_on": end.isoformat(),
            "destination": row.get("destination", "省城"),
            "ticket_no": row.get("ticket_no") or k.next_id("tk"),
            "ticket_amount": row.get("ticket_amount", 300.0),
            "hotel_amount": row["hotel_amount"],
            "nights": (end - start).days,
            "travellers": row.get("travellers", 1),
        },
    )
    return cid


def _travel(k: County, p: list[dict[str, Any]], who: Any) -> None:
    start = next(d for d in k.working_days() if d.month == 3 and d.weekday() == 0 and d.day > 7)
    cid = _claim(k, p[5], start, start + timedelta(days=2), hotel_amount=600.0)
    k.extra_attendance.add((p[5]["person_id"], start + timedelta(days=1)))
    k.expect("travel.office_same_day", cid, "出差期间在单位打卡", **who(p[5]))

    ticket = "TK-DUP-0001"
    a = _nth_working(k, 1, 5)
    _claim(k, p[6], a, a + timedelta(days=1), hotel_amount=300.0, ticket_no=ticket)
    b = _nth_working(k, 2, 14)
    _claim(k, p[6], b, b + timedelta(days=1), hotel_amount=300.0, ticket_no=ticket)
    k.expect("travel.duplicate_ticket", ticket, "同一票据重复报销", **who(p[6]))

    s = _nth_working(k, 1, 18)
    cid = _claim(k, p[7], s, s + timedelta(days=2), hotel_amount=3000.0)
    k.expect("travel.hotel_implausible", cid, "住宿费畸高", **who(p[7]))

    holiday = next(d for d in k.days if k.cal.is_holiday(d) and d.month == 2)
    cid = _claim(
        k,
        p[8],
        holiday - timedelta(days=3),
        holiday + timedelta(days=1),
        hotel_amount=1200.0,
        destination="三亚",
    )
    k.expect("travel.tourist_holiday", cid, "节前赴旅游地出差", **who(p[8]))


def _hotline(k: County) -> None:
    slow, repeated = k.units[2], k.units[3]
    k.reserved_unit_months.update(
        {(slow["unit_code"], "2026-03"), (repeated["unit_code"], "2026-02")}
    )
    march = [d for d in k.working_days() if d.month == 3]
    for n, topic in enumerate(c.HOTLINE_TOPICS[:6]):
        opened = k.at(march[n], 9)
        k.emit(
            "hotline_orders",
            {
                "order_id": k.next_id("hl"),
                "unit_code": slow["unit_code"],
                "topic": topic,
                "opened_at": opened.isoformat(),
                "due_at": (opened + timedelta(days=5)).isoformat(),
                "closed_at": (opened + timedelta(days=12 if n < 4 else 3)).isoformat(),
                "reopened": 1 if n in (1, 4) else 0,
                "satisfaction": 1 if n < 3 else 2,
            },
        )
    k.expect(
        "hotline.unit_sloth",
        f"{slow['unit_code']}|2026-03",
        "工单超期、重办、满意度低",
        unit_code=slow["unit_code"],
    )
    feb = [d for d in k.working_days() if d.month == 2]
    for n in range(4):
        opened = k.at(feb[n * 2], 10)
        k.emit(
            "hotline_orders",
            {
                "order_id": k.next_id("hl"),
                "unit_code": repeated["unit_code"],
                "topic": "道路破损",
                "opened_at": opened.isoformat(),
                "due_at": (opened + timedelta(days=5)).isoformat(),
                "closed_at": (opened + timedelta(days=2)).isoformat(),
                "reopened": 0,
                "satisfaction": 4,
            },
        )
    k.expect(
        "hotline.repeat_complaints",
        f"{repeated['unit_code']}|道路破损|2026-02",
        "同一单位同类问题重复投诉",
        unit_code=repeated["unit_code"],
    )
