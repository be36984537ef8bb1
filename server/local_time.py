"""Times as an office reads them: in the office's own zone (WIB, WITA, WIT), in one Indonesian format.

Records carry times written by many clocks: the server writes UTC (`...Z`), phones write their own offset
(`+08:00`, `+00:00`), some with milliseconds. Shown as written, one story mixes three clocks and can run
backwards, and sorting the text sorts nothing. Here every time is parsed to an instant, shown in the zone of
the office ("17 Nov 2026 10.47 WITA"), and ordered as an instant.

An office's zone is its record's `timezone` (an IANA name, server/identity/store.py); offices created before
that field existed get the zone of their province, read from the first two digits of the office code
(the Kemendagri region code: 64xx is Kalimantan Timur, so Balikpapan 6471 is WITA).

Indonesia keeps no summer time, so its three zones are fixed offsets and need no tz database; another IANA
name (a test, a deployment abroad) is looked up with `zoneinfo`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.i18n import gettext as _

#: The zones of Indonesia, by IANA name: (hours east of UTC, the name Indonesians use).
INDONESIAN_ZONES: dict[str, tuple[int, str]] = {
    "Asia/Jakarta": (7, "WIB"),
    "Asia/Pontianak": (7, "WIB"),
    "Asia/Makassar": (8, "WITA"),
    "Asia/Jayapura": (9, "WIT"),
}
DEFAULT_ZONE = "Asia/Jakarta"

#: Province codes (the first two digits of an office code) east of WIB. Everything else (Sumatra, Java,
#: West and Central Kalimantan) is WIB.
_PROVINCE_ZONES: dict[str, str] = {
    **{
        code: "Asia/Makassar"
        for code in ("51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76")
    },
    **{code: "Asia/Jayapura" for code in ("81", "82", "91", "92", "93", "94", "95", "96", "97")},
    **{code: "Asia/Pontianak" for code in ("61", "62")},
}

MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")


def month_name(number: int) -> str:
    """The short name of month `number` (1-12) in the reader's language ("Agu" / "Aug")."""
    names = (
        _("Jan"),
        _("Feb"),
        _("Mar"),
        _("Apr"),
        _("Mei"),
        _("Jun"),
        _("Jul"),
        _("Agu"),
        _("Sep"),
        _("Okt"),
        _("Nov"),
        _("Des"),
    )
    return names[number - 1]


#: How far a phone's clock may be from the server's receipt before a page says so: a record is received
#: when the phone next syncs, which takes seconds online but can be minutes on a slow network.
CLOCK_TOLERANCE = timedelta(minutes=5)


def zone_for_code(code: str | None) -> str:
    """The IANA zone of an office from its 4-digit code (its province), WIB when the code says nothing."""
    return _PROVINCE_ZONES.get(str(code or "")[:2], DEFAULT_ZONE)


def valid_zone(name: str) -> bool:
    """True for a zone name this module can show times in."""
    if name in INDONESIAN_ZONES:
        return True
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def office_zone(office: dict[str, object] | None, code: str | None = None) -> str:
    """The zone an office's pages use: its record's `timezone`, else its province's, else WIB."""
    stored = (office or {}).get("timezone")
    if isinstance(stored, str) and valid_zone(stored):
        return stored
    return zone_for_code(code or str((office or {}).get("code") or ""))


def _tz(name: str) -> tzinfo:
    if name in INDONESIAN_ZONES:
        return timezone(timedelta(hours=INDONESIAN_ZONES[name][0]))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone(timedelta(hours=INDONESIAN_ZONES[DEFAULT_ZONE][0]))


def parse(value: object) -> datetime | None:
    """An RFC 3339 / ISO 8601 time as an aware instant; None for anything else. A time without an offset is
    taken as UTC, which is how the server writes."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def instant(value: object) -> float:
    """Seconds since the epoch, for sorting; a time that cannot be read sorts first (0)."""
    moment = parse(value)
    return moment.timestamp() if moment else 0.0


def zone_label(zone: str, moment: datetime | None = None) -> str:
    """WIB / WITA / WIT for Indonesia; elsewhere the zone's own abbreviation."""
    if zone in INDONESIAN_ZONES:
        return INDONESIAN_ZONES[zone][1]
    local = (moment or datetime.now(UTC)).astimezone(_tz(zone))
    return local.tzname() or zone


def local_time(value: object, zone: str = DEFAULT_ZONE, *, date_only: bool = False) -> str:
    """ "17 Nov 2026 10.47 WITA": the one format of every time Segel shows; "-" when there is no time, and
    the text unchanged when it is not a time (so nothing is hidden)."""
    moment = parse(value)
    if moment is None:
        return "-" if value in (None, "") else str(value)
    local = moment.astimezone(_tz(zone))
    day = f"{local.day} {month_name(local.month)} {local.year}"
    if date_only:
        return day
    return f"{day} {local.hour:02d}.{local.minute:02d} {zone_label(zone, moment)}"


def local_day(day: str) -> str:
    """ "22 Nov 2026" for a day key "2026-11-22" (a day is already the office's own: no zone to convert);
    the text unchanged when it is not a date."""
    try:
        moment = date.fromisoformat(day)
    except (TypeError, ValueError):
        return str(day)
    return f"{moment.day} {month_name(moment.month)} {moment.year}"


def local_today(zone: str = DEFAULT_ZONE, moment: datetime | None = None) -> date:
    """The date it is now (or at `moment`) in `zone`: an office's "today"."""
    return (moment or datetime.now(UTC)).astimezone(_tz(zone)).date()


def clock_disagrees(device_time: object, server_time: object, tolerance: timedelta = CLOCK_TOLERANCE) -> bool:
    """True when a phone's clock and the server's receipt are further apart than `tolerance`.

    A phone that recorded offline and synced later also shows a gap; that is still worth a mark, because the
    page then says when the server learned of it, and the phone's time is the only other witness."""
    device, server = parse(device_time), parse(server_time)
    if device is None or server is None:
        return False
    return abs(device - server) > tolerance


def phone_clock_note(device_time: object, server_time: object, zone: str = DEFAULT_ZONE) -> str:
    """ "jam ponsel: 17 Nov 2026 18.38 WITA" when the phone's clock disagrees with the receipt, else ""."""
    if not clock_disagrees(device_time, server_time):
        return ""
    return _("jam ponsel: %(when)s") % {"when": local_time(device_time, zone)}


def happened_at(device_time: object, server_time: object) -> object:
    """When a record happened as the server knows it: its receipt, or the phone's time before one exists."""
    return server_time if parse(server_time) is not None else device_time
