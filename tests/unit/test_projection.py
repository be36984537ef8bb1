"""What phones are sent: couriers get documents without the full NIK or the receipt code, van crews get
visits with the NIK masked; staff get the stored record; a projection never passes as a record."""

from __future__ import annotations

from records.custody import record_hash
from records.principal import Principal
from records.schemas import validate_record
from sync.projection import MARKER, project
from sync.validation import StoredState, check_record

COURIER = Principal(user_id="gojek.andi", role="courier", office="6471", partner="gojek")
VAN = Principal(user_id="van.agus", role="van_operator", office="6471", van="van-balikpapan-1")
STAFF = Principal(user_id="budi.santoso", role="staff", office="6471")
NIK = "6471061503920004"

DOCUMENT = {
    "_id": "document:01JDTESTA0001",
    "_rev": "2-abc",
    "type": "document",
    "schema_version": 1,
    "office": "6471",
    "created_at": "2026-11-23T08:00:00+08:00",
    "author": "budi.santoso",
    "doc_kind": "ektp",
    "resident": {
        "name": "Siti Aminah",
        "nik": NIK,
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
        },
    },
    "assignment": {"courier": "gojek.andi", "partner": "gojek", "assigned_at": "2026-11-23T08:05:00+08:00"},
    "receipt_code": "K7M4QX",
    "delivery": "courier",
}


def test_a_courier_gets_who_where_and_what_and_nothing_else() -> None:
    sent = project(dict(DOCUMENT), COURIER)
    assert set(sent) == {
        "_id", "_rev", "type", "schema_version", "office", "doc_kind", "assignment", "resident", MARKER,
    }  # fmt: skip
    assert sent["resident"] == {
        "name": "Siti Aminah",
        "phone": "081234567890",
        "address": DOCUMENT["resident"]["address"],  # type: ignore[index]
        "nik_masked": "647106********04",
    }
    assert NIK not in str(sent) and "K7M4QX" not in str(sent) and "budi.santoso" not in str(sent)
    assert sent["_rev"] == DOCUMENT["_rev"]  # replication still knows which revision it holds


def test_staff_read_the_stored_record() -> None:
    assert project(dict(DOCUMENT), STAFF) == DOCUMENT


def test_a_delivered_handoff_with_a_clear_code_keeps_its_custody_hash_for_the_next_link() -> None:
    handoff = {"_id": "handoff:01JDTESTD0001", "type": "handoff", "receipt_code": "K7M4QX", "seq": 3}
    sent = project(dict(handoff), COURIER)
    assert "receipt_code" not in sent and sent["custody_hash"] == record_hash(handoff)
    plain = {"_id": "handoff:01JDTESTD0002", "type": "handoff", "seq": 4}
    assert project(dict(plain), COURIER) == plain  # nothing to hide: the record as stored


def test_a_van_crew_gets_its_visits_with_the_nik_masked() -> None:
    visit = {"_id": "visit:01JDTESTV0001", "type": "visit", "resident_nik": NIK, "resident_name": "Siti"}
    sent = project(dict(visit), VAN)
    assert NIK not in str(sent) and sent["resident_nik_masked"] == "647106********04"


def test_a_projection_pushed_back_is_refused_and_never_valid_as_a_record() -> None:
    sent = project(dict(DOCUMENT), COURIER)
    assert validate_record({k: v for k, v in sent.items() if k != MARKER})  # not a document any more
    new_revision = {**sent, "_rev": "3-def", "_revisions": {"start": 3, "ids": ["def", "abc"]}}
    for who in (COURIER, STAFF):
        refusal = check_record(new_revision, who, stored=StoredState(exists=True, current=DOCUMENT))
        assert refusal is not None and refusal.code == "projection"
