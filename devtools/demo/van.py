"""The mobile van's week in the demo: its schedule of stops and the e-KTP recordings made at them."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from devtools.demo.draw import Drawer, iso
from devtools.demo.office import CAPTURE_DEVICE, KECAMATAN, OFFICE_CODE, STOPS, USERS, VAN, WITA, Kecamatan
from records.types import JSONDict


def schedule(draw: Drawer) -> list[JSONDict]:
    """One stop a day from three days ago on (none on Sundays), each with the residents it expects."""
    stops = []
    day = draw.now.date() - timedelta(days=3)
    for slug, place, address, kecamatan in STOPS:
        if day.weekday() == 6:  # no van on Sundays
            day += timedelta(days=1)
        stops.append(
            {
                "_id": f"stop:{day:%Y%m%d}-{slug}",
                "type": "stop",
                "office": OFFICE_CODE,
                "van": VAN,
                "date": day.isoformat(),
                "place_name": place,
                "address": f"{address}, {KECAMATAN[kecamatan].name}, Kota Balikpapan",
                "kecamatan": KECAMATAN[kecamatan].name,
                "planned_residents": draw.rng.randint(8, 25),
            }
        )
        day += timedelta(days=1)
    return stops


def visits(draw: Drawer, schedule: list[JSONDict]) -> list[JSONDict]:
    """Twenty recordings at the stops up to today, a few failed or to be repeated, one an emergency."""
    past = [stop for stop in schedule if date.fromisoformat(stop["date"]) <= draw.now.date()]
    operators = [user["id"] for user in USERS if user["role"] == "van_operator"]
    visits: list[JSONDict] = []
    for number in range(20):
        stop = past[number % len(past)]
        kecamatan = next(k for k in KECAMATAN if k.name == stop["kecamatan"])
        start = datetime.combine(date.fromisoformat(stop["date"]), time(9, 0), WITA)
        when = start + timedelta(minutes=12 * (number // len(past)) + draw.rng.randint(0, 9))
        emergency = stop["_id"].endswith("rsud-beriman") and number < len(past)
        visits.append(_visit(draw, number, stop, kecamatan, when, operators, emergency=emergency))
    return visits


def _visit(
    draw: Drawer,
    number: int,
    stop: JSONDict,
    kecamatan: Kecamatan,
    when: datetime,
    operators: list[str],
    *,
    emergency: bool,
) -> JSONDict:
    resident = draw.resident(when.date(), 17, 80, kecamatan)
    captured = {"status": "captured"}
    visit: JSONDict = {
        "_id": f"visit:{draw.ulid(when)}",
        "type": "visit",
        "schema_version": 1,
        "office": OFFICE_CODE,
        "created_at": iso(when + timedelta(seconds=20)),
        "author": operators[number % 2],
        "van": VAN,
        "operators": list(operators),
        "stop_id": stop["_id"],
        "resident_nik": resident.nik,
        "resident_name": resident.name,
        "health": {
            "operator_temperature_c": round(draw.rng.uniform(36.0, 36.9), 1),
            "applicant_temperature_c": round(draw.rng.uniform(36.0, 37.2), 1),
            "equipment_disinfected": True,
            "gloves_and_masks": True,
            "hand_sanitiser": True,
        },
        "captures": {
            "fingerprints": {"status": "captured", "fingers_captured": 10},
            "iris": dict(captured),
            "face": dict(captured),
            "signature": dict(captured),
        },
        "capture_device_serial": CAPTURE_DEVICE,
        "outcome": "recorded",
        "device_time": iso(when),
    }
    if emergency:  # the hospital stop: a feverish patient who needs the e-KTP now
        visit["health"]["applicant_temperature_c"] = 37.9
        visit["emergency_reason"] = (
            "Pemohon pasien rawat inap yang membutuhkan e-KTP untuk penjaminan BPJS sebelum operasi; "
            "perekaman di samping tempat tidur dengan APD lengkap atas persetujuan dokter jaga."
        )
    elif number in (5, 13):
        visit["captures"]["fingerprints"] = {
            "status": "failed",
            "fingers_captured": 0,
            "reason": "Sidik jari aus (pekerja bangunan), tidak terbaca setelah tiga kali percobaan.",
        }
        visit["outcome"] = "failed"
    elif number in (8, 17):
        visit["captures"]["iris"] = {
            "status": "not_attempted",
            "reason": "Kamera iris tidak terbaca, baterai lemah.",
        }
        visit["outcome"] = "revisit_needed"
    return visit
