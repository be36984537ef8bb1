"""Junk from one device cannot flood the database or the exceptions queue (issue 12, item 4), and the phone
still hears why every record was refused."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from server.office.exceptions import list_queue
from server.settings import Settings
from store.couch import CouchClient
from sync.refusals import MAX_RECORD_BYTES, WHOLE_PER_HOUR
from sync.replication import now_iso
from tests.support.identity import issue_device_token, make_user
from tests.support.office import ready_ledger
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.anyio


def _junk(batch: int, number: int) -> dict[str, object]:
    """A record no rule accepts, 5 KB of junk in it."""
    return {
        "_id": f"handoff:JUNK{batch:02d}x{number:04d}",
        "_rev": "1-0123456789abcdef0123456789abcdef",
        "type": "handoff",
        "office": "6471",
        "author": "kurir.a",
        "junk": "x" * 5000,
    }


async def test_five_hundred_junk_refusals_leave_a_bounded_trace_and_one_queue_item(
    couch: CouchClient, settings: Settings, server_process: ServerProcess
) -> None:
    await make_user(couch, settings, "kurir.a", "courier", office="6471")
    headers = {
        "Authorization": f"Bearer {await issue_device_token(couch, settings, 'kurir.a')}",
        "Content-Type": "application/json",
    }
    hours = {now_iso()[:13]}
    async with httpx.AsyncClient(base_url=f"{server_process.url}/sync/records", timeout=60) as client:
        # Five pushes of 100 at once: the bound holds between concurrent pushes too.
        answers = await asyncio.gather(
            *(
                client.post(
                    "/_bulk_docs",
                    json={"docs": [_junk(batch, n) for n in range(100)], "new_edits": False},
                    headers=headers,
                )
                for batch in range(5)
            )
        )
    hours.add(now_iso()[:13])  # a run across the full hour makes two tallies, never more
    entries = [entry for answer in answers for entry in answer.json()]
    assert [answer.status_code for answer in answers] == [201] * 5
    assert len(entries) == 500 and len({entry["id"] for entry in entries}) == 500
    assert all(entry["error"] == "forbidden" and "Data tidak lengkap" in entry["reason"] for entry in entries)
    # The phone may speak either language: the reason is said in both, the English from the catalogue.
    assert all("(The record is incomplete or wrong: " in entry["reason"] for entry in entries)

    db = couch.db(settings.records_db)
    kept = await db.all_docs(startkey='"refusal"', endkey='"refusal\ufff0"', include_docs=True)
    docs = [row["doc"] for row in kept["rows"]]
    tallies = [doc for doc in docs if doc["type"] == "refusal_tally"]
    whole = [doc for doc in docs if doc["type"] == "refusal"]
    assert len(tallies) == len(hours) and len(whole) <= WHOLE_PER_HOUR * len(hours)
    assert len(whole) >= WHOLE_PER_HOUR  # the first ones are kept whole, for staff to read
    assert sum(tally["total"] for tally in tallies) == 500
    assert sum(tally["counts"]["invalid"] for tally in tallies) == 500
    for refusal in whole:
        # The reason's msgid and values are kept, so an office page says it in its reader's language.
        assert refusal["message"] == "Data tidak lengkap atau salah: %(details)s."
        assert refusal["message_args"]["details"] in refusal["reason"]
        assert len(json.dumps(refusal["record"])) <= MAX_RECORD_BYTES and "junk" not in refusal["record"]
        assert refusal["record_trimmed"] is True and refusal["record"]["author"] == "kurir.a"

    ledger = await ready_ledger(couch, settings)
    refused = [item for item in await list_queue(ledger, "6471") if item.kind == "refused"]
    assert len(refused) == len(hours)
    assert sum(int(item.detail.split(" ", 1)[0]) for item in refused) == 500
    assert all("catatan ditolak dari kurir.a" in item.detail for item in refused)
    # The codes counted read as words, not as the gateway's identifiers.
    assert all("(data tidak lengkap atau salah " in item.detail for item in refused)
    assert not any("invalid" in item.detail for item in refused)
