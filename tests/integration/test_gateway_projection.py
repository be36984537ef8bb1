"""A phone is sent a projection of some records (sync/projection.py); pushing one back never reaches the
stored record: as a new revision it is refused with its reason, under the revision it came with it changes
nothing. Driven by a stock PouchDB 9 client that edits what it pulled, and by raw `_bulk_docs`."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from records.custody import record_hash
from server.settings import Settings
from store.couch import CouchClient, Database
from tests.support.identity import issue_device_token, make_user
from tests.support.pouch_client import _example, document_record, new_id, run_client, seal_record
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.anyio


async def _stored(db: Database, doc_id: str) -> dict[str, Any]:
    """The record with every leaf revision, so a conflict branch added by a push would show too."""
    leaves = await db.client.json("GET", db.doc_path(doc_id), params={"open_revs": "all"})
    return {"leaves": sorted(json.dumps(leaf["ok"], sort_keys=True) for leaf in leaves if "ok" in leaf)}


async def _refusal_codes(db: Database) -> dict[str, str]:
    rows = await db.all_docs(startkey='"refusal:"', endkey='"refusal:\ufff0"', include_docs=True)
    return {row["doc"]["record_id"]: row["doc"]["code"] for row in rows["rows"]}


def _bulk_docs(url: str, token: str, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    answer = httpx.post(
        f"{url}/_bulk_docs",
        json={"docs": docs, "new_edits": False},
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    result: list[dict[str, Any]] = answer.json()
    return result


def _desk_delivery(document: dict[str, Any], sealed: dict[str, Any]) -> dict[str, Any]:
    """A delivery recorded at the office desk, holding the resident's receipt code in clear."""
    delivered = copy.deepcopy(_example("handoff", "valid-delivered-with-receipt-code"))
    delivered.update(
        _id=new_id("handoff"),
        document_id=document["_id"],
        receipt_code=document["receipt_code"],
        prev_hash=record_hash(sealed),
    )
    return delivered


async def test_a_courier_pushing_back_what_it_was_sent_changes_nothing(
    couch: CouchClient, settings: Settings, server_process: ServerProcess, tmp_path: Path
) -> None:
    await make_user(couch, settings, "kurir.a", "courier")
    token = await issue_device_token(couch, settings, "kurir.a")
    db = couch.db(settings.records_db)
    document = document_record("kurir.a")
    seal = seal_record(document["_id"], "BP00000071")
    sealed = copy.deepcopy(_example("handoff", "valid-sealed-signed"))
    sealed.update(_id=new_id("handoff"), document_id=document["_id"])
    delivered = _desk_delivery(document, sealed)
    await db.bulk_docs([document, seal, sealed, delivered])
    before = {doc_id: await _stored(db, doc_id) for doc_id in (document["_id"], delivered["_id"])}
    url = f"{server_process.url}/sync/records"

    # The courier pulls, and pushes straight back: PouchDB finds nothing the server lacks.
    pulled, local, unchanged = run_client(
        url, token, tmp_path / "a", [{"op": "pull"}, {"op": "dump"}, {"op": "push"}]
    )
    assert pulled["ok"], pulled
    sent_document, sent_delivery = (
        local["docs"][document["_id"]]["doc"],
        local["docs"][delivered["_id"]]["doc"],
    )
    assert sent_document["projection"] == "courier" and "receipt_code" not in sent_document
    assert "nik" not in sent_document["resident"] and sent_document["resident"]["nik_masked"]
    assert sent_delivery["projection"] == "courier" and "receipt_code" not in sent_delivery
    assert unchanged["ok"] and unchanged["docs_written"] == 0 and unchanged["denied"] == [], unchanged

    # An edit of what was pulled is a new revision, pushed with new_edits=false: refused, with the reason.
    edited_document = {**sent_document, "resident": {**sent_document["resident"], "phone": "081300000000"}}
    edited_delivery = {**sent_delivery, "note": "diubah di ponsel"}
    _, pushed = run_client(
        url,
        token,
        tmp_path / "a",
        [{"op": "put", "docs": [edited_document, edited_delivery]}, {"op": "push"}],
    )
    assert {entry["id"] for entry in pushed["denied"]} == {document["_id"], delivered["_id"]}, pushed
    assert all("salinan ringkas" in entry["reason"] for entry in pushed["denied"])
    codes = await _refusal_codes(db)
    assert codes == {document["_id"]: "projection", delivered["_id"]: "projection"}

    # Raw pushes: the marker taken off (not a valid record without NIK and code), or a whole document
    # rebuilt by the courier (couriers may not write documents): refused too.
    stripped = {key: value for key, value in edited_document.items() if key != "projection"}
    parent = sent_document["_rev"].split("-")[1]
    stripped.update(_rev="2-" + "a" * 32, _revisions={"start": 2, "ids": ["a" * 32, parent]})
    rebuilt = {**document, "_rev": "2-" + "b" * 32, "_revisions": {"start": 2, "ids": ["b" * 32, parent]}}
    rebuilt["resident"] = {**document["resident"], "phone": "081300000000"}
    answer = _bulk_docs(url, token, [stripped, rebuilt])
    assert [entry.get("error") for entry in answer] == ["forbidden", "forbidden"], answer
    refusals = await db.all_docs(startkey='"refusal:"', endkey='"refusal:\ufff0"', include_docs=True)
    by_rev = {row["doc"]["rev"]: row["doc"]["code"] for row in refusals["rows"]}
    assert by_rev[stripped["_rev"]] == "invalid" and by_rev[rebuilt["_rev"]] == "role"

    # The projection under the revision it came with: accepted as already held, and nothing is written.
    again = _bulk_docs(url, token, [sent_document, sent_delivery])
    assert [entry for entry in again if "error" in entry] == [], again
    for doc_id, state in before.items():
        assert await _stored(db, doc_id) == state
    stored = await db.get(document["_id"])
    assert stored["resident"]["nik"] == document["resident"]["nik"]
    assert stored["receipt_code"] == document["receipt_code"]
    assert (await db.get(delivered["_id"]))["receipt_code"] == document["receipt_code"]


async def test_a_van_crew_pushing_back_a_masked_visit_changes_nothing(
    couch: CouchClient, settings: Settings, server_process: ServerProcess, tmp_path: Path
) -> None:
    await make_user(couch, settings, "van.agus", "van_operator", van="van-balikpapan-1")
    token = await issue_device_token(couch, settings, "van.agus")
    db = couch.db(settings.records_db)
    visit = copy.deepcopy(_example("visit", "valid-recorded"))
    await db.bulk_docs([visit])
    before = await _stored(db, visit["_id"])
    url = f"{server_process.url}/sync/records"

    pulled, local, unchanged = run_client(
        url, token, tmp_path / "van", [{"op": "pull"}, {"op": "dump"}, {"op": "push"}]
    )
    assert pulled["ok"], pulled
    sent = local["docs"][visit["_id"]]["doc"]
    assert sent["projection"] == "van" and "resident_nik" not in sent
    assert unchanged["docs_written"] == 0 and unchanged["denied"] == [], unchanged

    _, pushed = run_client(
        url, token, tmp_path / "van", [{"op": "put", "docs": [{**sent, "outcome": "failed"}]}, {"op": "push"}]
    )
    assert [entry["id"] for entry in pushed["denied"]] == [visit["_id"]], pushed
    assert await _refusal_codes(db) == {visit["_id"]: "projection"}
    assert [entry for entry in _bulk_docs(url, token, [sent]) if "error" in entry] == []
    assert await _stored(db, visit["_id"]) == before
    assert (await db.get(visit["_id"]))["resident_nik"] == visit["resident_nik"]
