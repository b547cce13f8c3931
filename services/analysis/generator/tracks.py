"""Driving a vehicle through a day: GPS points, odometer and fuel-card transactions."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.analysis.generator.county import Place, distance_km

Emit = Callable[[str, dict[str, Any]], None]


@dataclass
class Vehicle:
    """A vehicle of the register and its running state while the generator drives it."""

    plate: str
    unit_code: str
    fuel_type: str
    tank_l: float
    norm_l_100km: float
    card_no: str
    office: tuple[float, float]
    odometer: float = 10_000.0
    used_l: float = 0.0
    """Litres burnt since the last refuel."""
    km_by_month: dict[str, float] = field(default_factory=dict)
    litres_by_month: dict[str, float] = field(default_factory=dict)


class Drive:
    """One outing of a vehicle: emits GPS points every ``interval`` seconds (and always at
    the start and end of each leg and stop) and fuel-card transactions."""

    def __init__(
        self,
        vehicle: Vehicle,
        start: datetime,
        emit: Emit,
        interval: int,
        ids: Callable[[str], str],
        *,
        origin: tuple[float, float] | None = None,
        track: bool = True,
    ) -> None:
        self.v = vehicle
        self.t = start
        self.pos = origin or vehicle.office
        self.emit = emit
        self.interval = interval
        self.ids = ids
        self.track = track

    def _point(self, at: tuple[float, float], t: datetime, speed: float) -> None:
        if self.track:
            self.emit(
                "gps_points",
                {
                    "plate": self.v.plate,
                    "ts": t.isoformat(timespec="seconds"),
                    "lat": round(at[0], 6),
                    "lon": round(at[1], 6),
                    "speed_kmh": speed,
                    "odometer_km": round(self.v.odometer, 2),
                },
            )

    def go(self, dest: tuple[float, float] | Place, speed: float = 36.0) -> Drive:
        """Drive in a straight line to ``dest``."""
        to = dest.at if isinstance(dest, Place) else dest
        km = distance_km(self.pos, to)
        seconds = max(int(km / speed * 3600), 1)
        start_odo = self.v.odometer
        steps = max(math.ceil(seconds / self.interval), 1)
        # Points along the way and on arrival; the start is the previous point.
        for i in range(1, steps + 1):
            f = i / steps
            at = (self.pos[0] + (to[0] - self.pos[0]) * f, self.pos[1] + (to[1] - self.pos[1]) * f)
            self.v.odometer = start_odo + km * f
            self._point(at, self.t + timedelta(seconds=int(seconds * f)), speed)
        self.t += timedelta(seconds=seconds)
        self.v.odometer = start_odo + km
        self.v.used_l += km * self.v.norm_l_100km / 100
        month = self.t.strftime("%Y-%m")
        self.v.km_by_month[month] = self.v.km_by_month.get(month, 0.0) + km
        self.pos = to
        return self

    def stay(self, minutes: float) -> Drive:
        """Stand still (engine on, tracker reporting)."""
        seconds = int(minutes * 60)
        t = self.interval
        while t < seconds:
            self._point(self.pos, self.t + timedelta(seconds=t), 0.0)
            t += self.interval
        self._point(self.pos, self.t + timedelta(seconds=seconds), 0.0)
        self.t += timedelta(seconds=seconds)
        return self

    def wait(self, minutes: float) -> Drive:
        """Time passes with the tracker silent (parked, engine off)."""
        self.t += timedelta(minutes=minutes)
        return self

    def pay(
        self,
        station: Place,
        *,
        product: str | None = None,
        volume: float | None = None,
        amount: float | None = None,
        at: tuple[float, float] | None = None,
    ) -> str:
        """A fuel-card transaction at ``station`` now; returns its id."""
        product = product or self.v.fuel_type
        txn = self.ids("txn")
        if product == "goods":
            litres = 0.0
            amount = amount or 500.0
        else:
            litres = round(volume if volume is not None else max(self.v.used_l, 5.0), 2)
            amount = amount or round(litres * 7.6, 2)
            self.v.used_l = 0.0
            month = self.t.strftime("%Y-%m")
            self.v.litres_by_month[month] = self.v.litres_by_month.get(month, 0.0) + litres
        spot = at or station.at
        self.emit(
            "fuel_transactions",
            {
                "txn_id": txn,
                "card_no": self.v.card_no,
                "plate": self.v.plate,
                "ts": (self.t + timedelta(minutes=2)).isoformat(timespec="seconds"),
                "station_id": station.code,
                "station_name": station.name,
                "lat": spot[0],
                "lon": spot[1],
                "product": product,
                "volume_l": litres,
                "amount": amount,
            },
        )
        return txn
