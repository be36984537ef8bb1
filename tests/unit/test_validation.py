"""What may be pushed: schema, role, author, office, assignment, append-only, replay and photo rules."""

from __future__ import annotations

import base64
import copy
import hashlib
from typing import Any

import pytest

from records.principal import Principal
from sync.validation import StoredState, check_attachments, check_id, check_record
from tests.support.pouch_client import document_record, handoff_record, photo_bytes, photo_record, seal_record

COURIER = Principal("kurir.a", "courier", "6471")
STAFF = Principal("staff.one", "staff", "6471")
OTHER_OFFICE_STAFF = Principal("staff.two", "staff", "3171")
VAN_OP = Principal("van.op", "van_operator", "6471", van="van-bpn-1")
ADMIN = Principal("root.admin", "admin", None)

DOCUMENT = document_record("kurir.a", author="staff.one")
FRESH = StoredState()


def replicated(doc: dict[str, Any], rev: str = "1-abc") -> dict[str, Any]:
    """The revision as PouchDB pushes it with new_edits=false."""
    pos, rev_hash = rev.split("-")
    return {**copy.deepcopy(doc), "_rev": rev, "_revisions": {"start": int(pos), "ids": [rev_hash]}}


def code(doc: dict[str, Any], principal: Principal, **kwargs: Any) -> str | None:
    refusal = check_record(doc, principal, **({"stored": FRESH} | kwargs))
    return refusal.code if refusal else None


@pytest.mark.parametrize(
    "doc_id",
    [
        "_design/x",
        "_local/x",
        "../_config",
        "document:a/b",
        "receipt:document:AAAAAAAA",
        "unknown:AAAAAAAA",
        7,
        None,
    ],
)
def test_ids_that_are_not_records_are_refused(doc_id: object) -> None:
    assert check_id(doc_id) is not None


def test_courier_handoff_on_own_document_passes() -> None:
    handoff = replicated(handoff_record(DOCUMENT["_id"], "kurir.a", seq=1))
    assert code(handoff, COURIER, linked_document=DOCUMENT) is None


@pytest.mark.parametrize(
    ("principal", "make", "expected"),
    [
        # Claiming to be someone else.
        (COURIER, lambda: handoff_record(DOCUMENT["_id"], "kurir.b", seq=1), "author"),
        # A record type the role may not write.
        (COURIER, lambda: document_record("kurir.a", author="kurir.a"), "role"),
        (COURIER, lambda: seal_record(DOCUMENT["_id"], "BP00000001", author="kurir.a"), "role"),
        (VAN_OP, lambda: handoff_record(DOCUMENT["_id"], "van.op", seq=1), "role"),
        # Another office.
        (OTHER_OFFICE_STAFF, lambda: document_record(None, author="staff.two"), "office"),
    ],
)
def test_role_author_and_office_rules(principal: Principal, make: Any, expected: str) -> None:
    assert code(replicated(make()), principal, linked_document=DOCUMENT) == expected


def test_courier_cannot_write_for_a_document_not_assigned_to_them() -> None:
    handoff = replicated(handoff_record(DOCUMENT["_id"], "kurir.a", seq=1))
    reassigned = document_record("kurir.b", doc_id=DOCUMENT["_id"])
    assert code(handoff, COURIER, linked_document=reassigned) == "not_assigned"
    assert code(handoff, COURIER, linked_document=None) == "not_assigned"


def test_schema_errors_are_refused_with_the_field_named() -> None:
    handoff = replicated(handoff_record(DOCUMENT["_id"], "kurir.a", seq=1))
    del handoff["prev_hash"]
    refusal = check_record(handoff, COURIER, stored=FRESH, linked_document=DOCUMENT)
    assert refusal is not None and refusal.code == "invalid" and "prev_hash" in refusal.reason


def test_staff_may_write_documents_and_admins_any_office() -> None:
    assert code(replicated(document_record(None, author="staff.one")), STAFF) is None
    assert code(replicated(document_record(None, office="3171", author="root.admin")), ADMIN) is None


def test_deletion_is_refused() -> None:
    handoff = replicated(handoff_record(DOCUMENT["_id"], "kurir.a", seq=1))
    assert code({**handoff, "_deleted": True}, COURIER, linked_document=DOCUMENT) == "deleted"


def test_append_only_records_cannot_get_a_second_revision() -> None:
    first = replicated(handoff_record(DOCUMENT["_id"], "kurir.a", seq=1))
    second = replicated({**first, "note": "changed"}, "2-def")
    stored = StoredState(exists=True, current=first)
    assert code(second, COURIER, stored=stored, linked_document=DOCUMENT) == "append_only"
    # Documents are edited by staff: a new revision is fine.
    doc = replicated(document_record(None, author="staff.one"))
    assert code(replicated(doc, "2-def"), STAFF, stored=StoredState(exists=True, current=doc)) is None


def test_the_exact_stored_revision_pushed_again_is_accepted_whatever_changed_since() -> None:
    handoff = replicated(handoff_record(DOCUMENT["_id"], "kurir.a", seq=1))
    retry = StoredState(exists=True, rev_known=True, current=handoff)
    # Even after the document was reassigned: the record is already safely stored.
    assert code(handoff, COURIER, stored=retry, linked_document=None) is None


def test_a_used_handoff_sequence_number_is_a_replay() -> None:
    handoff = replicated(handoff_record(DOCUMENT["_id"], "kurir.a", seq=1))
    assert code(handoff, COURIER, linked_document=DOCUMENT, seq_taken=True) == "replay"


def test_van_operator_writes_visits_of_their_own_van_only() -> None:
    import json
    from pathlib import Path

    example = json.loads(
        (Path(__file__).resolve().parents[2] / "schemas/examples/visit/valid-recorded.json").read_text()
    )
    example.update(author="van.op", office="6471", van="van-bpn-1")
    assert code(replicated(example), VAN_OP) is None
    assert code(replicated({**example, "van": "van-bpn-2"}), VAN_OP) == "van"


def _photo(image: bytes | None, **changes: Any) -> dict[str, Any]:
    return replicated({**photo_record("handoff:AAAAAAAA", DOCUMENT["_id"], "kurir.a", image), **changes})


def test_photo_with_matching_image_is_verified() -> None:
    assert check_attachments(_photo(photo_bytes(4000)), FRESH) == (None, "verified")


def test_photo_without_image_waits() -> None:
    assert check_attachments(_photo(None), FRESH) == (None, "waiting")


def test_photo_image_must_match_digest_type_and_limit() -> None:
    image = photo_bytes(4000)
    wrong_digest = _photo(image, sha256="0" * 64)
    assert check_attachments(wrong_digest, FRESH)[0].code == "digest"  # type: ignore[union-attr]
    png = _photo(image)
    png["_attachments"]["seal.jpg"]["content_type"] = "image/png"
    assert check_attachments(png, FRESH)[0].code == "attachment_type"  # type: ignore[union-attr]
    huge = _photo(image)
    huge["_attachments"]["seal.jpg"]["data"] = base64.b64encode(b"\xff" * (5 * 1024 * 1024 + 1)).decode()
    assert check_attachments(huge, FRESH)[0].code == "attachment_size"  # type: ignore[union-attr]
    extra = _photo(image)
    extra["_attachments"]["face.jpg"] = extra["_attachments"]["seal.jpg"]
    assert check_attachments(extra, FRESH)[0].code == "attachment"  # type: ignore[union-attr]


def test_a_handoff_may_not_carry_attachments() -> None:
    handoff = replicated(handoff_record(DOCUMENT["_id"], "kurir.a", seq=1))
    handoff["_attachments"] = {
        "x.jpg": {"content_type": "image/jpeg", "data": base64.b64encode(b"x").decode()}
    }
    assert check_attachments(handoff, FRESH)[0] is not None


def test_a_waiting_photo_may_receive_its_image_later_but_nothing_else() -> None:
    image = photo_bytes(4000)
    waiting = _photo(None, sha256=hashlib.sha256(image).hexdigest(), size=len(image))
    stored = StoredState(exists=True, current=waiting)
    with_image = {
        **copy.deepcopy(waiting),
        "_rev": "2-bbb",
        "_revisions": {"start": 2, "ids": ["bbb", "abc"]},
    }
    with_image["_attachments"] = {
        "seal.jpg": {"content_type": "image/jpeg", "data": base64.b64encode(image).decode()}
    }
    assert code(with_image, COURIER, stored=stored, linked_document=DOCUMENT) is None
    assert check_attachments(with_image, stored) == (None, "verified")
    edited = {**with_image, "captured_at": "2026-11-22T10:00:00+08:00"}
    assert code(edited, COURIER, stored=stored, linked_document=DOCUMENT) == "append_only"
