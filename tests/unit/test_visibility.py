"""Who sees what: every role against every record type, and the view map functions agree with the rules."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from records.principal import Principal
from sync.gateway_design import BY_LINK_MAP, BY_SCOPE_MAP
from sync.visibility import is_visible, needs_linked_document, record_scopes, root_scopes

REPO_ROOT = Path(__file__).resolve().parents[2]

COURIER_A = Principal("kurir.a", "courier", "6471", partner="gojek")
COURIER_B = Principal("kurir.b", "courier", "6471", partner="gojek")
STAFF = Principal("staff.one", "staff", "6471")
OTHER_STAFF = Principal("staff.two", "staff", "3171")
VAN_OP = Principal("van.op", "van_operator", "6471", van="van-bpn-1")
OTHER_VAN_OP = Principal("van.op2", "van_operator", "6471", van="van-bpn-2")
ADMIN = Principal("root.admin", "admin", None)

DOC_A = {
    "_id": "document:AAAAAAAA",
    "type": "document",
    "office": "6471",
    "assignment": {"courier": "kurir.a"},
}
DOC_UNASSIGNED = {"_id": "document:UUUUUUUU", "type": "document", "office": "6471"}


def linked(kind: str, document_id: str = "document:AAAAAAAA") -> dict[str, Any]:
    return {
        "_id": f"{kind}:XXXXXXXX",
        "type": kind,
        "office": "6471",
        "document_id": document_id,
        "author": "x",
    }


VISIT = {"_id": "visit:VVVVVVVV", "type": "visit", "office": "6471", "van": "van-bpn-1"}
STOP = {"_id": "stop:20261123-klandasan", "type": "stop", "office": "6471", "van": "van-bpn-1"}
COMPLAINT = {
    "_id": "complaint:CCCCCCCC",
    "type": "complaint",
    "office": "6471",
    "document_id": "document:AAAAAAAA",
}
RECEIPT = {"_id": "receipt:document:AAAAAAAA", "type": "receipt", "office": "6471"}


@pytest.mark.parametrize(
    ("principal", "record", "linked_document", "expected"),
    [
        (COURIER_A, DOC_A, None, True),
        (COURIER_B, DOC_A, None, False),
        (COURIER_A, DOC_UNASSIGNED, None, False),
        (COURIER_A, linked("seal"), DOC_A, True),
        (COURIER_A, linked("handoff"), DOC_A, True),
        (COURIER_A, linked("photo"), DOC_A, True),
        (COURIER_B, linked("seal"), DOC_A, False),
        (COURIER_B, linked("photo"), DOC_A, False),
        (COURIER_A, linked("seal"), None, False),
        # A linked document that is not the one the record names proves nothing.
        (COURIER_A, linked("seal", "document:OTHEROTHER"), DOC_A, False),
        (COURIER_A, VISIT, None, False),
        (COURIER_A, COMPLAINT, None, False),
        (STAFF, DOC_A, None, True),
        (STAFF, linked("photo"), None, True),
        (STAFF, VISIT, None, True),
        (STAFF, COMPLAINT, None, True),
        (OTHER_STAFF, DOC_A, None, False),
        (OTHER_STAFF, VISIT, None, False),
        (VAN_OP, VISIT, None, True),
        (VAN_OP, STOP, None, True),
        (OTHER_VAN_OP, STOP, None, False),
        (COURIER_A, STOP, None, False),
        (OTHER_VAN_OP, VISIT, None, False),
        (VAN_OP, DOC_A, None, False),
        (ADMIN, DOC_A, None, True),
        (ADMIN, VISIT, None, True),
        # Server-written records and deleted ones are nobody's through the gateway.
        (STAFF, RECEIPT, None, False),
        (ADMIN, RECEIPT, None, False),
        (COURIER_A, {**DOC_A, "_deleted": True}, None, False),
        (COURIER_A, linked("seal"), {**DOC_A, "_deleted": True}, False),
    ],
)
def test_is_visible(
    principal: Principal, record: dict[str, Any], linked_document: Any, expected: bool
) -> None:
    assert is_visible(record, principal, linked_document) is expected


def test_root_scopes_per_role() -> None:
    assert root_scopes(COURIER_A) == ["courier:kurir.a"]
    assert root_scopes(STAFF) == ["office:6471"]
    assert root_scopes(VAN_OP) == ["van:van-bpn-1"]
    assert root_scopes(ADMIN) == []
    # A van operator without a van sees nothing rather than everything.
    assert root_scopes(Principal("van.x", "van_operator", "6471")) == []


def test_only_linked_records_of_couriers_need_their_document() -> None:
    assert needs_linked_document(linked("seal"), COURIER_A)
    assert not needs_linked_document(DOC_A, COURIER_A)
    assert not needs_linked_document(linked("seal"), STAFF)


RECORDS = [
    DOC_A,
    DOC_UNASSIGNED,
    linked("seal"),
    linked("handoff"),
    linked("photo"),
    VISIT,
    STOP,
    COMPLAINT,
    RECEIPT,
    {**DOC_A, "_id": "document:DELETED1", "_deleted": True},
    {"_id": "seal:BADLINK1", "type": "seal", "office": "6471", "document_id": "nonsense"},
]


def _run_map(source: str, docs: list[dict[str, Any]]) -> list[list[Any]]:
    script = (
        "const docs = JSON.parse(process.argv[1]); const out = [];"
        "let current; const emit = (key, value) => out.push([current._id, key, value]);"
        f"const map = {source};"
        "for (const doc of docs) { current = {...doc, _rev: '1-a'}; map(current); }"
        "process.stdout.write(JSON.stringify(out));"
    )
    done = subprocess.run(
        ["node", "-e", script, json.dumps(docs)], capture_output=True, check=True, cwd=REPO_ROOT
    )
    rows: list[list[Any]] = json.loads(done.stdout)
    return rows


def test_by_scope_view_agrees_with_record_scopes() -> None:
    emitted: dict[str, set[str]] = {}
    for doc_id, key, value in _run_map(BY_SCOPE_MAP, RECORDS):
        assert key[1] == doc_id and value == ["1-a"]
        emitted.setdefault(doc_id, set()).add(key[0])
    for record in RECORDS:
        assert emitted.get(str(record["_id"]), set()) == set(record_scopes(record)), record["_id"]


def test_by_link_view_emits_only_well_formed_links() -> None:
    rows = _run_map(BY_LINK_MAP, RECORDS)
    assert sorted(row[0] for row in rows) == ["handoff:XXXXXXXX", "photo:XXXXXXXX", "seal:XXXXXXXX"]
    assert {row[1] for row in rows} == {"document:AAAAAAAA"}
