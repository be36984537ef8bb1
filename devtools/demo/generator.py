"""Invented but realistic demo data for one office, Disdukcapil Kota Balikpapan (6471).

The demo has to look like a real fortnight at the office, so that every page has something true to show:
documents in every state, handoff chains that verify, a seal broken on the way, a lost envelope, a reprint,
and a week of mobile-van recording. Everything comes from one seeded `random.Random`, so a seed and a date
always give the same records (tests rely on it), and nothing here does I/O: `devtools/demo/loader.py`
writes it.

Every name, NIK, phone number and address below is made up. Every record passes
`records.schemas.validate_record`.
"""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import NamedTuple

from devtools.demo.photos import SIZE, seal_photo
from records.custody import record_hash
from records.types import JSONDict

OFFICE_CODE = "6471"
OFFICE_NAME = "Disdukcapil Kota Balikpapan"
OFFICE_PLACE = (-1.26950, 116.82750)
VAN = "van-balikpapan-1"
CAPTURE_DEVICE = "BIO-KIT-BPN-0021"
WITA = timezone(timedelta(hours=8), "WITA")
DOCUMENT_COUNT = 200

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RECEIPT_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


class Kecamatan(NamedTuple):
    name: str
    code: str  # the district digits 5-6 of a NIK registered there
    centre: tuple[float, float]
    kelurahan: tuple[tuple[str, str], ...]  # (name, postal code)
    streets: tuple[str, ...]


# fmt: off
KECAMATAN = (
    Kecamatan(
        "Balikpapan Kota", "06", (-1.2745, 116.8290),
        (("Klandasan Ilir", "76112"), ("Klandasan Ulu", "76112"), ("Prapatan", "76111"),
         ("Telaga Sari", "76112"),
         ("Damai", "76114")),
        ("Jl. Jenderal Sudirman", "Jl. Ahmad Yani", "Jl. Pangeran Antasari", "Jl. Dondang",
         "Jl. Kapten Tendean"),
    ),
    Kecamatan(
        "Balikpapan Selatan", "05", (-1.2610, 116.8790),
        (("Sepinggan", "76115"), ("Sepinggan Baru", "76115"), ("Sepinggan Raya", "76115"),
         ("Gunung Bahagia", "76114"),
         ("Damai Baru", "76114"), ("Damai Bahagia", "76114"), ("Sungai Nangka", "76114")),
        ("Jl. MT Haryono", "Jl. Marsma R. Iswahyudi", "Jl. Syarifuddin Yoes", "Jl. Prapatan Dalam",
         "Jl. Beller"),
    ),
    Kecamatan(
        "Balikpapan Utara", "03", (-1.2210, 116.8690),
        (("Batu Ampar", "76136"), ("Graha Indah", "76127"), ("Gunung Samarinda", "76125"),
         ("Gunung Samarinda Baru", "76125"), ("Karang Joang", "76127"), ("Muara Rapak", "76125")),
        ("Jl. Soekarno-Hatta", "Jl. Ruhui Rahayu", "Jl. Pupuk Raya", "Jl. Sepakat", "Jl. Batu Ampar"),
    ),
    Kecamatan(
        "Balikpapan Timur", "01", (-1.2260, 116.9740),
        (("Manggar", "76116"), ("Manggar Baru", "76116"), ("Lamaru", "76117"), ("Teritip", "76117")),
        ("Jl. Mulawarman", "Jl. Manunggal", "Jl. Pantai Lamaru", "Jl. Marsma R. Iswahyudi"),
    ),
    Kecamatan(
        "Balikpapan Barat", "02", (-1.2330, 116.8160),
        (("Baru Ilir", "76131"), ("Baru Tengah", "76132"), ("Baru Ulu", "76133"), ("Margasari", "76131"),
         ("Marga Mulya", "76131"), ("Kariangau", "76134")),
        ("Jl. Letjen Soeprapto", "Jl. Sulawesi", "Jl. Kariangau", "Jl. Pandan Sari", "Jl. Tanjung Pura"),
    ),
    Kecamatan(
        "Balikpapan Tengah", "04", (-1.2450, 116.8450),
        (("Gunung Sari Ilir", "76121"), ("Gunung Sari Ulu", "76122"), ("Karang Jati", "76123"),
         ("Karang Rejo", "76124"), ("Mekar Sari", "76122"), ("Sumber Rejo", "76123")),
        ("Jl. Imam Bonjol", "Jl. Gajah Mada", "Jl. Sumber Rejo", "Jl. Gunung Sari", "Jl. Ahmad Yani"),
    ),
)

MALE_NAMES = (
    "Ahmad", "Muhammad", "Budi", "Agus", "Dedi", "Eko", "Fajar", "Hendra", "Irfan", "Joko", "Rahmat", "Rizky",
    "Syahrul", "Taufik", "Wahyu", "Yusuf", "Arif", "Bayu", "Dimas", "Hasan", "Ilham", "Lukman", "Reza",
    "Gusti",
)
FEMALE_NAMES = (
    "Siti", "Nur", "Dewi", "Sri", "Ayu", "Fitri", "Indah", "Maya", "Nurul", "Putri", "Rina", "Rahma", "Sari",
    "Wulan", "Yuliana", "Aisyah", "Annisa", "Dian", "Ratna", "Hj. Aminah",
)
MALE_SURNAMES = (
    "Saputra", "Pratama", "Wijaya", "Santoso", "Hidayat", "Nugroho", "Setiawan", "Kurniawan", "Rahman",
    "Syahputra", "Hasanuddin", "Ramadhan", "Mahmud", "Firmansyah", "Gunawan",
)
FEMALE_SURNAMES = (
    "Rahmawati", "Lestari", "Wulandari", "Handayani", "Puspitasari", "Maharani", "Anggraini", "Fitriani",
    "Safitri", "Ningsih", "Hasanah", "Kartika",
)
PHONE_PREFIXES = ("11", "12", "13", "21", "22", "52", "53", "51", "14", "15", "16", "17", "18", "19", "59",
                  "77", "78", "95", "96", "97", "31", "38", "81", "82", "83", "85", "87", "88", "89")
RELATIONS = ("istri", "suami", "anak", "orang tua", "kakak", "adik", "tetangga", "ketua RT")

USERS: tuple[JSONDict, ...] = (
    {"id": "rina.wulandari", "name": "Rina Wulandari", "role": "admin"},
    {"id": "budi.santoso", "name": "Budi Santoso", "role": "staff"},
    {"id": "siti.rahmawati", "name": "Siti Rahmawati", "role": "staff"},
    {"id": "gojek.andi", "name": "Andi Saputra", "role": "courier", "partner": "gojek"},
    {"id": "gojek.fajar", "name": "Fajar Hidayat", "role": "courier", "partner": "gojek"},
    {"id": "grab.dedi", "name": "Dedi Kurniawan", "role": "courier", "partner": "grab"},
    {"id": "grab.yusuf", "name": "Yusuf Ramadhan", "role": "courier", "partner": "grab"},
    {"id": "pos.hendra", "name": "Hendra Wijaya", "role": "courier", "partner": "pos_indonesia"},
    {"id": "pos.rahmat", "name": "Rahmat Syahputra", "role": "courier", "partner": "pos_indonesia"},
    {"id": "van.agus", "name": "Agus Setiawan", "role": "van_operator", "van": VAN},
    {"id": "van.nurul", "name": "Nurul Hasanah", "role": "van_operator", "van": VAN},
)

# Each document follows one of these stories; the weights give a plausible mix for an office's fortnight.
STORIES: tuple[tuple[str, int], ...] = (
    ("registered", 8), ("sealed", 12), ("assigned", 5), ("in_transit", 15), ("delivered", 32),
    ("delivered_to_representative", 8), ("self_pickup", 6), ("failed_then_delivered", 5),
    ("failed_pending", 3),
    ("returned", 3), ("lost", 2), ("reprinted", 2),
)
# doc_kind, weight, youngest and oldest age of the person the document is for.
DOC_KINDS: tuple[tuple[str, int, int, int], ...] = (
    ("ektp", 45, 17, 75), ("kk", 20, 25, 70), ("kia", 15, 1, 16), ("akta_kelahiran", 15, 0, 1),
    ("surat_pindah", 5, 20, 60),
)

# Van stops, one a day around "today": id slug, place, address, index into KECAMATAN.
STOPS: tuple[tuple[str, str, str, int], ...] = (
    ("kariangau", "Kantor Kelurahan Kariangau", "Jl. Kariangau Km. 5, Kariangau", 4),
    ("sman5", "SMA Negeri 5 Balikpapan", "Jl. Sepakat, Gunung Samarinda Baru", 2),
    ("rsud-beriman", "RSUD Beriman Balikpapan", "Jl. Mayjen Sutoyo, Gunung Sari Ilir", 5),
    ("teritip", "Balai Warga RT 012 Teritip", "Jl. Mulawarman RT 012, Teritip", 3),
    ("kec-selatan", "Aula Kantor Kecamatan Balikpapan Selatan", "Jl. Marsma R. Iswahyudi, Sepinggan", 1),
    ("panti-werdha", "Panti Werdha Kasih Bunda", "Jl. Pangeran Antasari, Prapatan", 0),
)
# fmt: on


@dataclass
class DemoData:
    """The demo office, its users, the synced records and the van's schedule (plain dicts, not records)."""

    office: dict[str, str]
    users: list[JSONDict]
    records: list[JSONDict] = field(default_factory=list)
    schedule: list[JSONDict] = field(default_factory=list)


#: Signs one chained handoff as its author's passkey would: returns the handoff's `signature` object.
Signer = Callable[[JSONDict], JSONDict]
#: Handoffs recorded at the desk (office to office) are the office's own: unsigned, with the desk's reason.
DESK_REASON = "dicatat oleh petugas kantor di meja layanan (tanpa passkey)"
#: Without a signer, the handoffs a passkey would have signed say so instead.
NO_SIGNER_REASON = "data demo tanpa tanda tangan"
#: What a courier types when the passkey does not open; about one handoff in fifteen in the demo.
UNSIGNED_REASONS = (
    "Baterai ponsel hampir habis, passkey tidak bisa dibuka.",
    "Sidik jari tidak terbaca, tangan basah kena hujan.",
    "Ponsel baru, passkey belum didaftarkan ulang.",
    "Penerima terburu-buru, serah terima dicatat tanpa tanda tangan.",
)
UNSIGNED_SHARE = 0.07


def generate_demo(
    seed: int = 20261123, today: date | None = None, *, signer: Signer | None = None
) -> DemoData:
    """Build the demo for `today` (default: the real today); the same seed and day give the same data.

    With a `signer`, handoffs are signed as their authors' phones would have signed them (the demo loader
    signs with keys that exist only while it runs); without one they carry `NO_SIGNER_REASON` instead. Either
    way every record passes the schemas and every chain verifies.
    """
    day = today or date.today()
    now = datetime.combine(day, time(16, 0), WITA)
    maker = _Maker(random.Random(seed), now, signer)
    records = maker.documents(DOCUMENT_COUNT)
    schedule = maker.schedule()
    records.extend(maker.visits(schedule))
    people = demo_people()
    return DemoData(office=people.office, users=people.users, records=records, schedule=schedule)


def demo_people() -> DemoData:
    """The demo office and its users only: what identity needs, without drawing three weeks of records."""
    office = {
        "code": OFFICE_CODE,
        "name": OFFICE_NAME,
        "city": "Kota Balikpapan",
        "address": "Jl. Jenderal Sudirman No. 1, Klandasan Ulu, Balikpapan Kota, Balikpapan 76112",
    }
    return DemoData(office=office, users=[{**user, "office": OFFICE_CODE} for user in USERS])


class _Resident(NamedTuple):
    name: str
    nik: str
    kecamatan: Kecamatan


class _Maker:
    """Holds the random source and the counters that must stay unique across the whole demo."""

    def __init__(self, rng: random.Random, now: datetime, signer: Signer | None = None) -> None:
        self.rng = rng
        self.now = now
        self.signer = signer
        self.niks: set[str] = set()
        self.receipt_codes: set[str] = set()
        self.next_seal = 12001
        self.couriers = [user for user in USERS if user["role"] == "courier"]
        self.staff = [user for user in USERS if user["role"] == "staff"]

    # ---- documents and their custody ------------------------------------------------------------------

    def documents(self, count: int) -> list[JSONDict]:
        starts = sorted(
            self._office_hours(self.now - timedelta(days=self.rng.uniform(0.2, 21))) for _ in range(count)
        )
        stories = [name for name, _ in STORIES]
        weights = [weight for _, weight in STORIES]
        records: list[JSONDict] = []
        handoffs: list[JSONDict] = []
        for created in starts:
            story = self.rng.choices(stories, weights)[0]
            document, events, extra = self._document(created, story)
            records.append(document)
            records.extend(extra)
            records.extend(events)
            handoffs.extend(events)
        self._number_and_chain(handoffs)
        return records

    def _document(self, created: datetime, story: str) -> tuple[JSONDict, list[JSONDict], list[JSONDict]]:
        kind, _, youngest, oldest = self.rng.choices(DOC_KINDS, [weight for _, weight, _, _ in DOC_KINDS])[0]
        resident = self._resident(created.date(), youngest, oldest)
        staff = self.rng.choice(self.staff)
        delivery = {"registered": "undecided", "self_pickup": "self_pickup"}.get(story, "courier")
        if story == "sealed" and self.rng.random() < 0.3:
            delivery = "self_pickup"
        document: JSONDict = {
            "_id": f"document:{self.ulid(created)}",
            "type": "document",
            "schema_version": 1,
            "office": OFFICE_CODE,
            "created_at": _iso(created),
            "author": staff["id"],
            "doc_kind": kind,
            "resident": {
                "name": resident.name,
                "nik": resident.nik,
                "address": self._address(resident.kecamatan),
                "phone": self._phone(),
            },
            "receipt_code": self._receipt_code(),
            "delivery": delivery,
        }
        if story == "registered":
            return document, [], []
        story_events = _Story(self, document, created, staff)
        story_events.tell(story)
        return document, story_events.handoffs, story_events.extra

    def _number_and_chain(self, handoffs: list[JSONDict]) -> None:
        """Give each author's handoffs increasing `seq`, chain each document's handoffs by hash, then sign.

        `unsigned_reason` is part of the hash and `signature` is not, so whether a handoff is signed is
        settled before chaining and the signatures are added after it.
        """
        to_sign = [handoff for handoff in handoffs if handoff.get("unsigned_reason") == NO_SIGNER_REASON]
        if self.signer is not None:
            for handoff in to_sign:
                del handoff["unsigned_reason"]
        seq: dict[str, int] = {}
        for handoff in sorted(handoffs, key=lambda h: (h["device_time"], h["_id"])):
            seq[handoff["author"]] = seq.get(handoff["author"], 0) + 1
            handoff["seq"] = seq[handoff["author"]]
        previous: dict[str, JSONDict] = {}
        for handoff in handoffs:  # already in order within each document
            before = previous.get(handoff["document_id"])
            handoff["prev_hash"] = record_hash(before) if before is not None else None
            previous[handoff["document_id"]] = handoff
        if self.signer is not None:
            for handoff in to_sign:
                handoff["signature"] = self.signer(handoff)

    # ---- van schedule and visits ----------------------------------------------------------------------

    def schedule(self) -> list[JSONDict]:
        stops = []
        day = self.now.date() - timedelta(days=3)
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
                    "planned_residents": self.rng.randint(8, 25),
                }
            )
            day += timedelta(days=1)
        return stops

    def visits(self, schedule: list[JSONDict]) -> list[JSONDict]:
        past = [stop for stop in schedule if date.fromisoformat(stop["date"]) <= self.now.date()]
        operators = [user["id"] for user in USERS if user["role"] == "van_operator"]
        visits: list[JSONDict] = []
        for number in range(20):
            stop = past[number % len(past)]
            kecamatan = next(k for k in KECAMATAN if k.name == stop["kecamatan"])
            start = datetime.combine(date.fromisoformat(stop["date"]), time(9, 0), WITA)
            when = start + timedelta(minutes=12 * (number // len(past)) + self.rng.randint(0, 9))
            emergency = stop["_id"].endswith("rsud-beriman") and number < len(past)
            visits.append(self._visit(number, stop, kecamatan, when, operators, emergency=emergency))
        return visits

    def _visit(
        self,
        number: int,
        stop: JSONDict,
        kecamatan: Kecamatan,
        when: datetime,
        operators: list[str],
        *,
        emergency: bool,
    ) -> JSONDict:
        resident = self._resident(when.date(), 17, 80, kecamatan)
        captured = {"status": "captured"}
        visit: JSONDict = {
            "_id": f"visit:{self.ulid(when)}",
            "type": "visit",
            "schema_version": 1,
            "office": OFFICE_CODE,
            "created_at": _iso(when + timedelta(seconds=20)),
            "author": operators[number % 2],
            "van": VAN,
            "operators": list(operators),
            "stop_id": stop["_id"],
            "resident_nik": resident.nik,
            "resident_name": resident.name,
            "health": {
                "operator_temperature_c": round(self.rng.uniform(36.0, 36.9), 1),
                "applicant_temperature_c": round(self.rng.uniform(36.0, 37.2), 1),
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
            "device_time": _iso(when),
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

    # ---- invented people and places -------------------------------------------------------------------

    def _resident(
        self, on: date, youngest: int, oldest: int, kecamatan: Kecamatan | None = None
    ) -> _Resident:
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
                return _Resident(f"{first} {last}", nik, place)

    def _address(self, kecamatan: Kecamatan) -> JSONDict:
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

    def _phone(self) -> str:
        return f"08{self.rng.choice(PHONE_PREFIXES)}{self.rng.randint(0, 99_999_999):08d}"

    def _receipt_code(self) -> str:
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

    def _office_hours(self, moment: datetime) -> datetime:
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


class _Story:
    """Plays one document's custody story forward in time, stopping at "now" like real life would."""

    def __init__(self, maker: _Maker, document: JSONDict, created: datetime, staff: JSONDict) -> None:
        self.maker = maker
        self.rng = maker.rng
        self.document = document
        self.clock = created
        self.staff = staff
        self.courier = maker.rng.choice(maker.couriers)
        self.handoffs: list[JSONDict] = []
        self.extra: list[JSONDict] = []
        self.seal = ""
        address = document["resident"]["address"]
        kecamatan = next(k for k in KECAMATAN if k.name == address["kecamatan"])
        self.home = (address["lat"], address["lon"]) if "lat" in address else kecamatan.centre

    def tell(self, story: str) -> None:
        if not self._seal():
            return
        if story == "self_pickup":
            self._handoff(
                "delivered",
                self._office(),
                self._resident(),
                hours=(1, 72),
                at_office=True,
                receipt_code=self.document["receipt_code"],
            )
        if story in ("sealed", "self_pickup") or not self._assign() or story == "assigned":
            return
        if not self._handoff("picked_up", self._office(), self._courier(), hours=(0.5, 20), at_office=True):
            return
        if story == "in_transit":
            if self.rng.random() < 0.25:
                self._complaint(
                    "not_received",
                    self.staff["id"],
                    "phone",
                    "Warga menelepon: status dokumen sudah dibawa kurir tapi belum sampai di rumah.",
                )
            return
        if story in ("failed_then_delivered", "failed_pending", "returned"):
            reason = self.rng.choice(("not_at_home", "not_at_home", "address_not_found", "refused"))
            if (
                not self._handoff(
                    "failed_attempt", self._courier(), self._courier(), hours=(1, 8), failure_reason=reason
                )
                or story == "failed_pending"
            ):
                return
            if story == "returned":
                self._handoff(
                    "returned",
                    self._courier(),
                    self._office(),
                    hours=(4, 30),
                    at_office=True,
                    note="Dua kali gagal antar, dikembalikan ke kantor untuk diambil sendiri.",
                )
                return
        if story == "lost":
            self._handoff(
                "lost",
                self._courier(),
                self._office(),
                hours=(2, 30),
                seal_missing=True,
                note="Kurir melaporkan tas berisi dokumen hilang di perjalanan; laporan polisi dibuat.",
            )
        elif story == "reprinted":
            self._reprint()
        else:
            self._deliver(to_representative=story == "delivered_to_representative")

    def _deliver(self, to_representative: bool) -> None:
        condition, scanned, note = "intact", self.seal, None
        roll = self.rng.random()
        if roll < 0.05:
            condition, note = "damaged", "Segel sobek di salah satu sisi, amplop masih tertutup."
        elif roll < 0.08:
            scanned = (
                self.seal[:-2] + self.seal[-1] + self.seal[-2]
            )  # a transposed digit: mismatch to follow up
            note = "Nomor segel tidak sesuai saat dipindai."
        if to_representative:
            name = f"{self.rng.choice(FEMALE_NAMES + MALE_NAMES)} {self.rng.choice(MALE_SURNAMES)}"
            receiver = {"party": "representative", "name": name}
            proof: JSONDict = {"representative": {"name": name, "relation": self.rng.choice(RELATIONS)}}
        else:
            receiver, proof = self._resident(), {"receipt_code": self.document["receipt_code"]}
        done = self._handoff(
            "delivered",
            self._courier(),
            receiver,
            hours=(1, 10),
            scanned=scanned,
            condition=condition,
            note=note,
            **proof,
        )
        if done and condition == "damaged":
            self._complaint(
                "seal_broken",
                "resident",
                "resident_page",
                "Amplop diterima dengan segel sobek. Isinya lengkap tapi mohon dicek karena saya khawatir.",
            )

    def _reprint(self) -> None:
        """Rain-soaked envelope: returned with a damaged seal, reprinted, sealed again and delivered."""
        if not self._handoff(
            "returned",
            self._courier(),
            self._office(),
            hours=(1, 8),
            at_office=True,
            condition="damaged",
            note="Amplop basah kena hujan, segel rusak; dikembalikan.",
        ):
            return
        if not self._handoff(
            "reprinted",
            self._office(),
            self._office(),
            hours=(2, 24),
            at_office=True,
            condition="damaged",
            note="Dokumen lama dibatalkan dan dicetak ulang.",
        ):
            return
        if self._seal() and self._handoff(
            "picked_up", self._office(), self._courier(), hours=(1, 20), at_office=True
        ):
            self._deliver(to_representative=False)

    def _seal(self) -> bool:
        when = self._advance(0.5, 26)
        if when is None:
            return False
        self.seal = self.maker.seal_number()
        self.extra.append(
            {
                "_id": f"seal:{OFFICE_CODE}:{self.seal}",
                "type": "seal",
                "schema_version": 1,
                "office": OFFICE_CODE,
                "created_at": _iso(when + timedelta(seconds=5)),
                "author": self.staff["id"],
                "number": self.seal,
                "document_id": self.document["_id"],
                "bound_at": _iso(when),
            }
        )
        return self._handoff("sealed", self._office(), self._office(), hours=(0.01, 0.02), at_office=True)

    def _assign(self) -> bool:
        when = self._advance(0.2, 6)
        if when is None:
            return False
        self.document["assignment"] = {
            "courier": self.courier["id"],
            "partner": self.courier["partner"],
            "batch": f"B{when:%Y%m%d}-{self.rng.randint(1, 3)}",
            "assigned_at": _iso(when),
        }
        return True

    def _handoff(
        self,
        kind: str,
        giver: JSONDict,
        taker: JSONDict,
        *,
        hours: tuple[float, float],
        at_office: bool = False,
        scanned: str | None = None,
        seal_missing: bool = False,
        condition: str = "intact",
        note: str | None = None,
        **proof: object,
    ) -> bool:
        """Record one handoff some hours after the previous event; False when that moment is still to come.

        Handoffs at the office are recorded by staff, the others by the courier carrying the envelope.
        """
        when = self._advance(*hours, hours=(8, 16) if at_office else (8, 20))
        if when is None:
            return False
        seal_scanned = None if seal_missing else scanned or self.seal
        handoff: JSONDict = {
            "_id": f"handoff:{self.maker.ulid(when)}",
            "type": "handoff",
            "schema_version": 1,
            "office": OFFICE_CODE,
            "created_at": _iso(when + timedelta(seconds=self.rng.randint(1, 30))),
            "author": (self.staff if at_office and kind != "picked_up" else self.courier)["id"],
            "document_id": self.document["_id"],
            "seal_number_scanned": seal_scanned,
            "seal_number_expected": self.seal,
            "seal_match": seal_scanned == self.seal,
            "kind": kind,
            "from": giver,
            "to": taker,
            "seal_condition": "missing" if seal_missing else condition,
            "place": self.maker.near(OFFICE_PLACE if at_office else self.home),
            "device_time": _iso(when),
            "seq": 1,  # renumbered per author once every story is told
            "photos": [],
            "prev_hash": None,  # chained once every story is told
            "unsigned_reason": self._unsigned_reason(giver, taker),
            **proof,
        }
        if note:
            handoff["note"] = note
        if not seal_missing:
            photo = self._photo(handoff, when)
            handoff["photos"] = [photo["_id"]]
            self.extra.append(photo)
        self.handoffs.append(handoff)
        return True

    def _unsigned_reason(self, giver: JSONDict, taker: JSONDict) -> str:
        """The desk's reason, a courier's reason now and then, else "to be signed" (see _number_and_chain)."""
        if giver["party"] == "office" and taker["party"] == "office":
            return DESK_REASON
        if self.rng.random() < UNSIGNED_SHARE:
            return self.rng.choice(UNSIGNED_REASONS)
        return NO_SIGNER_REASON

    def _photo(self, handoff: JSONDict, when: datetime) -> JSONDict:
        taken = when - timedelta(seconds=self.rng.randint(5, 40))
        photo_id = f"photo:{self.maker.ulid(taken)}"
        portrait = self.rng.random() < 0.5
        image = seal_photo(
            photo_id,
            handoff.get("seal_number_scanned"),
            portrait=portrait,
            damaged=handoff.get("seal_condition") == "damaged",
        )
        return {
            "_id": photo_id,
            "type": "photo",
            "schema_version": 1,
            "office": OFFICE_CODE,
            "created_at": _iso(taken),
            "author": handoff["author"],
            "handoff_id": handoff["_id"],
            "document_id": handoff["document_id"],
            "attachment": "seal.jpg",
            "sha256": hashlib.sha256(image).hexdigest(),
            "content_type": "image/jpeg",
            "size": len(image),
            "captured_at": _iso(taken),
            "place": handoff["place"],
            "width": SIZE[1] if portrait else SIZE[0],
            "height": SIZE[0] if portrait else SIZE[1],
            "_attachments": {
                "seal.jpg": {"content_type": "image/jpeg", "data": base64.b64encode(image).decode("ascii")}
            },
        }

    def _complaint(self, kind: str, author: str, channel: str, description: str) -> None:
        when = self._advance(1, 30, hours=(6, 22))
        if when is None:
            return
        self.extra.append(
            {
                "_id": f"complaint:{self.maker.ulid(when)}",
                "type": "complaint",
                "schema_version": 1,
                "office": OFFICE_CODE,
                "created_at": _iso(when),
                "author": author,
                "document_id": self.document["_id"],
                "kind": kind,
                "description": description,
                "channel": channel,
            }
        )

    def _advance(
        self, min_hours: float, max_hours: float, hours: tuple[int, int] = (8, 16)
    ) -> datetime | None:
        """Move the story's clock on, into working `hours`; None when that is after "now" (still to come)."""
        when = self.clock + timedelta(seconds=self.rng.randint(int(min_hours * 3600), int(max_hours * 3600)))
        opens, closes = hours
        if when.hour >= closes:
            when = datetime.combine(when.date() + timedelta(days=1), time(opens), WITA)
            when += timedelta(seconds=self.rng.randint(0, 4 * 3600))
        elif when.hour < opens:
            when = datetime.combine(when.date(), time(opens), WITA) + timedelta(
                seconds=self.rng.randint(0, 4 * 3600)
            )
        if when > self.maker.now:
            return None
        self.clock = when
        return when

    def _office(self) -> JSONDict:
        return {"party": "office", "id": OFFICE_CODE, "name": OFFICE_NAME}

    def _courier(self) -> JSONDict:
        return {"party": "courier", "id": self.courier["id"], "name": self.courier["name"]}

    def _resident(self) -> JSONDict:
        return {"party": "resident", "name": self.document["resident"]["name"]}


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
