"""Feed kinds: what each partner system sends, the table its rows go to, its scope.

A field's type says how a text value is read; ``check`` names what else a value must
satisfy. Everything here is pure: the parser and the tables are built from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Field:
    """One column of a feed."""

    name: str
    type: str
    """``text``, ``int``, ``float``, ``timestamp`` (with a UTC offset), ``date``."""
    required: bool = True
    check: str | None = None
    """``lat``, ``lon``, ``non_negative``, ``known_plate``, ``one_of``."""
    choices: tuple[str, ...] = ()


SQL_TYPES = {
    "text": "text",
    "int": "integer",
    "float": "double precision",
    "timestamp": "timestamptz",
    "date": "date",
}


@dataclass(frozen=True)
class FeedSpec:
    """A kind of feed."""

    kind: str
    label: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    """Natural key: a row sent again (in any batch) is a duplicate, not a new row."""
    period: str | None = None
    """The field that dates a row; registers have none."""
    indexes: tuple[tuple[str, ...], ...] = field(default_factory=tuple)

    @property
    def scope(self) -> str:
        """The OAuth scope a partner client needs to send this feed."""
        return f"feeds:{self.kind}"

    @property
    def table(self) -> str:
        return self.kind


def _f(name: str, type_: str = "text", **kw: object) -> Field:
    return Field(name, type_, **kw)  # type: ignore[arg-type]


FUEL_PRODUCTS = ("gasoline_92", "gasoline_95", "gasoline_98", "diesel_0", "goods")
POI_KINDS = (
    "restaurant",
    "hotel",
    "scenic",
    "private_club",
    "residential",
    "office",
    "fuel_station",
)

FEEDS: dict[str, FeedSpec] = {
    s.kind: s
    for s in (
        FeedSpec(
            "holidays",
            "节假日历",
            (
                _f("day", "date"),
                _f("name"),
                _f("kind", check="one_of", choices=("holiday", "workday")),
            ),
            ("day",),
        ),
        FeedSpec(
            "units",
            "单位名录",
            (
                _f("unit_code"),
                _f("name"),
                _f("kind", required=False),
                _f("lat", "float", required=False, check="lat"),
                _f("lon", "float", required=False, check="lon"),
            ),
            ("unit_code",),
        ),
        FeedSpec(
            "people",
            "人员名录",
            (
                _f("person_id"),
                _f("name"),
                _f("unit_code"),
                _f("post", required=False),
                _f("rank", required=False),
            ),
            ("person_id",),
        ),
        FeedSpec(
            "vehicles",
            "公务车辆登记",
            (
                _f("plate"),
                _f("unit_code"),
                _f("fuel_type", check="one_of", choices=FUEL_PRODUCTS[:-1]),
                _f("tank_capacity_l", "float", check="positive"),
                _f("norm_l_per_100km", "float", check="positive"),
                _f("fuel_card", required=False),
            ),
            ("plate",),
        ),
        FeedSpec(
            "pois",
            "兴趣点（餐饮、宾馆、景区、会所、小区）",
            (
                _f("poi_id"),
                _f("name"),
                _f("kind", check="one_of", choices=POI_KINDS),
                _f("lat", "float", check="lat"),
                _f("lon", "float", check="lon"),
            ),
            ("poi_id",),
        ),
        FeedSpec(
            "dispatches",
            "派车记录",
            (
                _f("dispatch_id"),
                _f("plate", check="known_plate"),
                _f("start_at", "timestamp"),
                _f("end_at", "timestamp"),
                _f("purpose", required=False),
            ),
            ("dispatch_id",),
            period="start_at",
            indexes=(("plate", "start_at"),),
        ),
        FeedSpec(
            "gps_points",
            "公车GPS轨迹",
            (
                _f("plate", check="known_plate"),
                _f("ts", "timestamp"),
                _f("lat", "float", check="lat"),
                _f("lon", "float", check="lon"),
                _f("speed_kmh", "float", check="non_negative"),
                _f("odometer_km", "float", required=False, check="non_negative"),
            ),
            ("plate", "ts"),
            period="ts",
            indexes=(("ts",),),
        ),
        FeedSpec(
            "fuel_transactions",
            "加油卡交易",
            (
                _f("txn_id"),
                _f("card_no"),
                _f("plate", check="known_plate"),
                _f("ts", "timestamp"),
                _f("station_id", required=False),
                _f("station_name", required=False),
                _f("lat", "float", check="lat"),
                _f("lon", "float", check="lon"),
                _f("product", check="one_of", choices=FUEL_PRODUCTS),
                _f("volume_l", "float", check="non_negative"),
                _f("amount", "float", check="non_negative"),
            ),
            ("txn_id",),
            period="ts",
            indexes=(("plate", "ts"), ("ts",)),
        ),
        FeedSpec(
            "invoices",
            "发票",
            (
                _f("invoice_no"),
                _f("seller"),
                _f("seller_type"),
                _f("buyer_unit"),
                _f("claimant_id", required=False),
                _f("issued_at", "timestamp"),
                _f("amount", "float", check="non_negative"),
                _f("items", required=False),
                _f("diners", "int", required=False, check="positive"),
            ),
            ("invoice_no",),
            period="issued_at",
            indexes=(("issued_at",), ("seller", "buyer_unit", "issued_at")),
        ),
        FeedSpec(
            "travel_claims",
            "差旅报销",
            (
                _f("claim_id"),
                _f("person_id"),
                _f("unit_code"),
                _f("depart_on", "date"),
                _f("return_on", "date"),
                _f("destination"),
                _f("ticket_no", required=False),
                _f("ticket_amount", "float", required=False, check="non_negative"),
                _f("hotel_amount", "float", check="non_negative"),
                _f("nights", "int", check="non_negative"),
                _f("travellers", "int", check="positive"),
            ),
            ("claim_id",),
            period="depart_on",
            indexes=(("depart_on",), ("ticket_no",), ("person_id",)),
        ),
        FeedSpec(
            "attendance",
            "考勤",
            (
                _f("person_id"),
                _f("day", "date"),
                _f("clock_in", "timestamp", required=False),
                _f("clock_out", "timestamp", required=False),
            ),
            ("person_id", "day"),
            period="day",
        ),
        FeedSpec(
            "parking",
            "停车及ETC记录",
            (
                _f("record_id"),
                _f("plate", check="known_plate"),
                _f("kind", check="one_of", choices=("parking", "etc")),
                _f("ts", "timestamp"),
                _f("place_name", required=False),
                _f("lat", "float", check="lat"),
                _f("lon", "float", check="lon"),
            ),
            ("record_id",),
            period="ts",
            indexes=(("ts",),),
        ),
        FeedSpec(
            "hotline_orders",
            "12345工单",
            (
                _f("order_id"),
                _f("unit_code"),
                _f("topic"),
                _f("opened_at", "timestamp"),
                _f("due_at", "timestamp"),
                _f("closed_at", "timestamp", required=False),
                _f("reopened", "int", required=False, check="non_negative"),
                _f("satisfaction", "int", required=False, check="satisfaction"),
            ),
            ("order_id",),
            period="opened_at",
            indexes=(("unit_code", "opened_at"),),
        ),
        FeedSpec(
            "drunk_driving",
            "酒驾醉驾记录（公安）",
            (
                _f("case_no"),
                _f("person_id", required=False),
                _f("name"),
                _f("unit_code", required=False),
                _f("ts", "timestamp"),
                _f("place", required=False),
                _f("lat", "float", required=False, check="lat"),
                _f("lon", "float", required=False, check="lon"),
                _f("bac_mg_100ml", "float", required=False, check="non_negative"),
            ),
            ("case_no",),
            period="ts",
        ),
    )
}


def table_ddl(spec: FeedSpec) -> list[str]:
    """CREATE TABLE (and indexes) of a feed: plain rows, its natural key, the batch."""
    cols = [
        f'"{f.name}" {SQL_TYPES[f.type]}{" NOT NULL" if f.required else ""}' for f in spec.fields
    ]
    cols.append("batch_id text NOT NULL")
    cols.append(f"PRIMARY KEY ({', '.join(spec.key)})")
    out = [f"CREATE TABLE {spec.table} ({', '.join(cols)})"]
    for i, idx in enumerate(spec.indexes):
        out.append(f"CREATE INDEX {spec.table}_ix{i} ON {spec.table} ({', '.join(idx)})")
    return out
