"""The fields of a record in conflict, as staff compare them side by side: in words, never as JSON.

A choice reads by its label ("Ambil sendiri di kantor", not `self_pickup`), a time in the office's zone, a
resident by name, masked NIK and address (the page never shows a full NIK), an assignment by courier and
partner. Whether two revisions differ is decided on the stored values, not on these words.
"""

from __future__ import annotations

from collections.abc import Mapping

from records.nik import mask_nik
from server.i18n import label
from server.local_time import local_time

#: field -> the label kind that names its values (server/i18n.LABELS).
LABELLED_FIELDS = {
    "type": "record_type",
    "doc_kind": "doc_kind",
    "delivery": "delivery",
    "channel": "channel",
}
TIME_FIELDS = frozenset({"created_at", "bound_at", "device_time"})


def field_words(name: str, value: object, zone: str) -> str:
    """`value` of field `name` of a record, as the conflict page shows it."""
    if value is None or value == "":
        return "-"
    if name in LABELLED_FIELDS:
        return label(LABELLED_FIELDS[name], value)
    if name in TIME_FIELDS:
        return local_time(value, zone)
    if name == "resident" and isinstance(value, Mapping):
        return _resident(value)
    if name == "assignment" and isinstance(value, Mapping):
        courier = value.get("courier") or "-"
        return f"{courier} ({label('partner', value.get('partner'))})"
    if isinstance(value, Mapping):
        return "; ".join(f"{key}: {field_words(str(key), item, zone)}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(field_words(name, item, zone) for item in value)
    return str(value)


def _resident(resident: Mapping[str, object]) -> str:
    address = resident.get("address")
    place = ""
    if isinstance(address, Mapping):
        parts = [
            address.get("street"),
            f"RT {address.get('rt')}/RW {address.get('rw')}",
            address.get("kelurahan"),
        ]
        place = ", ".join(str(p) for p in parts if p)
    nik = mask_nik(str(resident["nik"])) if resident.get("nik") else "-"
    words = [str(resident.get("name") or "-"), nik, place, str(resident.get("phone") or "")]
    return " · ".join(w for w in words if w)
