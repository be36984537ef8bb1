"""The sealed receipt code: only the server's key opens it, only for the document it was sealed for."""

from __future__ import annotations

import copy

from records.receipt_proof import ReceiptKey, codes_equal
from records.schemas import validate_record

SECRET = "unit-test secret key, at least thirty-two characters"
DOCUMENT = "document:01JDTESTA0001"


def test_sealed_code_opens_with_the_server_key_only_for_its_document() -> None:
    key = ReceiptKey.from_secret(SECRET)
    proof = key.seal("K7M4QX", DOCUMENT)
    assert "K7M4QX" not in str(proof)
    assert key.open(proof, DOCUMENT) == "K7M4QX"
    assert key.open(proof, "document:01JDTESTA0002") is None  # moved to another envelope


def test_every_instance_with_the_same_secret_holds_the_same_key() -> None:
    first, second = ReceiptKey.from_secret(SECRET), ReceiptKey.from_secret(SECRET)
    assert first.public_jwk() == second.public_jwk()
    assert second.open(first.seal("K7M4QX", DOCUMENT), DOCUMENT) == "K7M4QX"
    other = ReceiptKey.from_secret(SECRET + "!")
    assert other.kid != first.kid and other.open(first.seal("K7M4QX", DOCUMENT), DOCUMENT) is None


def test_a_tampered_or_malformed_proof_is_unreadable_not_an_error() -> None:
    key = ReceiptKey.from_secret(SECRET)
    proof = key.seal("K7M4QX", DOCUMENT)
    flipped = copy.deepcopy(proof)
    flipped["ct"] = ("A" if proof["ct"][0] != "A" else "B") + proof["ct"][1:]
    assert key.open(flipped, DOCUMENT) is None
    assert key.open({**proof, "epk": "not-a-point"}, DOCUMENT) is None
    assert key.open({**proof, "iv": 7}, DOCUMENT) is None


def test_two_seals_of_one_code_differ_so_a_proof_says_nothing_by_itself() -> None:
    key = ReceiptKey.from_secret(SECRET)
    assert key.seal("K7M4QX", DOCUMENT)["ct"] != key.seal("K7M4QX", DOCUMENT)["ct"]


def test_the_proof_fits_the_handoff_schema() -> None:
    proof = ReceiptKey.from_secret(SECRET).seal("K7M4QX", DOCUMENT)
    handoff = {
        "_id": "handoff:01JDTESTD0001",
        "type": "handoff",
        "schema_version": 1,
        "office": "6471",
        "created_at": "2026-11-23T10:00:00+08:00",
        "author": "gojek.andi",
        "document_id": DOCUMENT,
        "seal_number_scanned": "BP00012001",
        "seal_number_expected": "BP00012001",
        "seal_match": True,
        "kind": "delivered",
        "from": {"party": "courier", "id": "gojek.andi"},
        "to": {"party": "resident", "name": "Siti Aminah"},
        "seal_condition": "intact",
        "device_time": "2026-11-23T10:00:00+08:00",
        "seq": 3,
        "photos": [],
        "prev_hash": "0" * 64,
        "unsigned_reason": "test phone",
        "receipt_proof": proof,
    }
    assert validate_record(handoff) == []
    assert [e.field for e in validate_record({**handoff, "receipt_proof": {**proof, "alg": "none"}})]


def test_codes_compare_as_typed_at_a_door() -> None:
    assert codes_equal(" k7m4qx ", "K7M4QX")
    assert not codes_equal("K7M4QY", "K7M4QX")
