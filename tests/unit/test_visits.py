"""Who was recorded before whom (server/office/visits.py): by instant across phone offsets, never by text."""

from __future__ import annotations

from server.i18n import set_language
from server.office.visits import celsius, earlier_visits, health_of


def _row(visit_id: str, nik: str, time: str) -> dict[str, object]:
    return {"id": visit_id, "key": ["6471", nik], "value": [time, "van-balikpapan-1", "revisit_needed"]}


def test_earlier_is_by_instant_not_by_text() -> None:
    # 09:30 at +08:00 is 01:30 UTC: before 02:00+00:00, although "09:30" sorts after "02:00" as text.
    first = {"_id": "visit:b", "resident_nik": "6471046112030001", "device_time": "2026-11-22T09:30:00+08:00"}
    second = {
        "_id": "visit:a",
        "resident_nik": "6471046112030001",
        "device_time": "2026-11-22T02:00:00+00:00",
    }
    other = {"_id": "visit:c", "resident_nik": "6471061503920004", "device_time": "2026-11-22T10:00:00+08:00"}
    rows = [
        _row(str(v["_id"]), str(v["resident_nik"]), str(v["device_time"])) for v in (second, first, other)
    ]
    assert earlier_visits([first, second, other], rows) == {"visit:a": ["visit:b"]}


def test_same_second_visits_still_have_one_order() -> None:
    time = "2026-11-22T09:30:00+08:00"
    one = {"_id": "visit:1", "resident_nik": "6471046112030001", "device_time": time}
    two = {"_id": "visit:2", "resident_nik": "6471046112030001", "device_time": time}
    rows = [_row("visit:2", "6471046112030001", time), _row("visit:1", "6471046112030001", time)]
    assert earlier_visits([two, one], rows) == {"visit:2": ["visit:1"]}


def test_health_check_suspends_at_fever_or_a_failed_check() -> None:
    passed = {
        "operator_temperature_c": 36.4,
        "applicant_temperature_c": 37.4,
        "equipment_disinfected": True,
        "gloves_and_masks": True,
        "hand_sanitiser": True,
    }
    assert not health_of({"health": passed}).missed
    assert health_of({"health": {**passed, "applicant_temperature_c": 37.5}}).missed
    assert health_of({"health": {**passed, "hand_sanitiser": False}}).missed


def test_temperatures_read_with_the_languages_decimal_mark() -> None:
    set_language("id")
    assert celsius(37.8) == "37,8 °C"
    set_language("en")
    try:
        assert celsius(37.8) == "37.8 °C"
    finally:
        set_language("id")
