"""Mobile-van visits per van and day: counts for two weeks, and one day's visits told in full.

The counts (recorded, failed, revisits needed, protocol missed) come from the `reports/visits` reduce view.
One day's visits come from `visits/by_day`, and for each the office reads two things a person must follow up:

- **Recorded again**: a resident (the same NIK) who was visited before. One request (`visits/by_resident`,
  POST keys: the day's NIKs) gives every visit of those residents; the earlier ones, by instant, are what the
  page names, with what came of them and why (the capture reasons the operator wrote).
- **Recording despite the health protocol**: the van's rules suspend recording when a temperature is 37.5 C
  or more or a check failed, unless an emergency reason is given (schemas/visit.schema.json). The page shows
  the check itself (both temperatures, gloves and masks, sanitiser, disinfection) and the reason.

Times are instants shown in the office's zone by the page; the NIK is shown masked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from records.nik import mask_nik
from records.types import JSONDict
from server.i18n import N_, Labels, current_language, label
from server.i18n import gettext as _
from server.local_time import instant
from server.office.ledger import Ledger, docs_by_ids, key, view_keys

OUTCOMES = ("recorded", "failed", "revisit_needed", "protocol_missed")
OUTCOME_LABELS = Labels(
    {
        "recorded": N_("Terekam"),
        "failed": N_("Gagal"),
        "revisit_needed": N_("Perlu kunjungan ulang"),
        "protocol_missed": N_("Protokol kesehatan terlewat"),
    }
)
#: The captures of a visit, in the order the van takes them.
CAPTURES = Labels(
    {
        "fingerprints": N_("Sidik jari"),
        "iris": N_("Iris mata"),
        "face": N_("Foto wajah"),
        "signature": N_("Tanda tangan"),
    }
)
#: The yes/no checks of the health protocol (a False suspends recording).
HEALTH_CHECKS = Labels(
    {
        "gloves_and_masks": N_("Sarung tangan dan masker"),
        "hand_sanitiser": N_("Hand sanitizer"),
        "equipment_disinfected": N_("Alat didisinfeksi"),
    }
)
#: A temperature at or above this suspends recording (schemas/visit.schema.json).
FEVER_C = 37.5
#: At most this many visits of one day are shown; a van records a few dozen a day.
DAY_LIMIT = 1000

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class VisitDayError(ValueError):
    """A day asked for that is not a date; the message says what to give."""


@dataclass
class VanDay:
    van: str
    day: str
    counts: dict[str, int] = field(default_factory=dict)


async def load_visits(ledger: Ledger, office: str, since_day: str) -> list[VanDay]:
    """Per van and day since `since_day`, newest day first (from the `reports/visits` reduce view)."""
    rows = await ledger.records.view(
        "reports", "visits", startkey=key([office]), endkey=key([office, {}]), group_level=4
    )
    table: dict[tuple[str, str], VanDay] = {}
    for row in rows["rows"]:
        _, van, day, outcome = row["key"]
        if day is None or day < since_day:
            continue
        entry = table.setdefault((van, day), VanDay(van, day))
        entry.counts[outcome] = int(row["value"])
    return sorted(table.values(), key=lambda v: (v.day, v.van), reverse=True)


def checked_day(value: str) -> str:
    """`value` as a day key (YYYY-MM-DD), or a `VisitDayError` saying what to give."""
    text = value.strip()
    try:
        if not _DAY.match(text):
            raise ValueError(text)
        date.fromisoformat(text)
    except ValueError as exc:
        raise VisitDayError(
            _("Tanggal %(day)r tidak dikenal; tulis tahun-bulan-tanggal, mis. 2026-11-22.") % {"day": text}
        ) from exc
    return text


# ---- one day in full --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Capture:
    """A capture that did not succeed, with the operator's reason."""

    part: str  # fingerprints | iris | face | signature
    status: str  # failed | not_attempted
    reason: str

    @property
    def text(self) -> str:
        words = f"{CAPTURES[self.part]}: {_label_capture(self.status)}"
        return f"{words} ({self.reason})" if self.reason else words


def _label_capture(status: str) -> str:
    return label("capture", status).lower()


@dataclass(frozen=True)
class Health:
    """The health protocol check as recorded, and whether it suspended recording."""

    operator_c: float | None
    applicant_c: float | None
    checks: dict[str, bool | None]
    emergency_reason: str

    @property
    def missed(self) -> bool:
        fever = any(t is not None and t >= FEVER_C for t in (self.operator_c, self.applicant_c))
        return fever or any(value is False for value in self.checks.values())

    def temperature(self, which: str) -> str:
        value = self.operator_c if which == "operator" else self.applicant_c
        return celsius(value)

    def fever(self, which: str) -> bool:
        value = self.operator_c if which == "operator" else self.applicant_c
        return value is not None and value >= FEVER_C

    @property
    def check_items(self) -> list[tuple[str, str, bool]]:
        """(label, yes/no words, passed) of each yes/no check."""
        return [
            (label, _("ya") if self.checks.get(name) else _("tidak"), bool(self.checks.get(name)))
            for name, label in HEALTH_CHECKS.items()
        ]


def celsius(value: float | None) -> str:
    """A temperature as the person reads it: "37,8 °C" in Indonesian, "37.8 °C" in English."""
    if value is None:
        return "-"
    text = f"{value:.1f}"
    return (text if current_language() == "en" else text.replace(".", ",")) + " °C"


@dataclass(frozen=True)
class EarlierVisit:
    """A visit of the same resident before this one: when, which van, what came of it and why."""

    visit_id: str
    at: str
    van: str
    outcome: str
    captures: tuple[Capture, ...]


@dataclass(frozen=True)
class Visit:
    """One visit of the day, as the page tells it."""

    visit_id: str
    van: str
    at: str
    resident_name: str
    resident_nik: str  # masked
    operators: tuple[str, ...]
    outcome: str
    captures: tuple[Capture, ...]
    health: Health
    earlier: tuple[EarlierVisit, ...]

    @property
    def needs_reading(self) -> bool:
        return bool(self.earlier) or self.health.missed or bool(self.health.emergency_reason)


@dataclass(frozen=True)
class VisitDay:
    """One day's visits of an office, per van (van id, then time)."""

    day: str
    vans: dict[str, list[Visit]]
    truncated: bool

    @property
    def revisits(self) -> int:
        return sum(1 for visits in self.vans.values() for v in visits if v.earlier)

    @property
    def emergencies(self) -> int:
        return sum(1 for visits in self.vans.values() for v in visits if v.health.missed)


def failed_captures(visit: JSONDict) -> tuple[Capture, ...]:
    """The captures of a visit that failed or were not attempted, with their reasons, in the van's order."""
    captures = visit.get("captures") if isinstance(visit.get("captures"), dict) else {}
    found: list[Capture] = []
    for part in CAPTURES:
        capture = captures.get(part) if isinstance(captures, dict) else None
        if isinstance(capture, dict) and capture.get("status") in ("failed", "not_attempted"):
            found.append(Capture(part, str(capture["status"]), str(capture.get("reason") or "")))
    return tuple(found)


def health_of(visit: JSONDict) -> Health:
    health = visit.get("health") if isinstance(visit.get("health"), dict) else {}
    assert isinstance(health, dict)

    def number(name: str) -> float | None:
        value = health.get(name)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    return Health(
        operator_c=number("operator_temperature_c"),
        applicant_c=number("applicant_temperature_c"),
        checks={
            name: health.get(name) if isinstance(health.get(name), bool) else None for name in HEALTH_CHECKS
        },
        emergency_reason=str(visit.get("emergency_reason") or ""),
    )


def earlier_visits(visits: list[JSONDict], resident_rows: list[JSONDict]) -> dict[str, list[str]]:
    """Visit id -> ids of the same resident's visits before it (oldest first), from `visits/by_resident` rows.

    "Before" is by instant (device times carry their own offsets), then by id, so two visits written at the
    same second still have one order, whatever order the view gave the rows in.
    """
    by_nik: dict[str, list[tuple[float, str]]] = {}
    for row in resident_rows:
        _, nik = row["key"]
        moment = instant((row.get("value") or [None])[0])
        by_nik.setdefault(str(nik), []).append((moment, str(row["id"])))
    found: dict[str, list[str]] = {}
    for visit in visits:
        mine = (instant(visit.get("device_time")), str(visit["_id"]))
        before = sorted(seen for seen in by_nik.get(str(visit.get("resident_nik")), []) if seen < mine)
        if before:
            found[str(visit["_id"])] = [visit_id for _, visit_id in before]
    return found


async def load_day(ledger: Ledger, office: str, day: str, names: dict[str, str]) -> VisitDay:
    """Every visit of `office` on `day` with who was recorded before and the health check, in 3 requests.

    `names` maps operator user ids to their names (the identity database; an unknown id is shown as is).
    """
    rows = await ledger.records.view(
        "visits",
        "by_day",
        startkey=key([office, day]),
        endkey=key([office, day, {}]),
        include_docs=True,
        limit=DAY_LIMIT + 1,
    )
    visits = [row["doc"] for row in rows["rows"][:DAY_LIMIT] if row.get("doc")]
    niks = sorted({str(v["resident_nik"]) for v in visits if v.get("resident_nik")})
    resident_rows = await view_keys(ledger.records, "visits", "by_resident", [[office, nik] for nik in niks])
    before = earlier_visits(visits, resident_rows)
    known = {str(v["_id"]): v for v in visits}
    missing = sorted({i for ids in before.values() for i in ids} - known.keys())
    known.update(await docs_by_ids(ledger.records, missing))
    vans: dict[str, list[Visit]] = {}
    for doc in visits:
        earlier = tuple(_earlier(known[i]) for i in before.get(str(doc["_id"]), []) if i in known)
        vans.setdefault(str(doc.get("van")), []).append(_visit(doc, names, earlier))
    return VisitDay(day, dict(sorted(vans.items())), truncated=len(rows["rows"]) > DAY_LIMIT)


def _earlier(doc: JSONDict) -> EarlierVisit:
    return EarlierVisit(
        str(doc["_id"]),
        str(doc.get("device_time") or ""),
        str(doc.get("van") or ""),
        str(doc.get("outcome") or ""),
        failed_captures(doc),
    )


def _visit(doc: JSONDict, names: dict[str, str], earlier: tuple[EarlierVisit, ...]) -> Visit:
    operators = doc.get("operators") if isinstance(doc.get("operators"), list) else [doc.get("author")]
    assert isinstance(operators, list)
    return Visit(
        visit_id=str(doc["_id"]),
        van=str(doc.get("van") or ""),
        at=str(doc.get("device_time") or ""),
        resident_name=str(doc.get("resident_name") or ""),
        resident_nik=mask_nik(str(doc.get("resident_nik") or "")),
        operators=tuple(names.get(str(o), str(o)) for o in operators if o),
        outcome=str(doc.get("outcome") or ""),
        captures=failed_captures(doc),
        health=health_of(doc),
        earlier=earlier,
    )
