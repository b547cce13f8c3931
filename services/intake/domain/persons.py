"""Reported persons (被反映人): the resident ID number rule of GB 11643-1999."""

from __future__ import annotations

from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def resident_id_problem(number: str) -> str | None:
    """Why ``number`` is not a valid 18-digit resident ID number (公民身份号码), or None.

    The 18th character is the ISO 7064 MOD 11-2 check of the first 17; digits 7–14 are
    the date of birth.
    """
    if len(number) != 18:
        return "应为 18 位"
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        return "应为 17 位数字加 1 位数字或 X"
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return "第 7 至 14 位不是有效的出生日期"
    if born.year < 1900:
        return "第 7 至 14 位不是有效的出生日期"
    if number[17] != check_character(number[:17]):
        return "校验码不符（GB 11643）"
    return None


def check_character(first17: str) -> str:
    """The check character that completes a 17-digit body."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]
