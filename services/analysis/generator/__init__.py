"""Synthetic county data for the analysis service: deterministic from a seed.

``generate(seed, out_dir, size)`` writes one NDJSON file per feed kind (the same rows a
partner would POST to ``/v1/feeds/<kind>/batches``) and ``ground_truth.json``: every
planted violation with the rule that must find it, its subject and its evidence key,
plus the subjects whose alerts must escalate. Everything not planted is clean: no rule
may fire on it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any

from services.analysis.generator import county as c
from services.analysis.generator.plant import plant_all
from services.analysis.generator.tracks import Drive, Vehicle

FEED_ORDER = (
    "holidays",
    "units",
    "people",
    "vehicles",
    "pois",
    "dispatches",
    "gps_points",
    "fuel_transactions",
    "invoices",
    "travel_claims",
    "attendance",
    "parking",
    "hotline_orders",
    "drunk_driving",
)
"""Feed kinds in the order they are ingested (registers before the feeds that name them)."""

TZ = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class Size:
    """How big the county is and how much it records."""

    units: int = 20
    people_per_unit: int = 8
    vehicles: int = 40
    start: date = date(2026, 1, 1)
    months: int = 3
    gps_interval_s: int = 60
    refuel_every_days: int = 5
    invoices_per_unit_month: int = 12
    claims_per_unit_month: int = 2
    orders_per_unit_month: int = 3


class County:
    """The state of a generation: registers, writers, id counters, ground truth."""

    def __init__(self, seed: int, out: Path, size: Size, stack: ExitStack) -> None:
        self.rng = random.Random(seed)
        self.size = size
        self.out = out
        self.cal = c.Calendar(c.HOLIDAYS_2026)
        self.counts: dict[str, int] = dict.fromkeys(FEED_ORDER, 0)
        self._files: dict[str, IO[str]] = {
            kind: stack.enter_context((out / f"{kind}.ndjson").open("w", encoding="utf-8"))
            for kind in FEED_ORDER
        }
        self._seq: dict[str, int] = {}
        self.truth: list[dict[str, Any]] = []
        self.escalations: list[dict[str, Any]] = []
        self.units: list[dict[str, Any]] = []
        self.people: list[dict[str, Any]] = []
        self.vehicles: list[Vehicle] = []
        self.days = list(self._days())
        self.reserved_vehicles: set[str] = set()
        self.reserved_people: set[str] = set()
        self.reserved_unit_months: set[tuple[str, str]] = set()
        self.travel_days: dict[str, set[date]] = {}
        self.extra_attendance: set[tuple[str, date]] = set()
        self.vehicle_overrides: dict[tuple[str, date], Any] = {}
        self.refuel_factor: dict[str, float] = {}
        self.fuel_credit: dict[str, float] = {}

    def _days(self) -> Iterator[date]:
        d = self.size.start
        end_month = (self.size.start.month - 1 + self.size.months) % 12 + 1
        end_year = self.size.start.year + (self.size.start.month - 1 + self.size.months) // 12
        end = date(end_year, end_month, 1)
        while d < end:
            yield d
            d += timedelta(days=1)

    def working_days(self) -> list[date]:
        return [d for d in self.days if self.cal.is_working(d)]

    def emit(self, kind: str, row: dict[str, Any]) -> None:
        self._files[kind].write(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
        self._files[kind].write("\n")
        self.counts[kind] += 1

    def next_id(self, prefix: str) -> str:
        n = self._seq.get(prefix, 0) + 1
        self._seq[prefix] = n
        return f"{prefix.upper()}{n:07d}"

    def at(self, d: date, hh: int, mm: int = 0) -> datetime:
        return datetime(d.year, d.month, d.day, hh, mm, tzinfo=TZ)

    def expect(self, rule_id: str, evidence_key: str, note: str, **subject: str) -> None:
        """Record a planted violation in the ground truth."""
        self.truth.append(
            {"rule_id": rule_id, "evidence_key": evidence_key, "subject": subject, "note": note}
        )

    def drive(self, v: Vehicle, start: datetime, **kw: Any) -> Drive:
        return Drive(v, start, self.emit, self.size.gps_interval_s, self.next_id, **kw)


def generate(seed: int, out: Path, size: Size | None = None) -> dict[str, Any]:
    """Write a county's feeds and ground truth to ``out``; returns the manifest."""
    size = size or Size()
    out.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        k = County(seed, out, size, stack)
        _registers(k)
        plant_all(k)
        _clean_vehicles(k)
        _clean_paperwork(k)
    manifest = {
        "seed": seed,
        "size": {**asdict(size), "start": size.start.isoformat()},
        "feeds": {kind: {"file": f"{kind}.ndjson", "rows": k.counts[kind]} for kind in FEED_ORDER},
        "order": list(FEED_ORDER),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    (out / "ground_truth.json").write_text(
        json.dumps(
            {"violations": k.truth, "escalations": k.escalations}, ensure_ascii=False, indent=1
        )
    )
    return manifest


def _registers(k: County) -> None:
    rng, size = k.rng, k.size
    for day, name, kind in c.HOLIDAYS_2026:
        k.emit("holidays", {"day": day, "name": name, "kind": kind})
    for place in [*c.SENSITIVE_POIS, *c.MEETING_PLACES, *c.STATIONS, c.FAR_STATION, c.FAR_CITY]:
        k.emit(
            "pois",
            {
                "poi_id": place.code,
                "name": place.name,
                "kind": place.kind,
                "lat": place.at[0],
                "lon": place.at[1],
            },
        )
    names: set[str] = set()
    for i in range(size.units):
        base, kind = c.UNIT_NAMES[i % len(c.UNIT_NAMES)]
        suffix = "" if i < len(c.UNIT_NAMES) else f"{i // len(c.UNIT_NAMES) + 1}分局"
        office = c.offset(rng.uniform(-12, -2), rng.uniform(-12, -2))
        unit: dict[str, Any] = {
            "unit_code": f"U{i + 1:03d}",
            "name": f"{c.COUNTY}{base}{suffix}",
            "kind": kind,
            "lat": office[0],
            "lon": office[1],
        }
        k.units.append(unit)
        k.emit("units", unit)
        for j in range(size.people_per_unit):
            while True:
                name = rng.choice(c.SURNAMES) + "".join(rng.choices(c.GIVEN, k=rng.choice((1, 2))))
                if name not in names:
                    names.add(name)
                    break
            post, rank = c.POSTS[min(j, len(c.POSTS) - 1)]
            person = {
                "person_id": f"{unit['unit_code']}-{j + 1:03d}",
                "name": name,
                "unit_code": unit["unit_code"],
                "post": post,
                "rank": rank,
            }
            k.people.append(person)
            k.emit("people", person)
    for n in range(size.vehicles):
        unit = k.units[n % len(k.units)]
        fuel = rng.choices(["gasoline_92", "gasoline_95", "diesel_0"], weights=(6, 3, 1))[0]
        v = Vehicle(
            plate=f"鄂K{n + 1:05d}",
            unit_code=unit["unit_code"],
            fuel_type=fuel,
            tank_l=float(rng.choice((50, 55, 60, 70))),
            norm_l_100km=round(rng.uniform(8.0, 12.0), 1),
            card_no=f"FC{n + 1:08d}",
            office=(unit["lat"], unit["lon"]),
        )
        k.vehicles.append(v)
        k.emit(
            "vehicles",
            {
                "plate": v.plate,
                "unit_code": v.unit_code,
                "fuel_type": v.fuel_type,
                "tank_capacity_l": v.tank_l,
                "norm_l_per_100km": v.norm_l_100km,
                "fuel_card": v.card_no,
            },
        )


def clean_day(k: County, v: Vehicle, d: date, refuel: bool) -> None:
    """An ordinary working day: one or two trips to meeting places, maybe a refuel."""
    rng = k.rng
    drive = k.drive(v, k.at(d, 8, 30) + timedelta(minutes=rng.randint(0, 40)))
    if refuel:
        station = rng.choice(c.STATIONS)
        drive.go(station).stay(3)
        credit = k.fuel_credit.get(v.plate, 0.0)
        if credit > 0:
            # An earlier overfill still covers what was burnt since.
            k.fuel_credit[v.plate] = credit - v.used_l
            v.used_l = 0.0
        else:
            factor = k.refuel_factor.get(v.plate, rng.uniform(0.97, 1.03))
            volume = min(max(v.used_l, 5.0) * factor, v.tank_l * 0.9)
            drive.pay(station, volume=round(volume, 2))
        drive.stay(5)
    drive.go(rng.choice(c.MEETING_PLACES)).stay(rng.randint(20, 60)).go(v.office)
    if rng.random() < 0.6:
        drive.wait(0)
        drive.t = k.at(d, 14, 0) + timedelta(minutes=rng.randint(0, 40))
        drive.go(rng.choice(c.MEETING_PLACES)).stay(rng.randint(20, 60)).go(v.office)


def _clean_vehicles(k: County) -> None:
    working = k.working_days()
    working_set = set(working)
    every = max(k.size.refuel_every_days, 1)
    for v in k.vehicles:
        offset = k.rng.randrange(every)
        for i, d in enumerate(working):
            override = k.vehicle_overrides.get((v.plate, d))
            refuel = (i + offset) % every == 0
            if override is not None:
                override(v, d, refuel)
            else:
                clean_day(k, v, d, refuel)
            if v.plate not in k.reserved_vehicles and k.rng.random() < 0.05:
                k.emit(
                    "parking",
                    {
                        "record_id": k.next_id("pk"),
                        "plate": v.plate,
                        "kind": "parking",
                        "ts": k.at(d, 10, k.rng.randint(0, 59)).isoformat(),
                        "place_name": "县政府停车场",
                        "lat": c.MEETING_PLACES[0].at[0],
                        "lon": c.MEETING_PLACES[0].at[1],
                    },
                )
        # weekend and holiday days with planted use
        for d in k.days:
            if d not in working_set and (v.plate, d) in k.vehicle_overrides:
                k.vehicle_overrides[(v.plate, d)](v, d, False)


def _clean_paperwork(k: County) -> None:
    rng = k.rng
    working = k.working_days()
    months = sorted({d.strftime("%Y-%m") for d in k.days})
    free_people = [p for p in k.people if p["person_id"] not in k.reserved_people]
    by_unit: dict[str, list[dict[str, Any]]] = {}
    for p in free_people:
        by_unit.setdefault(p["unit_code"], []).append(p)
    for unit in k.units:
        staff = by_unit.get(unit["unit_code"], [])
        if not staff:
            continue
        for month in months:
            days = [d for d in working if d.strftime("%Y-%m") == month]
            for _ in range(k.size.invoices_per_unit_month):
                seller, kind = rng.choice(c.CLEAN_MERCHANTS)
                d = rng.choice(days)
                diners = rng.randint(2, 8) if kind == "catering" else 1
                amount = (
                    round(diners * rng.uniform(40, 120), 2)
                    if kind == "catering"
                    else round(rng.uniform(50, 3000), 2)
                )
                k.emit(
                    "invoices",
                    {
                        "invoice_no": k.next_id("inv"),
                        "seller": seller,
                        "seller_type": kind,
                        "buyer_unit": unit["unit_code"],
                        "claimant_id": rng.choice(staff)["person_id"],
                        "issued_at": k.at(d, 12 if rng.random() < 0.5 else 16).isoformat(),
                        "amount": amount,
                        "items": rng.choice(c.CLEAN_ITEMS[kind]),
                        "diners": diners,
                    },
                )
            for _ in range(k.size.claims_per_unit_month):
                person = rng.choice(staff)
                start = rng.choice(days[:-5] or days)
                nights = rng.randint(1, 3)
                trip = [start + timedelta(days=i) for i in range(nights + 1)]
                if any(not k.cal.is_working(t) for t in trip) or any(
                    t in k.travel_days.get(person["person_id"], set()) for t in trip
                ):
                    continue
                k.travel_days.setdefault(person["person_id"], set()).update(trip)
                travellers = rng.randint(1, 3)
                k.emit(
                    "travel_claims",
                    {
                        "claim_id": k.next_id("tc"),
                        "person_id": person["person_id"],
                        "unit_code": unit["unit_code"],
                        "depart_on": trip[0].isoformat(),
                        "return_on": trip[-1].isoformat(),
                        "destination": rng.choice(c.CLEAN_DESTINATIONS),
                        "ticket_no": k.next_id("tk"),
                        "ticket_amount": round(rng.uniform(200, 1200), 2),
                        "hotel_amount": round(nights * travellers * rng.uniform(200, 400), 2),
                        "nights": nights,
                        "travellers": travellers,
                    },
                )
            if (unit["unit_code"], month) in k.reserved_unit_months:
                continue
            for topic in rng.sample(c.HOTLINE_TOPICS, k.size.orders_per_unit_month):
                opened = k.at(rng.choice(days), rng.randint(8, 17), rng.randint(0, 59))
                k.emit(
                    "hotline_orders",
                    {
                        "order_id": k.next_id("hl"),
                        "unit_code": unit["unit_code"],
                        "topic": topic,
                        "opened_at": opened.isoformat(),
                        "due_at": (opened + timedelta(days=5)).isoformat(),
                        "closed_at": (opened + timedelta(days=rng.randint(1, 4))).isoformat(),
                        "reopened": 0,
                        "satisfaction": rng.choice((4, 5)),
                    },
                )
    for p in k.people:
        away = k.travel_days.get(p["person_id"], set())
        for d in working:
            if d in away and (p["person_id"], d) not in k.extra_attendance:
                continue
            k.emit(
                "attendance",
                {
                    "person_id": p["person_id"],
                    "day": d.isoformat(),
                    "clock_in": k.at(d, 8, rng.randint(0, 29)).isoformat(),
                    "clock_out": k.at(d, 17, rng.randint(30, 59)).isoformat(),
                },
            )
    # Drunk-driving records of people who are not cadres of any unit: nothing to find.
    for n in range(2):
        d = rng.choice(working)
        k.emit(
            "drunk_driving",
            {
                "case_no": k.next_id("jj"),
                "person_id": None,
                "name": f"群众{n + 1}",
                "unit_code": None,
                "ts": k.at(d, 22, 10).isoformat(),
                "place": "城南路口",
                "lat": c.MEETING_PLACES[1].at[0],
                "lon": c.MEETING_PLACES[1].at[1],
                "bac_mg_100ml": 95.0,
            },
        )
