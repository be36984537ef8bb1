"""A conflict made by two devices is resolved by staff, and both revisions stay in history (real CouchDB)."""

from __future__ import annotations

import pytest

from server.office.conflicts import ConflictError, load_revisions, resolve_conflict
from server.office.exceptions import list_queue
from server.settings import Settings
from store.couch import CouchClient
from tests.support.office import put_document, ready_ledger, staff

pytestmark = pytest.mark.anyio


async def test_two_devices_conflict_is_resolved_keeping_both_revisions(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    doc = await put_document(ledger)
    doc_id, base_rev = str(doc["_id"]), str(doc["_rev"])
    generation, base_hash = base_rev.split("-")
    # Two phones edited the same revision offline and replicated (new_edits=false, as PouchDB pushes).
    desk = {**doc, "delivery": "self_pickup", "_rev": f"2-{'a' * 32}"}
    phone = {
        **doc,
        "delivery": "courier",
        "assignment": {
            "courier": "gojek.andi",
            "partner": "gojek",
            "assigned_at": "2026-11-23T09:00:00+08:00",
        },
    }
    phone["_rev"] = f"2-{'b' * 32}"
    for edit in (desk, phone):
        edit["_revisions"] = {"start": 2, "ids": [edit["_rev"].split("-")[1], base_hash]}
    await ledger.records.bulk_docs([desk, phone], new_edits=False)
    assert generation == "1"

    queue = await list_queue(ledger, "6471")
    assert [item.subject for item in queue if item.kind == "conflict"] == [doc_id]
    assert [item.kind for item in await list_queue(ledger, "3273")] == []
    current, revisions = await load_revisions(ledger, doc_id)
    assert {r["delivery"] for r in revisions} == {"self_pickup", "courier"}
    with pytest.raises(ConflictError):
        await resolve_conflict(ledger, staff("3273", "rina.bdg"), doc_id, desk["_rev"], "pilih desk")

    resolution = await resolve_conflict(
        ledger, staff(), doc_id, desk["_rev"], "Penduduk memilih ambil sendiri"
    )

    after = await ledger.records.get(doc_id, conflicts=True)
    assert after["delivery"] == "self_pickup" and "_conflicts" not in after
    assert after["_rev"].startswith("3-") and "assignment" not in after
    history = await ledger.office.get(str(resolution["history_id"]))
    assert {r["_rev"] for r in history["revisions"]} == {desk["_rev"], phone["_rev"]}
    assert (
        next(r for r in history["revisions"] if r["_rev"] == phone["_rev"])["assignment"]["courier"]
        == "gojek.andi"
    )
    assert [item for item in await list_queue(ledger, "6471") if item.kind == "conflict"] == []
    assert current["_rev"] in (desk["_rev"], phone["_rev"])
