"""Adding a courier or a van crew member from the office's users page: the form read, checked and saved.

Staff add the people who work for their own office, and nobody else: a courier (name, delivery partner from
the labelled list, phone) or a van operator (name, van, phone). Staff accounts and admins stay with the CLI
(`segel create-user`), as does any other office. What a person typed is checked field by field and every
problem is said in the page's language beside its field; on any problem nothing is written.

The account id is made from the partner (or "van") and the first name, e.g. `gojek.andi`, the way the CLI's
examples name people, with a number added when it is taken. A phone number already on an active account of
the office is refused: it is how staff reach the person, and a form sent twice must not make two accounts.
The new person then gets a one-time enrollment link (URL and QR code) for their phone, as from
"Buat tautan" (`routes.issue_enrollment_link`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from records.types import JSONDict
from server.i18n import LABELS, N_, Labels
from server.i18n import gettext as _
from server.identity.store import USER_ID, IdentityStore

#: Roles staff may add from the page; their words are the `role` labels.
ADDABLE_ROLES = ("courier", "van_operator")
#: Delivery partners a courier may work for: every labelled partner but the office itself (the office's own
#: deliveries are carried by its staff, who are added with the CLI).
COURIER_PARTNERS = tuple(p for p in LABELS["partner"] if p != "office")
#: A van id as visits carry it (schemas/visit.schema.json).
VAN = re.compile(r"^van-[a-z0-9-]{2,40}$")
#: An Indonesian mobile number (schemas/common.schema.json `phone`), once spaces, dots and dashes are gone.
PHONE = re.compile(r"^(\+62|0)8[1-9][0-9]{7,10}$")
NAME_MIN, NAME_MAX = 2, 100

FIELD_LABELS = Labels(
    {
        "role": N_("Peran"),
        "name": N_("Nama"),
        "partner": N_("Mitra"),
        "van": N_("Mobil"),
        "phone": N_("Nomor HP"),
    }
)


@dataclass(frozen=True)
class NewUser:
    """A checked form: who to add to which office."""

    role: str
    name: str
    phone: str
    partner: str | None = None
    van: str | None = None


@dataclass
class NewUserProblems(Exception):
    """What is wrong with the form, per field, in the page's language; `values` is what was typed."""

    problems: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)


def normal_phone(text: str) -> str:
    """A phone number as stored: spaces, dots, dashes and brackets taken out, +62 written as 0."""
    digits = re.sub(r"[\s.\-()]", "", text)
    return "0" + digits[3:] if digits.startswith("+62") else digits


def read_form(form: Mapping[str, str]) -> NewUser:
    """The form as a `NewUser`, or `NewUserProblems` naming each field that is wrong and what to write."""
    values = {name: str(form.get(name) or "").strip() for name in ("role", "name", "partner", "van", "phone")}
    problems: dict[str, str] = {}
    role = values["role"]
    if role not in ADDABLE_ROLES:
        problems["role"] = _("Pilih kurir atau petugas mobil keliling.")
    name = " ".join(values["name"].split())
    if not NAME_MIN <= len(name) <= NAME_MAX:
        problems["name"] = _("Tulis nama lengkap (%(min)s-%(max)s huruf).") % {
            "min": NAME_MIN,
            "max": NAME_MAX,
        }
    phone = normal_phone(values["phone"])
    if not PHONE.match(phone):
        problems["phone"] = _("Nomor HP Indonesia ditulis 08… atau +628…, 10-13 angka, mis. 081234567890.")
    partner = values["partner"] if role == "courier" else None
    if role == "courier" and partner not in COURIER_PARTNERS:
        problems["partner"] = _("Pilih mitra pengantaran kurir dari daftar.")
    van = values["van"].lower() if role == "van_operator" else None
    if role == "van_operator" and not (van and VAN.match(van)):
        problems["van"] = _("Tulis kode mobil seperti van-balikpapan-1 (huruf kecil, angka dan tanda -).")
    if problems:
        raise NewUserProblems(problems, values)
    return NewUser(role=role, name=name, phone=phone, partner=partner, van=van)


def id_stem(new: NewUser) -> str:
    """The start of the account id: partner (or "van") and the first name in plain letters, "gojek.andi";
    a partner's first word only ("pos.rudi"), since an id is read on pages, where `pos_indonesia` would be
    an identifier."""
    prefix = str(new.partner).split("_")[0] if new.role == "courier" else "van"
    plain = unicodedata.normalize("NFKD", new.name).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", plain)
    stem = f"{prefix}.{words[0] if words else 'petugas'}"[:60]
    return stem if USER_ID.match(stem) else f"{prefix}.petugas"


async def add_user(store: IdentityStore, office: str, new: NewUser, values: dict[str, str]) -> JSONDict:
    """Create the account in `office`; `NewUserProblems` when the phone is already someone's there."""
    users = await store.users_of_office(office)
    holder = next(
        (u for u in users if not u.get("revoked") and normal_phone(str(u.get("phone") or "")) == new.phone),
        None,
    )
    if holder is not None:
        raise NewUserProblems(
            {
                "phone": _("Nomor HP ini sudah dipakai %(name)s di kantor ini; tidak ada yang ditambahkan.")
                % {"name": holder.get("name") or holder["user_id"]}
            },
            values,
        )
    stem = id_stem(new)
    for attempt in range(1, 100):
        user_id = stem if attempt == 1 else f"{stem}{attempt}"
        user, created = await store.create_user(
            user_id, new.role, office=office, name=new.name, partner=new.partner, van=new.van, phone=new.phone
        )
        if created:
            return user
    raise NewUserProblems({"name": _("Terlalu banyak akun dengan nama ini; tulis nama lengkap.")}, values)
