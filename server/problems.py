"""A refused record's reasons, worded for the person at the form: the field by its name, the reason once.

`records/schemas.py` words each error for any reader, in English and starting with the field's path
("resident.nik: birth day 78 is not valid ..."), since the gateway and logs show it alone. A form already
names the field beside the reason, so here the path prefix is dropped, the field gets its label, and the
reasons a desk clerk meets most (a NIK, a missing or too long value) are said in the page's language. Other
reasons keep the validator's English words: still exact, only not translated.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from records.schemas import RecordError
from server.i18n import N_, Labels
from server.i18n import gettext as _

#: Record field paths a person types, by their label on the intake form and the CSV columns.
FIELD_LABELS = Labels(
    {
        "doc_kind": N_("Jenis"),
        "delivery": N_("Pengiriman"),
        "resident.name": N_("Nama"),
        "resident.nik": N_("NIK"),
        "resident.phone": N_("Nomor HP"),
        "resident.address.street": N_("Jalan"),
        "resident.address.rt": N_("RT"),
        "resident.address.rw": N_("RW"),
        "resident.address.kelurahan": N_("Kelurahan"),
        "resident.address.kecamatan": N_("Kecamatan"),
        "resident.address.city": N_("Kota/Kabupaten"),
        "resident.address.province": N_("Provinsi"),
        "resident.address.postal_code": N_("Kode pos"),
        "resident.address.lat": N_("Lintang"),
        "resident.address.lon": N_("Bujur"),
    }
)

_Wording = Callable[[re.Match[str]], str]

#: (the validator's English, the same reason in the catalogue's words)
_REASONS: tuple[tuple[re.Pattern[str], _Wording], ...] = (
    (
        re.compile(r"^province code (\d+) does not exist"),
        lambda m: _("kode provinsi %(value)s tidak ada (2 angka pertama harus 11-94)") % {"value": m[1]},
    ),
    (
        re.compile(r"^birth day (\d+) is not valid"),
        lambda m: (
            _("tanggal lahir %(value)s tidak valid (angka ke-7-8: 01-31, perempuan 41-71)") % {"value": m[1]}
        ),
    ),
    (
        re.compile(r"^birth month (\d+) is not valid"),
        lambda m: _("bulan lahir %(value)s tidak valid (angka ke-9-10: 01-12)") % {"value": m[1]},
    ),
    (
        re.compile(r"^birth date ([\d-]+) does not exist"),
        lambda m: _("tanggal lahir %(value)s tidak ada (angka ke-7-12: HHBBTT)") % {"value": m[1]},
    ),
    (
        re.compile(r"^serial number 0000 is not valid"),
        lambda m: _("nomor urut 0000 tidak valid (4 angka terakhir: 0001-9999)"),
    ),
    (
        re.compile(r"^must be exactly 16 digits \(this one has (\d+)\)"),
        lambda m: _("NIK harus 16 angka (ini %(n)s)") % {"n": m[1]},
    ),
    (
        re.compile(r"^must contain digits only"),
        lambda m: _("NIK hanya berisi angka (16 angka, tanpa spasi atau titik)"),
    ),
    (re.compile(r"^is required"), lambda m: _("wajib diisi")),
    (  # the values are what a CSV column must literally hold, so they stay as they are
        re.compile(r"^must be one of (.+?)(?: \(got (.+)\))?$"),
        lambda m: (
            _("harus salah satu dari %(choices)s (tertulis %(got)s)") % {"choices": m[1], "got": m[2]}
            if m[2]
            else _("harus salah satu dari %(choices)s") % {"choices": m[1]}
        ),
    ),
    (
        re.compile(r"^must be at least (\d+) characters long"),
        lambda m: _("minimal %(n)s huruf") % {"n": m[1]},
    ),
    (
        re.compile(r"^must be at most (\d+) characters long"),
        lambda m: _("maksimal %(n)s huruf") % {"n": m[1]},
    ),
)


def field_label(field: str) -> str:
    """The form's name of a record field ("resident.nik" -> "NIK"); the path itself when it has none."""
    return FIELD_LABELS.get(field) or field or _("Catatan")


def reason(error: RecordError) -> str:
    """Why the field was refused, without the field's path in front, in the page's language if known."""
    text = error.message
    if error.field and text.startswith(f"{error.field}: "):
        text = text[len(error.field) + 2 :]
    for pattern, wording in _REASONS:
        match = pattern.match(text)
        if match:
            return wording(match)
    return text


def problem_line(error: RecordError) -> str:
    """ "NIK: tanggal lahir 78 tidak valid (...)": the field once, then the reason."""
    return f"{field_label(error.field)}: {reason(error)}"
