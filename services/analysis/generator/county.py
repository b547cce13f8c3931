"""The synthetic county's fixed geography and calendar (places, stations, holidays).

Clean activity stays in the county's south-west quarter (offices, stations, meeting
places); restaurants, hotels, scenic spots, private clubs and residential compounds lie
in the north-east, so clean tracks never come near them. Everything is relative to the
county centre, and the jurisdiction is a circle around it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

CENTRE = (29.90, 114.30)
"""County seat (lat, lon)."""
JURISDICTION_KM = 35.0
TZ_OFFSET = "+08:00"

KM_PER_DEG_LAT = 111.2
KM_PER_DEG_LON = 111.2 * math.cos(math.radians(CENTRE[0]))


def offset(north_km: float, east_km: float) -> tuple[float, float]:
    """The point ``north_km`` north and ``east_km`` east of the county centre."""
    return (
        round(CENTRE[0] + north_km / KM_PER_DEG_LAT, 6),
        round(CENTRE[1] + east_km / KM_PER_DEG_LON, 6),
    )


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Equirectangular distance: exact enough at county scale."""
    dy = (a[0] - b[0]) * KM_PER_DEG_LAT
    dx = (a[1] - b[1]) * KM_PER_DEG_LON
    return math.hypot(dx, dy)


@dataclass(frozen=True)
class Place:
    """A named point."""

    code: str
    name: str
    kind: str
    at: tuple[float, float]


UNIT_NAMES = [
    ("财政局", "government"),
    ("交通运输局", "government"),
    ("自然资源局", "government"),
    ("住建局", "government"),
    ("教育局", "government"),
    ("卫健局", "government"),
    ("农业农村局", "government"),
    ("水利局", "government"),
    ("市场监管局", "government"),
    ("民政局", "government"),
    ("人社局", "government"),
    ("城管局", "government"),
    ("生态环境局", "government"),
    ("文旅局", "government"),
    ("应急管理局", "government"),
    ("商务局", "government"),
    ("审计局", "government"),
    ("统计局", "government"),
    ("林业局", "government"),
    ("司法局", "government"),
]
COUNTY = "青山县"

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文斌鹏辉玲"

POSTS = [
    ("局长", "正科"),
    ("副局长", "副科"),
    ("科长", "股级"),
    ("副科长", "股级"),
    ("科员", "科员"),
]

STATIONS = [
    Place("ST01", "中石化城南加油站", "fuel_station", offset(-6.0, -5.0)),
    Place("ST02", "中石油城西加油站", "fuel_station", offset(-3.0, -9.0)),
    Place("ST03", "中石化开发区加油站", "fuel_station", offset(-10.0, -3.0)),
    Place("ST04", "中石油西环加油站", "fuel_station", offset(-8.0, -12.0)),
]
FAR_STATION = Place("ST90", "中石化省城环线加油站", "fuel_station", offset(60.0, 50.0))

# Sensitive points of interest, all in the north-east quarter, well apart.
SENSITIVE_POIS = [
    Place("P001", "金樽大酒店", "restaurant", offset(9.0, 9.0)),
    Place("P002", "渔家乐农庄", "restaurant", offset(11.0, 14.0)),
    Place("P003", "锦江宾馆", "hotel", offset(14.0, 9.0)),
    Place("P004", "温泉度假酒店", "hotel", offset(16.0, 16.0)),
    Place("P005", "青山湖风景区", "scenic", offset(20.0, 12.0)),
    Place("P006", "云台山景区", "scenic", offset(12.0, 20.0)),
    Place("P007", "悦府会所", "private_club", offset(18.0, 7.0)),
    Place("P008", "翠园私人会所", "private_club", offset(8.0, 18.0)),
    Place("P009", "碧桂园小区", "residential", offset(10.0, 5.0)),
    Place("P010", "锦绣华庭小区", "residential", offset(5.0, 10.0)),
    Place("P011", "滨江花园小区", "residential", offset(15.0, 20.0)),
    Place("P012", "福满楼酒家", "restaurant", offset(22.0, 5.0)),
]
FAR_CITY = Place("X001", "省城会议中心", "office", offset(62.0, 52.0))

# Clean destinations: meeting places in the south-west quarter.
MEETING_PLACES = [
    Place(f"M{i:02d}", name, "office", offset(n, e))
    for i, (name, n, e) in enumerate(
        [
            ("县政府", -1.0, -1.5),
            ("开发区管委会", -9.0, -4.0),
            ("城西乡政府", -4.0, -14.0),
            ("南湖镇政府", -14.0, -6.0),
            ("西山乡政府", -12.0, -15.0),
            ("石桥镇政府", -18.0, -10.0),
            ("县医院", -3.0, -4.0),
            ("县一中", -5.0, -2.0),
            ("水库管理所", -16.0, -16.0),
            ("河口村委会", -7.0, -18.0),
        ],
        start=1,
    )
]

CLEAN_MERCHANTS = [
    ("县机关食堂", "catering"),
    ("城南快餐店", "catering"),
    ("新华书店", "retail"),
    ("办公用品商行", "retail"),
    ("县印刷厂", "services"),
    ("城西宾馆", "hotel"),
    ("电脑维修部", "services"),
    ("农家小厨", "catering"),
]
CLEAN_ITEMS = {
    "catering": ["工作餐", "公务接待餐费", "会议用餐"],
    "retail": ["办公用品", "图书资料", "打印纸"],
    "services": ["印刷费", "维修费", "资料费"],
    "hotel": ["住宿费", "会议室租用"],
}
CLEAN_DESTINATIONS = ["省城", "武汉", "北京", "南京", "长沙", "合肥"]
TOURIST_DESTINATIONS = ["三亚", "丽江", "张家界", "黄山", "九寨沟", "桂林"]
HOTLINE_TOPICS = [
    "道路破损",
    "噪音扰民",
    "供水中断",
    "社保咨询",
    "违章建筑",
    "占道经营",
    "环境污染",
    "医保报销",
    "校车安全",
    "拖欠工资",
]

# 2026 statutory holidays and adjusted working days (the county's calendar feed).
HOLIDAYS_2026: list[tuple[str, str, str]] = [
    *[(f"2026-01-0{d}", "元旦", "holiday") for d in (1, 2, 3)],
    ("2026-01-04", "元旦调休", "workday"),
    ("2026-02-14", "春节调休", "workday"),
    *[((date(2026, 2, 15) + timedelta(days=i)).isoformat(), "春节", "holiday") for i in range(9)],
    ("2026-02-28", "春节调休", "workday"),
    *[(f"2026-04-0{d}", "清明节", "holiday") for d in (4, 5, 6)],
    *[(f"2026-05-0{d}", "劳动节", "holiday") for d in (1, 2, 3, 4, 5)],
    ("2026-05-09", "劳动节调休", "workday"),
    *[(f"2026-06-{d}", "端午节", "holiday") for d in (19, 20, 21)],
    *[(f"2026-09-{d}", "中秋节", "holiday") for d in (25, 26, 27)],
    *[(f"2026-10-0{d}", "国庆节", "holiday") for d in range(1, 9)],
    ("2026-10-10", "国庆节调休", "workday"),
]


class Calendar:
    """Working days from the holiday calendar: weekdays, minus holidays, plus 调休 days."""

    def __init__(self, entries: list[tuple[str, str, str]]) -> None:
        self.holidays = {date.fromisoformat(d) for d, _, k in entries if k == "holiday"}
        self.workdays = {date.fromisoformat(d) for d, _, k in entries if k == "workday"}

    def is_working(self, d: date) -> bool:
        """Whether staff work on ``d``."""
        if d in self.workdays:
            return True
        return d.weekday() < 5 and d not in self.holidays

    def is_holiday(self, d: date) -> bool:
        """A statutory holiday (not an ordinary weekend)."""
        return d in self.holidays
