"""Plausibility checks for the NIK (Nomor Induk Kependudukan), the 16-digit Indonesian resident number.

A NIK encodes where and when its holder was registered: province (2 digits), regency/city (2), district (2),
birth date as DDMMYY with 40 added to the day for women, and a 4-digit serial. We cannot know whether a NIK
was really issued, but we can refuse numbers that cannot exist, so that a typo made at the desk is caught
before a sealed envelope goes out with the wrong name on it.

`NIK_PATTERN` is the same check as a regular expression. It is embedded in `schemas/common.schema.json` so
the PWA enforces it too; it therefore avoids lookbehind (and lookahead) to stay portable to any JavaScript
or RE2 engine. The one thing a regex cannot check, whether the date exists, is left to `check_nik`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

#: Province 11-94, regency, district, day 01-31 (men) or 41-71 (women), month 01-12, year, serial 0001-9999.
NIK_PATTERN = (
    r"^(1[1-9]|[2-8][0-9]|9[0-4])[0-9]{4}"
    r"(0[1-9]|[12][0-9]|3[01]|4[1-9]|[56][0-9]|7[01])"
    r"(0[1-9]|1[0-2])[0-9]{2}"
    r"([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])$"
)

_DIGITS16 = re.compile(r"^[0-9]{16}$")
_FEMALE_DAY_OFFSET = 40


@dataclass(frozen=True)
class NikParts:
    """The fields a NIK encodes, as written in it (strings keep their leading zeros)."""

    province: str
    regency: str
    district: str
    birth_day: int
    birth_month: int
    birth_year_2d: int
    female: bool
    serial: str


def describe_nik(nik: str) -> NikParts:
    """Split a NIK into its parts; raises ValueError when `check_nik` would refuse it."""
    reason = check_nik(nik)
    if reason is not None:
        raise ValueError(reason)
    day = int(nik[6:8])
    female = day > _FEMALE_DAY_OFFSET
    return NikParts(
        province=nik[0:2],
        regency=nik[2:4],
        district=nik[4:6],
        birth_day=day - _FEMALE_DAY_OFFSET if female else day,
        birth_month=int(nik[8:10]),
        birth_year_2d=int(nik[10:12]),
        female=female,
        serial=nik[12:16],
    )


def check_nik(nik: str) -> str | None:
    """Return None when `nik` is a plausible NIK, else a reason in plain English saying what is wrong."""
    if not isinstance(nik, str) or not _DIGITS16.match(nik):
        return _shape_reason(nik)
    province = int(nik[0:2])
    if not 11 <= province <= 94:
        return f"province code {nik[0:2]} does not exist (the first 2 digits must be 11-94)"
    raw_day = int(nik[6:8])
    if not (1 <= raw_day <= 31 or 41 <= raw_day <= 71):
        return f"birth day {nik[6:8]} is not valid (digits 7-8 must be 01-31, or 41-71 for women)"
    month = int(nik[8:10])
    if not 1 <= month <= 12:
        return f"birth month {nik[8:10]} is not valid (digits 9-10 must be 01-12)"
    day = raw_day - _FEMALE_DAY_OFFSET if raw_day > _FEMALE_DAY_OFFSET else raw_day
    year_2d = int(nik[10:12])
    if not (_date_exists(1900 + year_2d, month, day) or _date_exists(2000 + year_2d, month, day)):
        return f"birth date {day:02d}-{month:02d}-{year_2d:02d} does not exist (digits 7-12 are DDMMYY)"
    if nik[12:16] == "0000":
        return "serial number 0000 is not valid (the last 4 digits must be 0001-9999)"
    return None


def mask_nik(nik: str) -> str:
    """Hide all but the first 6 (place) and last 2 digits, e.g. "647101********01".

    Couriers and logs must never see a full NIK. Any string is accepted, valid or not, so that masking can
    never be the step that fails; strings of 8 characters or fewer are masked completely.
    """
    if len(nik) <= 8:
        return "*" * len(nik)
    return nik[:6] + "*" * (len(nik) - 8) + nik[-2:]


def _shape_reason(nik: object) -> str:
    if not isinstance(nik, str):
        return "must be a string of 16 digits"
    if not nik.isascii() or not nik.isdigit():
        return "must contain digits only (16 digits, no spaces or dots)"
    return f"must be exactly 16 digits (this one has {len(nik)})"


def _date_exists(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True
