"""The invented office the demo tells of, Disdukcapil Kota Balikpapan (6471): its districts, the names its
residents are drawn from, its staff, couriers and van crew, the van's stops and the mix of stories its
documents follow. Plain data, nothing drawn at random here.

Every name, NIK prefix, phone prefix and address below is made up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta, timezone
from typing import NamedTuple

from records.types import JSONDict

OFFICE_CODE = "6471"
OFFICE_NAME = "Disdukcapil Kota Balikpapan"
OFFICE_PLACE = (-1.26950, 116.82750)
VAN = "van-balikpapan-1"
CAPTURE_DEVICE = "BIO-KIT-BPN-0021"
WITA = timezone(timedelta(hours=8), "WITA")
DOCUMENT_COUNT = 200


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


def demo_people() -> DemoData:
    """The demo office and its users only: what identity needs, without drawing three weeks of records."""
    office = {
        "code": OFFICE_CODE,
        "name": OFFICE_NAME,
        "city": "Kota Balikpapan",
        "timezone": "Asia/Makassar",  # Kalimantan Timur: WITA (UTC+8)
        "address": "Jl. Jenderal Sudirman No. 1, Klandasan Ulu, Balikpapan Kota, Balikpapan 76112",
    }
    return DemoData(office=office, users=[{**user, "office": OFFICE_CODE} for user in USERS])


COURIERS = [user for user in USERS if user["role"] == "courier"]
STAFF = [user for user in USERS if user["role"] == "staff"]
