"""An upgrade from a version that kept receipts and seq claims among the records: every start moves them to
the receipts database, a move cut off half-way is finished by the next start, and a sequence number claimed
before the upgrade stays taken after it."""

from __future__ import annotations

import pytest

from server.databases import prepare_databases
from server.office import intake
from server.office.timeline import load_timeline
from server.receipts_move import move_receipts
from server.settings import Settings
from store.couch import CouchClient, Database
from tests.support.office import next_handoff, put_document, ready_ledger, staff

pytestmark = pytest.mark.anyio


def _old_claim(author: str, seq: int, handoff_id: str) -> dict[str, object]:
    return {"_id": f"seqclaim:{author}:{seq}", "type": "seq_claim", "handoff_id": handoff_id}


async def _ids(db: Database, prefix: str) -> dict[str, str]:
    rows = await db.all_docs(startkey=f'"{prefix}"', endkey=f'"{prefix}\ufff0"')
    return {str(row["id"]): str(row["value"]["rev"]) for row in rows["rows"]}


async def test_a_start_moves_old_receipts_and_claims_and_the_office_still_reads_them(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    doc = await put_document(ledger)
    sealed = await intake.bind_seal(ledger, staff(), str(doc["_id"]), "BP00007001")
    sealed_doc = await ledger.records.get(str(sealed["_id"]))
    pickup = next_handoff(sealed_doc, "picked_up", device_time="2026-11-17T10:41:00+08:00")
    await ledger.records.put(pickup)
    # What the earlier version wrote: the receipt and the phone's claim among the records.
    old = [
        {
            "_id": f"receipt:{pickup['_id']}",
            "type": "receipt",
            "record_id": pickup["_id"],
            "record_type": "handoff",
            "received_at": "2026-11-17T02:41:20Z",
            "signature": {"status": "unsigned"},
        },
        *(_old_claim("budi.santoso", seq, f"handoff:old{seq}") for seq in (7, 8)),
    ]
    await ledger.records.bulk_docs(old)
    before = {**await _ids(ledger.records, "receipt:"), **await _ids(ledger.records, "seqclaim:")}

    await prepare_databases(couch, settings)

    assert await _ids(ledger.records, "receipt:") == {} and await _ids(ledger.records, "seqclaim:") == {}
    after = {**await _ids(ledger.receipts, "receipt:"), **await _ids(ledger.receipts, "seqclaim:")}
    assert {k: v for k, v in after.items() if k in before} == before  # the same revisions, no new branch
    # The office reads the moved receipt: the pickup's time is when the server received it, not the phone's.
    timeline = await load_timeline(ledger, await ledger.records.get(str(doc["_id"])))
    times = {str(event.handoff["_id"]): event.server_time for event in timeline.events}
    assert times[str(pickup["_id"])] == "2026-11-17T02:41:20Z", times
    # A second start has nothing left to move.
    assert await move_receipts(ledger.records, ledger.receipts) == 0


async def test_a_move_cut_off_after_the_copy_is_finished_by_the_next_start(
    couch: CouchClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = await ready_ledger(couch, settings)
    await ledger.records.bulk_docs([_old_claim("kurir.a", seq, f"handoff:h{seq}") for seq in range(1, 31)])
    real_bulk_docs = Database.bulk_docs

    async def dies_on_delete(self: Database, docs: list[dict[str, object]], **kwargs: bool) -> object:
        if self.path.endswith(settings.records_db) and docs and docs[0].get("_deleted"):
            raise ConnectionResetError("process killed between the copy and the delete")
        return await real_bulk_docs(self, docs, **kwargs)

    monkeypatch.setattr(Database, "bulk_docs", dies_on_delete)
    with pytest.raises(ConnectionResetError):
        await move_receipts(ledger.records, ledger.receipts, page=10)
    monkeypatch.setattr(Database, "bulk_docs", real_bulk_docs)
    assert len(await _ids(ledger.records, "seqclaim:")) == 30  # nothing lost: copied, not yet deleted
    assert len(await _ids(ledger.receipts, "seqclaim:")) == 10

    assert await move_receipts(ledger.records, ledger.receipts, page=10) == 30
    assert await _ids(ledger.records, "seqclaim:") == {}
    moved = await ledger.receipts.all_docs(
        startkey='"seqclaim:"', endkey='"seqclaim:\ufff0"', include_docs=True, conflicts=True
    )
    assert len(moved["rows"]) == 30
    assert not [row for row in moved["rows"] if row["doc"].get("_conflicts")]


async def test_a_seq_claimed_before_the_upgrade_stays_taken(couch: CouchClient, settings: Settings) -> None:
    ledger = await ready_ledger(couch, settings)
    await ledger.records.bulk_docs([_old_claim("budi.santoso", seq, "handoff:phone") for seq in (1, 2)])
    await prepare_databases(couch, settings)
    doc = await put_document(ledger)
    sealed = await intake.bind_seal(ledger, staff(), str(doc["_id"]), "BP00007002")
    assert sealed["seq"] == 3
