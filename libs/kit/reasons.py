"""Chinese reasons for pydantic's validation errors, by the error's ``type``.

A clerk reads ``errors[].reason``; pydantic writes English. The error's ``type`` stays the
machine ``code``, and its ``ctx`` (limits, allowed values) fills the Chinese sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

_Ctx = Mapping[str, Any]


def _choices(expected: Any) -> str:
    # pydantic says "'letter', 'visit' or 'phone'"; a clerk reads 「letter、visit、phone」.
    text = str(expected).replace(" or ", ", ")
    return "、".join(part.strip().strip("'\"") for part in text.split(", ") if part.strip())


def _chinese(text: str) -> bool:
    return re.search(r"[\u4e00-\u9fff]", text) is not None


def _custom(ctx: _Ctx) -> str:
    # A validator's own message (ValueError / AssertionError), when it speaks Chinese.
    message = str(ctx.get("error", "")).strip()
    return message if _chinese(message) else "值不符合要求"


_FIXED: dict[str, str] = {
    "missing": "必填",
    "missing_argument": "必填",
    "extra_forbidden": "不接受该字段",
    "string_type": "应为文本",
    "string_unicode": "应为 UTF-8 文本",
    "string_not_ascii": "只能包含 ASCII 字符",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数，不能带小数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "finite_number": "应为有限的数字",
    "decimal_type": "应为数字",
    "decimal_parsing": "应为数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "date_type": "应为日期，格式 YYYY-MM-DD",
    "date_parsing": "应为日期，格式 YYYY-MM-DD",
    "date_from_datetime_parsing": "应为日期，格式 YYYY-MM-DD",
    "date_from_datetime_inexact": "应为日期，不能带时刻",
    "date_past": "应为今天以前的日期",
    "date_future": "应为今天以后的日期",
    "datetime_type": "应为时间，格式如 2026-02-17T09:30:00+08:00",
    "datetime_parsing": "应为时间，格式如 2026-02-17T09:30:00+08:00",
    "datetime_from_date_parsing": "应为时间，格式如 2026-02-17T09:30:00+08:00",
    "datetime_past": "应为过去的时间",
    "datetime_future": "应为将来的时间",
    "timezone_aware": "时间须带时区，如 +08:00",
    "timezone_naive": "时间不能带时区",
    "time_type": "应为时刻，格式 HH:MM:SS",
    "time_parsing": "应为时刻，格式 HH:MM:SS",
    "time_delta_type": "应为时长",
    "time_delta_parsing": "应为时长",
    "uuid_type": "应为 UUID 编号",
    "uuid_parsing": "应为 UUID 编号",
    "uuid_version": "UUID 编号的版本不符",
    "list_type": "应为列表",
    "tuple_type": "应为列表",
    "set_type": "应为不重复的列表",
    "frozen_set_type": "应为不重复的列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "dataclass_type": "应为对象",
    "json_type": "应为 JSON 文本",
    "url_type": "应为网址",
    "url_parsing": "应为网址",
    "url_scheme": "网址的协议不符",
    "bytes_type": "应为字节串",
    "none_required": "应为空",
    "frozen_field": "不可修改",
    "frozen_instance": "不可修改",
    "union_tag_not_found": "缺少区分类型的字段",
    "union_tag_invalid": "类型字段的取值不对",
}

_FORMATTED: dict[str, Callable[[_Ctx], str]] = {
    "string_too_short": lambda c: f"至少 {c.get('min_length')} 个字符",
    "string_too_long": lambda c: f"至多 {c.get('max_length')} 个字符",
    "string_pattern_mismatch": lambda c: f"格式不符（应符合 {c.get('pattern')}）",
    "too_short": lambda c: f"至少 {c.get('min_length')} 项",
    "too_long": lambda c: f"至多 {c.get('max_length')} 项",
    "bytes_too_short": lambda c: f"至少 {c.get('min_length')} 个字节",
    "bytes_too_long": lambda c: f"至多 {c.get('max_length')} 个字节",
    "greater_than": lambda c: f"须大于 {c.get('gt')}",
    "greater_than_equal": lambda c: f"不得小于 {c.get('ge')}",
    "less_than": lambda c: f"须小于 {c.get('lt')}",
    "less_than_equal": lambda c: f"不得大于 {c.get('le')}",
    "multiple_of": lambda c: f"须为 {c.get('multiple_of')} 的整数倍",
    "decimal_max_digits": lambda c: f"至多 {c.get('max_digits')} 位数字",
    "decimal_max_places": lambda c: f"至多 {c.get('decimal_places')} 位小数",
    "literal_error": lambda c: f"只能是：{_choices(c.get('expected', ''))}",
    "enum": lambda c: f"只能是：{_choices(c.get('expected', ''))}",
    "json_invalid": lambda c: "不是合法的 JSON",
    "value_error": _custom,
    "assertion_error": _custom,
}


def reason(error: Mapping[str, Any], field: str) -> str:
    """The Chinese reason for one pydantic error (``type``, ``ctx``) on ``field``.

    A type the table does not know still gets Chinese, naming the field, so the clerk
    knows where to look; the English message never reaches them.
    """
    kind = str(error.get("type", ""))
    ctx: _Ctx = error.get("ctx") or {}
    if kind in _FORMATTED:
        return _FORMATTED[kind](ctx)
    if kind in _FIXED:
        return _FIXED[kind]
    message = str(error.get("msg", ""))
    if _chinese(message):  # a validator's own PydanticCustomError, written in Chinese
        return message
    return f"{field} 的值不符合要求"


__all__ = ["reason"]
