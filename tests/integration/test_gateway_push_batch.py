"""A pushed batch through the gateway: its handoffs are verified together, every passkey use is audited,
receipts carry the verdicts, and a handoff whose signature fails is refused and stored as a refusal."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from server.identity.audit import events
from server.settings import Settings
from store.couch import CouchClient
from tests.support.identity import issue_device_token, make_user
from tests.support.pouch_client import document_record, handoff_record, run_client
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.anyio


async def test_a_pushed_batch_is_verified_audited_and_receipted_together(
    couch: CouchClient, settings: Settings, server_process: ServerProcess, tmp_path: Path
) -> None:
    await make_user(couch, settings, "kurir.a", "courier")
    token = await issue_device_token(couch, settings, "kurir.a")
    db = couch.db(settings.records_db)
    mine = document_record("kurir.a")
    await db.bulk_docs([mine])
    unsigned = [handoff_record(mine["_id"], "kurir.a", seq=n) for n in (1, 2, 3)]
    forged = handoff_record(mine["_id"], "kurir.a", seq=4)
    forged.pop("unsigned_reason")
    forged["signature"] = {
        "credential_id": "bm90LWEtcGFzc2tleQ",
        "authenticator_data": "AAAA",
        "client_data_json": "e30",
        "signature": "AAAA",
    }

    results = run_client(
        f"{server_process.url}/sync/records",
        token,
        tmp_path / "a",
        [{"op": "put", "docs": [*unsigned, forged]}, {"op": "push"}],
    )

    denied = {entry["id"]: entry["reason"] for entry in results[1]["denied"]}
    assert list(denied) == [forged["_id"]], results[1]
    assert "passkey" in denied[forged["_id"]]
    assert await db.get_or_none(forged["_id"]) is None
    refusals = await db.all_docs(startkey='"refusal:"', endkey='"refusal:\ufff0"', include_docs=True)
    assert [(row["doc"]["record_id"], row["doc"]["code"]) for row in refusals["rows"]] == [
        (forged["_id"], "signature")
    ]
    for record in unsigned:
        assert await db.get_or_none(record["_id"]) is not None
        receipt = await couch.db(settings.receipts_db).get(f"receipt:{record['_id']}")
        assert receipt["signature"]["status"] == "unsigned" and receipt["needs_review"] is True
    audited = {(e.get("record_id"), e["event"]) for e in await events(couch, settings)}
    assert not {r["_id"] for r in unsigned} & {record_id for record_id, _ in audited}  # receipts keep them
    assert (forged["_id"], "signature_refused") in audited


async def test_the_same_batch_pushed_twice_at_once_leaves_one_record_and_one_receipt_each(
    couch: CouchClient, settings: Settings, server_process: ServerProcess
) -> None:
    """A phone whose answer was lost pushes the batch again while the first request is still being written
    (or two gateway instances get it): the receipts are written with a revision derived from their id, so
    the databases end with one revision of each record and of each receipt, and no conflicts."""
    await make_user(couch, settings, "kurir.a", "courier")
    token = await issue_device_token(couch, settings, "kurir.a")
    db = couch.db(settings.records_db)
    mine = document_record("kurir.a")
    await db.bulk_docs([mine])
    batch = [{**handoff_record(mine["_id"], "kurir.a", seq=n), "_rev": f"1-{n:032x}"} for n in (1, 2, 3)]
    url = f"{server_process.url}/sync/records/_bulk_docs"
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=60) as http:
        answers = await asyncio.gather(
            *(http.post(url, json={"docs": batch, "new_edits": False}, headers=headers) for _ in range(4))
        )
    assert [answer.status_code for answer in answers] == [201] * 4, [a.text for a in answers]
    assert all(answer.json() == [] for answer in answers), [a.text for a in answers]
    for record in batch:
        stored = await db.get(record["_id"], conflicts="true")
        assert stored["_rev"] == record["_rev"] and "_conflicts" not in stored
        receipt = await couch.db(settings.receipts_db).get(f"receipt:{record['_id']}", conflicts="true")
        assert "_conflicts" not in receipt, receipt
        assert receipt["received_from"] == "kurir.a" and receipt["signature"]["status"] == "unsigned"
