"""Valid records for tests and benchmarks, built field by field as the office and the phones write them, so a
test needs neither the demo generator (devtools, not part of the product) nor records of its own: the
courier's documents as the office syncs them (`document_records`), a pickup with its seal photo as another
phone left it on the server (`picked_up_with_photo`), unsigned pickups to sign (`pickup`) and a whole custody
chain that verifies (`custody_chain`). Builders that start from the schema examples and give each record a
random id are `tests/support/pouch_client.py`'s.

Every builder checks what it returns against the real schemas, so a contract change fails here first.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from records.custody import record_hash
from records.receipt_proof import ReceiptKey
from records.schemas import validate_record

#: Stands in for the server's key: the test opens what the PWA sealed, as the office checks would.
RECEIPT_KEY = ReceiptKey.from_secret("browser-test-secret-key-of-at-least-32-chars")
#: The courier and the van operator of the browser tests, as /auth/me describes them.
COURIER: dict[str, Any] = {
    "user_id": "gojek.andi",
    "name": "Andi Saputra",
    "role": "courier",
    "office": "6471",
    "partner": "gojek",
    "van": None,
    "credential_ids": [],
    # The server's public key for sealing receipt codes, as /auth/me gives it to couriers.
    "receipt_key": RECEIPT_KEY.public_jwk(),
}
VAN_OPERATOR: dict[str, Any] = {
    "user_id": "van.agus",
    "name": "Agus Setiawan",
    "role": "van_operator",
    "office": "6471",
    "partner": None,
    "van": "van-balikpapan-1",
    "credential_ids": [],
}
NOW = "2026-11-23T08:00:00+08:00"


def document_records(suffix: str, name: str, nik: str, seal_number: str) -> list[dict[str, Any]]:
    """A document assigned to the courier, its seal and the sealing handoff, as the office would sync them."""
    document_id = f"document:01JDTEST{suffix}"
    document = {
        "_id": document_id,
        "type": "document",
        "schema_version": 1,
        "office": "6471",
        "created_at": NOW,
        "author": "budi.santoso",
        "doc_kind": "ektp",
        "resident": {
            "name": name,
            "nik": nik,
            "phone": "081234567890",
            "address": {
                "street": "Jl. Jenderal Sudirman No. 12",
                "rt": "004",
                "rw": "012",
                "kelurahan": "Klandasan Ilir",
                "kecamatan": "Balikpapan Kota",
                "city": "Kota Balikpapan",
                "province": "Kalimantan Timur",
                "postal_code": "76112",
                "lat": -1.2745,
                "lon": 116.829,
            },
        },
        "assignment": {"courier": COURIER["user_id"], "partner": "gojek", "assigned_at": NOW},
        "receipt_code": "K7M4QX",
        "delivery": "courier",
    }
    seal = {
        "_id": f"seal:6471:{seal_number}",
        "type": "seal",
        "schema_version": 1,
        "office": "6471",
        "created_at": NOW,
        "author": "budi.santoso",
        "number": seal_number,
        "document_id": document_id,
        "bound_at": NOW,
    }
    sealed = {
        "_id": f"handoff:01JDSEAL{suffix}",
        "type": "handoff",
        "schema_version": 1,
        "office": "6471",
        "created_at": NOW,
        "author": "budi.santoso",
        "document_id": document_id,
        "seal_number_scanned": seal_number,
        "seal_number_expected": seal_number,
        "seal_match": True,
        "kind": "sealed",
        "from": {"party": "office", "id": "6471"},
        "to": {"party": "office", "id": "6471"},
        "seal_condition": "intact",
        "device_time": NOW,
        "seq": 1,
        "photos": [],
        "prev_hash": None,
        "unsigned_reason": "sealed at the desk without a passkey",
    }
    for record in (document, seal, sealed):
        assert validate_record(record) == [], record["_id"]
    return [document, seal, sealed]


def stop_record(date: str) -> dict[str, Any]:
    return {
        "_id": f"stop:{date.replace('-', '')}-kariangau",
        "type": "stop",
        "office": "6471",
        "van": "van-balikpapan-1",
        "date": date,
        "place_name": "Kantor Kelurahan Kariangau",
        "address": "Jl. Kariangau Km. 5, Kariangau",
        "kecamatan": "Balikpapan Barat",
        "planned_residents": 12,
    }


def picked_up_with_photo(
    suffix: str,
    jpeg: bytes,
    *,
    seq: int,
    name: str | None = None,
    seal_number: str | None = None,
    size: tuple[int, int] = (4000, 3000),
) -> list[dict[str, Any]]:
    """A document the courier picked up on another phone, with its seal photo (the JPEG inline) already on
    the server: the document, its seal, the sealing handoff, the pickup (the courier's `seq`th) and the
    photo record. `size` is the photo's width and height as the phone recorded them."""
    document, seal, sealed = document_records(
        suffix, name or f"Warga {suffix}", "6471054506900012", seal_number or f"BP{_digits(suffix):08d}"
    )
    handoff_id, photo_id = f"handoff:01JDPICK{suffix}", f"photo:01JDFOTO{suffix}"
    picked = {
        **_pickup_of(sealed, handoff_id, seq=seq),
        "photos": [photo_id],
        "unsigned_reason": "test",
    }
    photo = {
        "_id": photo_id,
        "type": "photo",
        "schema_version": 1,
        "office": "6471",
        "created_at": NOW,
        "author": COURIER["user_id"],
        "handoff_id": handoff_id,
        "document_id": document["_id"],
        "attachment": "seal.jpg",
        "sha256": hashlib.sha256(jpeg).hexdigest(),
        "content_type": "image/jpeg",
        "size": len(jpeg),
        "captured_at": NOW,
        "width": size[0],
        "height": size[1],
        "_attachments": {"seal.jpg": {"content_type": "image/jpeg", "data": base64.b64encode(jpeg).decode()}},
    }
    for record in (picked, photo):
        assert validate_record(record) == [], record["_id"]
    return [document, seal, sealed, picked, photo]


def pickup(n: int = 0, author: str = "gojek.andi") -> dict[str, Any]:
    """The `n`th of a courier's pickups (each of its own document), neither signed nor given an
    `unsigned_reason` yet: add a signature, or a reason, before it is valid."""
    suffix = f"K{n:05d}"
    _, _, sealed = document_records(suffix, f"Warga {n:03d}", "6471054506900012", f"BP{15000 + n:08d}")
    record = _pickup_of(sealed, f"handoff:01JDPICK{suffix}", seq=n + 1, author=author)
    assert validate_record({**record, "unsigned_reason": "check"}) == [], record["_id"]
    return record


def custody_chain(suffix: str = "C0001") -> list[dict[str, Any]]:
    """One document's handoffs in custody order, each chained to the one before: sealed at the office, picked
    up, a failed attempt, delivered to the resident with the receipt code. The chain verifies."""
    document, _, sealed = document_records(suffix, "Siti Rahmawati", "6471054506900012", "BP00016001")
    picked = {**_pickup_of(sealed, f"handoff:01JDPICK{suffix}", seq=1), "unsigned_reason": "test"}
    failed = _next(picked, f"handoff:01JDFAIL{suffix}", "failed_attempt", "2026-11-23T11:00:00+08:00", seq=2)
    failed.update(failure_reason="not_at_home", to=failed["from"])
    delivered = _next(failed, f"handoff:01JDDLVR{suffix}", "delivered", "2026-11-24T10:00:00+08:00", seq=3)
    delivered.update(to={"party": "resident", "name": document["resident"]["name"]})
    delivered["receipt_code"] = document["receipt_code"]
    chain = [sealed, picked, failed, delivered]
    for record in chain:
        assert validate_record(record) == [], record["_id"]
    return chain


def _pickup_of(
    sealed: dict[str, Any], handoff_id: str, *, seq: int, author: str = str(COURIER["user_id"])
) -> dict[str, Any]:
    picked = _next(sealed, handoff_id, "picked_up", "2026-11-23T09:00:00+08:00", seq=seq, author=author)
    picked.pop("unsigned_reason")
    picked["from"] = {"party": "office", "id": "6471"}
    return picked


def _next(
    before: dict[str, Any], handoff_id: str, kind: str, when: str, *, seq: int, author: str | None = None
) -> dict[str, Any]:
    """The handoff after `before`, by the courier (`author`), chained to it."""
    courier = author or str(COURIER["user_id"])
    name = COURIER["name"] if courier == COURIER["user_id"] else "Kurir Uji"
    return {
        **before,
        "_id": handoff_id,
        "author": courier,
        "kind": kind,
        "from": {"party": "courier", "id": courier, "name": name},
        "to": {"party": "courier", "id": courier, "name": name},
        "device_time": when,
        "seq": seq,
        "photos": [],
        "prev_hash": record_hash(before),
        "unsigned_reason": "test",
    }


def _digits(text: str) -> int:
    return int("".join(c for c in text if c.isdigit()) or "0")
