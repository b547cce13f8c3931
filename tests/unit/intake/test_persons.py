"""The resident ID number rule (GB 11643) that intake checks on every reported person."""

from __future__ import annotations

import pytest

from services.intake.domain import check_character, resident_id_problem


def test_the_published_sample_number_is_valid() -> None:
    # The example number from GB 11643-1999's annex.
    assert resident_id_problem("11010519491231002X") is None


def test_a_number_whose_check_digit_is_off_by_one_is_refused() -> None:
    assert "校验码" in str(resident_id_problem("110105194912310021"))


@pytest.mark.parametrize(
    ("number", "why"),
    [
        ("1101051949123100", "18 位"),
        ("11010519491231002Y", "数字或 X"),
        ("1101051949A231002X", "数字或 X"),
        ("110105194913310020", "出生日期"),
        ("110105180001010020", "出生日期"),
    ],
)
def test_malformed_numbers_say_what_is_wrong(number: str, why: str) -> None:
    assert why in str(resident_id_problem(number))


def test_every_body_has_exactly_one_check_character() -> None:
    body = "32010219800101123"
    valid = [c for c in "0123456789X" if resident_id_problem(body + c) is None]
    assert valid == [check_character(body)]
