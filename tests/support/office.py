"""Builders for office tests: real, schema-valid records written to the real embedded CouchDB."""

from __future__ import annotations

import base64
import hashlib
import io
import random

from PIL import Image, ImageDraw

from records.custody import record_hash
from records.principal import Principal
from records.schemas import validate_record
from records.types import JSONDict
from server.office.intake import document_from_fields
from server.office.ledger import Ledger, new_id, now_iso
from server.settings import Settings
from store.couch import CouchClient
from tests.support.identity import ensure_databases

#: NIKs that pass records.nik checks (district 6471 / 3273), used by every office test.
NIKS = ("6471061503920004", "6471044107850002", "3273015708900003")


async def ready_ledger(couch: CouchClient, settings: Settings) -> Ledger:
    await ensure_databases(couch, settings)  # retries when the app's own start-up bootstrap races it
    return Ledger.of(couch, settings)


def staff(office: str = "6471", user_id: str = "budi.santoso") -> Principal:
    return Principal(user_id=user_id, role="staff", office=office, name="Budi Santoso")


def document_fields(**overrides: str) -> dict[str, str]:
    fields = {
        "doc_kind": "ektp",
        "name": "Muhammad Rizky Pratama",
        "nik": NIKS[0],
        "phone": "081254781203",
        "street": "Jl. Jenderal Sudirman No. 27",
        "rt": "004",
        "rw": "002",
        "kelurahan": "Klandasan Ilir",
        "kecamatan": "Balikpapan Kota",
        "city": "Kota Balikpapan",
        "province": "Kalimantan Timur",
        "postal_code": "76112",
        "lat": "-1.27431",
        "lon": "116.82852",
        "delivery": "courier",
    }
    fields.update(overrides)
    return fields


async def put_document(ledger: Ledger, office: str = "6471", **overrides: str) -> JSONDict:
    doc, errors = document_from_fields(document_fields(**overrides), office, "budi.santoso")
    assert errors == []
    doc["_rev"] = await ledger.records.put(doc)
    return doc


def seal_image(seed: int) -> bytes:
    """A JPEG of a seal-like pattern; different seeds give pictures with different perceptual hashes."""
    rng = random.Random(seed)
    image = Image.new("RGB", (160, 120), (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randint(0, 150), rng.randint(0, 110)
        colour = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
        draw.rectangle((x, y, x + rng.randint(10, 80), y + rng.randint(10, 60)), fill=colour)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def next_handoff(previous: JSONDict, kind: str, *, author: str = "gojek.andi", **fields: object) -> JSONDict:
    """A handoff chained after `previous`, by a courier, with its seal as expected unless overridden."""
    now = now_iso()
    courier = {"party": "courier", "id": author, "name": "Andi Saputra"}
    office = {"party": "office", "id": str(previous["office"])}
    sides = {
        "picked_up": (office, courier),
        "delivered": (courier, {"party": "resident", "name": "Muhammad Rizky Pratama"}),
        "failed_attempt": (courier, courier),
        "returned": (courier, office),
        "lost": (courier, office),
    }[kind]
    handoff: JSONDict = {
        "_id": f"handoff:{new_id()}",
        "type": "handoff",
        "schema_version": 1,
        "office": previous["office"],
        "created_at": now,
        "author": author,
        "document_id": previous["document_id"],
        "seal_number_scanned": previous["seal_number_expected"],
        "seal_number_expected": previous["seal_number_expected"],
        "seal_match": True,
        "kind": kind,
        "from": sides[0],
        "to": sides[1],
        "seal_condition": "intact",
        "device_time": now,
        "seq": int(previous["seq"]) + 1,
        "photos": [],
        "prev_hash": record_hash(previous),
        "unsigned_reason": "ponsel tanpa passkey",
    }
    if kind == "delivered":
        handoff["receipt_code"] = "K7M4QX"
    if kind == "failed_attempt":
        handoff["failure_reason"] = "not_at_home"
    handoff.update(fields)
    errors = validate_record(handoff)
    assert errors == [], errors
    return handoff


def photo_for(
    handoff: JSONDict, image: bytes, *, sha256: str | None = None, captured_at: str | None = None
) -> JSONDict:
    photo: JSONDict = {
        "_id": f"photo:{new_id()}",
        "type": "photo",
        "schema_version": 1,
        "office": handoff["office"],
        "created_at": now_iso(),
        "author": handoff["author"],
        "handoff_id": handoff["_id"],
        "document_id": handoff["document_id"],
        "attachment": "seal.jpg",
        "sha256": sha256 or hashlib.sha256(image).hexdigest(),
        "content_type": "image/jpeg",
        "size": len(image),
        "captured_at": captured_at or now_iso(),
        "_attachments": {
            "seal.jpg": {"content_type": "image/jpeg", "data": base64.b64encode(image).decode()}
        },
    }
    assert validate_record(photo) == []
    return photo


async def put_handoff_with_photo(
    ledger: Ledger, handoff: JSONDict, image: bytes, **photo_kw: str
) -> JSONDict:
    photo = photo_for(handoff, image, **photo_kw)
    handoff["photos"] = [photo["_id"]]
    await ledger.records.put(handoff)
    await ledger.records.put(photo)
    return photo
