"""Times as an office reads them: the office's zone, one Indonesian format, ordered as instants, and the
phone's clock shown only where it disagrees with the server's receipt."""

from __future__ import annotations

from server.i18n import set_language
from server.local_time import (
    clock_disagrees,
    instant,
    local_time,
    office_zone,
    phone_clock_note,
    valid_zone,
    zone_for_code,
)
from server.office.timeline import Event, order_handoffs
from server.residents.story import in_server_order


def test_office_zone_from_the_province_code() -> None:
    assert zone_for_code("6471") == "Asia/Makassar"  # Balikpapan, Kalimantan Timur: WITA
    assert zone_for_code("3171") == "Asia/Jakarta"  # Jakarta Pusat: WIB
    assert zone_for_code("6171") == "Asia/Pontianak"  # Pontianak: WIB
    assert zone_for_code("5171") == "Asia/Makassar"  # Denpasar: WITA
    assert zone_for_code("9471") == "Asia/Jayapura"  # Jayapura: WIT
    assert zone_for_code(None) == "Asia/Jakarta"


def test_the_stored_timezone_wins_over_the_province_and_a_bad_one_does_not() -> None:
    assert office_zone({"code": "6471", "timezone": "Asia/Jayapura"}) == "Asia/Jayapura"
    assert office_zone({"code": "6471"}) == "Asia/Makassar"  # an office stored before the field existed
    assert office_zone({"code": "6471", "timezone": "Mars/Olympus"}) == "Asia/Makassar"
    assert office_zone(None, "9471") == "Asia/Jayapura"
    assert not valid_zone("Mars/Olympus")


def test_three_clocks_read_as_one_in_the_office_zone() -> None:
    """The three spellings of one timeline: a phone in WITA, a phone set to UTC, the server's Z."""
    assert local_time("2026-11-17T10:47:12+08:00", "Asia/Makassar") == "17 Nov 2026 10.47 WITA"
    assert local_time("2026-11-17T02:41:55+00:00", "Asia/Makassar") == "17 Nov 2026 10.41 WITA"
    assert local_time("2026-11-17T02:44:12.784Z", "Asia/Makassar") == "17 Nov 2026 10.44 WITA"
    assert local_time("2026-11-17T02:44:12.784Z", "Asia/Jakarta") == "17 Nov 2026 09.44 WIB"
    assert local_time("2026-11-17T02:44:12.784Z", "Asia/Jayapura") == "17 Nov 2026 11.44 WIT"


def test_indonesian_month_names_and_the_day_turning_in_the_office_zone() -> None:
    assert local_time("2026-08-16T20:30:00Z", "Asia/Makassar") == "17 Agu 2026 04.30 WITA"
    assert local_time("2026-05-01T00:00:00+07:00", "Asia/Jakarta") == "1 Mei 2026 00.00 WIB"
    assert local_time("2026-12-31T23:59:00+07:00", "Asia/Jakarta", date_only=True) == "31 Des 2026"
    assert local_time("2026-10-05T08:00:00", "Asia/Jakarta") == "5 Okt 2026 15.00 WIB"  # no offset: UTC


def test_an_english_page_reads_english_month_names() -> None:
    set_language("en")
    try:
        assert local_time("2026-08-16T20:30:00Z", "Asia/Makassar") == "17 Aug 2026 04.30 WITA"
        assert local_time("2026-12-31T23:59:00+07:00", "Asia/Jakarta", date_only=True) == "31 Dec 2026"
    finally:
        set_language("id")


def test_what_is_not_a_time_is_shown_as_it_is() -> None:
    assert local_time(None) == "-"
    assert local_time("") == "-"
    assert local_time("kemarin sore") == "kemarin sore"


def test_times_sort_as_instants_not_as_text() -> None:
    written = ["2026-11-17T02:44:12.784Z", "2026-11-17T10:41:55+08:00", "2026-11-17T02:43:00+00:00"]
    assert sorted(written) == [written[2], written[0], written[1]]  # text order: not what happened
    assert sorted(written, key=instant) == [written[1], written[2], written[0]]


def test_the_phone_clock_is_shown_only_where_it_disagrees() -> None:
    received = "2026-11-17T02:41:55Z"
    assert not clock_disagrees("2026-11-17T10:40:00+08:00", received)  # 2 minutes: the sync's own delay
    assert phone_clock_note("2026-11-17T10:40:00+08:00", received, "Asia/Makassar") == ""
    assert clock_disagrees("2026-11-17T18:38:00+08:00", received)  # a phone eight hours ahead
    assert (
        phone_clock_note("2026-11-17T18:38:00+08:00", received, "Asia/Makassar")
        == "jam ponsel: 17 Nov 2026 18.38 WITA"
    )
    assert clock_disagrees("2026-11-17T10:30:00+08:00", received)  # 12 minutes behind: also marked
    assert not clock_disagrees("2026-11-17T18:38:00+08:00", None)  # no receipt yet: nothing to compare


def _handoff(number: int, kind: str, device_time: str) -> dict[str, object]:
    return {"_id": f"handoff:{number}", "kind": kind, "device_time": device_time, "seq": number}


def test_the_story_follows_the_server_receipts_not_a_wrong_phone_clock() -> None:
    """Sealed at the office by a phone eight hours fast, picked up ten minutes later by a right one: by
    device time the pickup comes first ("Disegel 18.38", then "dibawa 10.41"); by receipt it does not."""
    sealed = Event(
        _handoff(1, "sealed", "2026-11-17T18:38:00+08:00"), {"received_at": "2026-11-17T02:31:00Z"}, [], True
    )
    picked = Event(
        _handoff(2, "picked_up", "2026-11-17T10:41:00+08:00"),
        {"received_at": "2026-11-17T02:41:30Z"},
        [],
        True,
    )
    waiting = Event(_handoff(3, "delivered", "2026-11-17T11:20:00+08:00"), None, [], True)  # not yet received
    ordered = in_server_order([picked, waiting, sealed])
    assert [e.handoff["kind"] for e in ordered] == ["sealed", "picked_up", "delivered"]


def test_unlinked_handoffs_fall_back_to_time_as_instants() -> None:
    """Without chain links, the order is by time as instants: 10.41 WITA (02.41Z) before 02.44Z, although
    "2026-11-17T10" sorts after "2026-11-17T02" as text."""
    later = _handoff(1, "picked_up", "2026-11-17T02:44:12.784Z")
    earlier = _handoff(2, "sealed", "2026-11-17T10:41:55+08:00")
    assert [h["_id"] for h in order_handoffs([later, earlier])] == ["handoff:2", "handoff:1"]
