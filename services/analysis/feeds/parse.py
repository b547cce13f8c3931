"""Reading a feed batch as it streams in: gzip, NDJSON or CSV, row by row, checked.

Pure: bytes in, (row number, values) or (row number, field, reason) out. Memory stays
bounded by one chunk and one line, whatever the batch's size.
"""

from __future__ import annotations

import csv
import json
import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.analysis.feeds.spec import FeedSpec, Field

# Impossible coordinates for a Chinese county's partner data: outside China's bounding box.
LAT_RANGE = (3.0, 54.0)
LON_RANGE = (73.0, 136.0)


@dataclass(frozen=True)
class RowError:
    """Why a row was rejected."""

    row: int
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "reason": self.reason}


class Decoder:
    """Turns streamed bytes (maybe gzip) into complete text lines."""

    def __init__(self, gzipped: bool | None = None) -> None:
        self._gzipped = gzipped
        self._inflate: Any = None
        self._tail = b""

    def feed(self, chunk: bytes) -> list[str]:
        """The complete lines this chunk finishes."""
        if self._gzipped is None and chunk:
            self._gzipped = chunk[:2] == b"\x1f\x8b"
        if self._gzipped:
            if self._inflate is None:
                self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
            chunk = self._inflate.decompress(chunk)
        data = self._tail + chunk
        lines = data.split(b"\n")
        self._tail = lines.pop()
        return [line.decode("utf-8", errors="replace").rstrip("\r") for line in lines]

    def finish(self) -> list[str]:
        """The last line, if the body did not end with a newline."""
        if self._inflate is not None:
            self._tail += self._inflate.flush()
        tail, self._tail = self._tail, b""
        text = tail.decode("utf-8", errors="replace").rstrip("\r")
        return [text] if text else []


class RowReader:
    """Lines to raw rows (dicts), numbered from 1, for NDJSON or CSV with a header."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.row = 0
        self._header: list[str] | None = None

    def rows(self, lines: list[str]) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
        if self.fmt == "csv":
            yield from self._csv(lines)
            return
        for line in lines:
            if not line.strip():
                continue
            self.row += 1
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                yield self.row, RowError(self.row, "-", f"不是 JSON 对象（{exc.msg}）")
                continue
            if not isinstance(value, dict):
                yield self.row, RowError(self.row, "-", "不是 JSON 对象")
                continue
            yield self.row, value

    def _csv(self, lines: list[str]) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
        for record in csv.reader(line for line in lines if line.strip()):
            if self._header is None:
                self._header = [h.strip() for h in record]
                continue
            self.row += 1
            if len(record) != len(self._header):
                yield (
                    self.row,
                    RowError(self.row, "-", f"有 {len(record)} 列，表头有 {len(self._header)} 列"),
                )
                continue
            yield (
                self.row,
                {k: (v if v != "" else None) for k, v in zip(self._header, record, strict=True)},
            )


def _text(value: Any) -> Any:
    if type(value) is str:
        return value
    if isinstance(value, dict | list):
        raise ValueError("应为文本")
    return str(value)


def _int(value: Any) -> Any:
    if type(value) is int:
        return value
    if isinstance(value, bool):
        raise ValueError("应为整数")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise ValueError(f"应为整数，而不是 {value!r}") from None
    raise ValueError("应为整数")


def _float(value: Any) -> Any:
    kind = type(value)
    if kind is float or kind is int:
        number = float(value)
    elif kind is str:
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"应为数字，而不是 {value!r}") from None
    else:
        raise ValueError("应为数字")
    if not math.isfinite(number):
        raise ValueError("应为有限的数字")
    return number


def _timestamp(value: Any) -> Any:
    try:
        ts = datetime.fromisoformat(value if type(value) is str else str(value))
    except ValueError:
        raise ValueError(f"应为 ISO 8601 时间，而不是 {value!r}") from None
    if ts.tzinfo is None:
        raise ValueError("时间须带时区，如 2026-02-17T09:30:00+08:00")
    return ts


def _date(value: Any) -> Any:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"应为日期 YYYY-MM-DD，而不是 {value!r}") from None


_CONVERTERS = {
    "text": _text,
    "int": _int,
    "float": _float,
    "timestamp": _timestamp,
    "date": _date,
}


def _convert(f: Field, value: Any) -> Any:
    return _CONVERTERS[f.type](value)


def _check(f: Field, value: Any, known_plates: frozenset[str] | set[str]) -> str | None:
    match f.check:
        case "lat" if not LAT_RANGE[0] <= value <= LAT_RANGE[1]:
            return f"纬度 {value} 不可能（应在 {LAT_RANGE[0]} 至 {LAT_RANGE[1]} 之间）"
        case "lon" if not LON_RANGE[0] <= value <= LON_RANGE[1]:
            return f"经度 {value} 不可能（应在 {LON_RANGE[0]} 至 {LON_RANGE[1]} 之间）"
        case "non_negative" if value < 0:
            return f"不得为负数（{value}）"
        case "positive" if value <= 0:
            return f"须大于 0（{value}）"
        case "satisfaction" if not 1 <= value <= 5:
            return f"满意度应为 1 至 5，而不是 {value}"
        case "one_of" if value not in f.choices:
            return f"{value!r} 不在可选值中：{'、'.join(f.choices)}"
        case "known_plate" if value not in known_plates:
            return f"车牌 {value!r} 不在公务车辆登记表中"
    return None


def check_row(
    spec: FeedSpec, row_no: int, raw: dict[str, Any], known_plates: frozenset[str] | set[str]
) -> tuple[Any, ...] | RowError:
    """The row's values in column order, or the first thing wrong with it."""
    out: list[Any] = []
    get = raw.get
    for f in spec.fields:
        value = get(f.name)
        if value is None or value == "":
            if f.required:
                return RowError(row_no, f.name, "必填")
            out.append(None)
            continue
        try:
            value = _CONVERTERS[f.type](value)
        except ValueError as exc:
            return RowError(row_no, f.name, str(exc))
        if f.check and (reason := _check(f, value, known_plates)):
            return RowError(row_no, f.name, reason)
        out.append(value)
    return tuple(out)
