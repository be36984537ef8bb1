"""NIK plausibility, parts and masking."""

from __future__ import annotations

import re

import pytest

from records.nik import NIK_PATTERN, NikParts, check_nik, describe_nik, mask_nik

MALE = "6471061503920004"  # 15-03-(19)92, Balikpapan Kota
FEMALE = "6471055506900012"  # day 55 = 15 + 40: a woman born 15-06-(19)90


def test_valid_male_nik_passes() -> None:
    assert check_nik(MALE) is None


def test_valid_female_nik_passes() -> None:
    assert check_nik(FEMALE) is None


@pytest.mark.parametrize(
    ("nik", "reason_part"),
    [
        ("6471063203920004", "birth day 32"),
        ("6471067203920004", "birth day 72"),
        ("6471060003920004", "birth day 00"),
        ("6471061513920004", "birth month 13"),
        ("6471061500920004", "birth month 00"),
        ("6471063002920004", "30-02-92 does not exist"),
        ("6471067002920004", "30-02-92 does not exist"),
        ("6471063104920004", "31-04-92 does not exist"),
        ("6471062902010004", "29-02-01 does not exist"),
        ("6471061503920000", "serial number 0000"),
        ("647106150392000", "16 digits (this one has 15)"),
        ("64710615039200041", "16 digits (this one has 17)"),
        ("64710615039200A4", "digits only"),
        ("6471 0615 0392 00", "digits only"),
        ("１２３４５６７８９０１２３４５６", "digits only"),
        ("1071061503920004", "province code 10"),
        ("9571061503920004", "province code 95"),
    ],
)
def test_implausible_nik_is_refused_with_a_reason(nik: str, reason_part: str) -> None:
    reason = check_nik(nik)
    assert reason is not None
    assert reason_part in reason


@pytest.mark.parametrize("nik", ["6471062902000004", "6471062902040004", "6471066902960004"])
def test_29_february_is_allowed_when_either_century_is_leap(nik: str) -> None:
    assert check_nik(nik) is None


@pytest.mark.parametrize("province", ["11", "94"])
def test_province_bounds_are_inclusive(province: str) -> None:
    assert check_nik(province + MALE[2:]) is None


def test_non_string_is_refused() -> None:
    assert check_nik(6471061503920004) is not None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "nik",
    [
        MALE,
        FEMALE,
        "6471063203920004",
        "6471061513920004",
        "6471061503920000",
        "1071061503920004",
        "9571061503920004",
        "647106150392000",
        "6471067103920004",
        "1101014112000001",
    ],
)
def test_pattern_agrees_with_check(nik: str) -> None:
    assert bool(re.match(NIK_PATTERN, nik)) == (check_nik(nik) is None)


def test_pattern_cannot_tell_impossible_dates() -> None:
    # Why the schema also declares format "nik": 30 February looks fine to a regex.
    assert re.match(NIK_PATTERN, "6471063002920004")
    assert check_nik("6471063002920004") is not None


def test_pattern_has_no_lookaround_so_javascript_can_use_it() -> None:
    assert "(?<" not in NIK_PATTERN and "(?=" not in NIK_PATTERN and "(?!" not in NIK_PATTERN


def test_describe_male() -> None:
    assert describe_nik(MALE) == NikParts(
        province="64",
        regency="71",
        district="06",
        birth_day=15,
        birth_month=3,
        birth_year_2d=92,
        female=False,
        serial="0004",
    )


def test_describe_female_subtracts_40_from_the_day() -> None:
    parts = describe_nik(FEMALE)
    assert parts.female is True
    assert (parts.birth_day, parts.birth_month, parts.birth_year_2d) == (15, 6, 90)


def test_describe_refuses_invalid_nik() -> None:
    with pytest.raises(ValueError, match="serial number 0000"):
        describe_nik("6471061503920000")


def test_mask_shows_first_six_and_last_two() -> None:
    assert mask_nik("6471011503920001") == "647101********01"


def test_mask_never_reveals_short_input() -> None:
    assert mask_nik("12345678") == "********"
    assert mask_nik("") == ""


def test_mask_keeps_length_of_odd_input() -> None:
    assert mask_nik("64710615039200041") == "647106*********41"
