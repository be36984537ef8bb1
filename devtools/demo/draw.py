"""The demo's one random source and what must stay unique across the whole demo (NIKs, receipt codes, seal
numbers), with the drawing of invented people, addresses, places and ids from it.

Every record of the demo is drawn from this one seeded `random.Random`, in the order the generator asks, so
the same seed and day give the same records: a new draw belongs at the end of a step, not in the middle.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from devtools.demo.office import (
    FEMALE_NAMES,
    FEMALE_SURNAMES,
    KECAMATAN,
    MALE_NAMES,
    MALE_SURNAMES,
    OFFICE_CODE,
    PHONE_PREFIXES,
    WITA,
    Kecamatan,
)
from records.types import JSONDict

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RECEIPT_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


class Resident(NamedTuple):
    name: str
    nik: str
    kecamatan: Kecamatan


class Drawer:
    """Holds the random source, the demo's "now" and the counters that must stay unique across the demo."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self.niks: set[str] = set()
        self.receipt_codes: set[str] = set()
        self.next_seal = 12001

    def resident(self, on: date, youngest: int, oldest: int, kecamatan: Kecamatan | None = None) -> Resident:
        female = self.rng.random() < 0.5
        first = self.rng.choice(FEMALE_NAMES if female else MALE_NAMES)
        last = self.rng.choice(FEMALE_SURNAMES if female else MALE_SURNAMES)
        place = kecamatan or self.rng.choice(KECAMATAN)
        while True:
            born = on - timedelta(days=self.rng.randint(youngest * 365 + 1, oldest * 365 + 364))
            day = born.day + 40 if female else born.day
            serial = self.rng.randint(1, 2999)
            nik = f"{OFFICE_CODE}{place.code}{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"
            if nik not in self.niks:
                self.niks.add(nik)
                return Resident(f"{first} {last}", nik, place)

    def address(self, kecamatan: Kecamatan) -> JSONDict:
        kelurahan, postal_code = self.rng.choice(kecamatan.kelurahan)
        street = f"{self.rng.choice(kecamatan.streets)} No. {self.rng.randint(1, 180)}"
        if self.rng.random() < 0.3:
            street += f", Gg. {self.rng.choice(('Mawar', 'Melati', 'Kenanga', 'Damai', 'Family', 'Harapan'))}"
        address: JSONDict = {
            "street": street,
            "rt": f"{self.rng.randint(1, 60):03d}",
            "rw": f"{self.rng.randint(1, 12):03d}",
            "kelurahan": kelurahan,
            "kecamatan": kecamatan.name,
            "city": "Kota Balikpapan",
            "province": "Kalimantan Timur",
            "postal_code": postal_code,
        }
        if self.rng.random() < 0.7:
            address["lat"] = round(kecamatan.centre[0] + self.rng.uniform(-0.012, 0.012), 5)
            address["lon"] = round(kecamatan.centre[1] + self.rng.uniform(-0.012, 0.012), 5)
        return address

    def phone(self) -> str:
        return f"08{self.rng.choice(PHONE_PREFIXES)}{self.rng.randint(0, 99_999_999):08d}"

    def receipt_code(self) -> str:
        while True:
            code = "".join(self.rng.choice(_RECEIPT_ALPHABET) for _ in range(6))
            if code not in self.receipt_codes:
                self.receipt_codes.add(code)
                return code

    def seal_number(self) -> str:
        number = f"BP{self.next_seal:08d}"
        self.next_seal += 1
        return number

    def ulid(self, when: datetime) -> str:
        """A ULID (time-ordered id, as the PWA makes them) drawn from the seeded random source."""
        value = (int(when.timestamp() * 1000) << 80) | self.rng.getrandbits(80)
        return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))

    def office_hours(self, moment: datetime) -> datetime:
        """Move a moment into office hours (08:00-15:00 WITA, Monday to Saturday), keeping the day."""
        day = moment.date()
        if day.weekday() == 6:
            day -= timedelta(days=1)
        return datetime.combine(day, time(8, 0), WITA) + timedelta(seconds=self.rng.randint(0, 7 * 3600))

    def near(self, lat_lon: tuple[float, float], spread: float = 0.0004) -> JSONDict:
        return {
            "lat": round(lat_lon[0] + self.rng.uniform(-spread, spread), 5),
            "lon": round(lat_lon[1] + self.rng.uniform(-spread, spread), 5),
            "accuracy_m": self.rng.choice((4, 6, 8, 10, 12, 15, 25)),
        }


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
