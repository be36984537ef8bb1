"""Closing delivered assignments after the grace period: the document leaves the courier's phone."""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from records.schemas import validate_record
from records.types import JSONDict
from server.office import intake
from server.office.closure import close_ended_assignments
from server.office.config import OfficeConfig
from server.office.ledger import OFFICE_TZ, Ledger, now_iso
from server.office.timeline import load_timeline
from server.residents.story import plain_story
from server.settings import Settings
from store.couch import CouchClient
from tests.support.identity import issue_device_token, make_user
from tests.support.office import next_handoff, put_document, ready_ledger, staff
from tests.support.pouch_client import run_client
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.anyio

COURIER = "gojek.andi"
CONFIG = OfficeConfig()  # 24 hours of grace


def hours_ago(hours: float) -> datetime:
    return datetime.now(OFFICE_TZ) - timedelta(hours=hours)


async def assign_at(ledger: Ledger, document_id: str, when: datetime, courier: str = COURIER) -> JSONDict:
    document = await ledger.records.get(document_id)
    document["assignment"] = {"courier": courier, "partner": "gojek", "assigned_at": now_iso(when)}
    document["_rev"] = await ledger.records.put(document)
    return document


async def carried(ledger: Ledger, *kinds_and_hours: tuple[str, float]) -> tuple[str, list[JSONDict]]:
    """A document assigned 30 h ago, sealed, picked up 29 h ago, then the given handoffs (kind, hours ago)."""
    document_id = str((await put_document(ledger))["_id"])
    await assign_at(ledger, document_id, hours_ago(30))
    seal = f"BP{secrets.randbelow(10**8):08d}"
    previous = await intake.bind_seal(ledger, staff(), document_id, seal)
    chain = [next_handoff(previous, "picked_up", author=COURIER, device_time=now_iso(hours_ago(29)))]
    for kind, hours in kinds_and_hours:
        chain.append(next_handoff(chain[-1], kind, author=COURIER, device_time=now_iso(hours_ago(hours))))
    for handoff in chain:
        await ledger.records.put(handoff)
    return document_id, chain


async def assigned_to(ledger: Ledger, document_id: str) -> str | None:
    return ((await ledger.records.get(document_id)).get("assignment") or {}).get("courier")


async def closures(ledger: Ledger) -> list[JSONDict]:
    rows = await ledger.office.all_docs(startkey='"closure:"', endkey='"closure:\ufff0"', include_docs=True)
    return [row["doc"] for row in rows["rows"]]


async def test_delivered_past_grace_leaves_the_couriers_phone(
    couch: CouchClient, settings: Settings, server_process: ServerProcess, tmp_path: Path
) -> None:
    ledger = await ready_ledger(couch, settings)
    await make_user(couch, settings, COURIER, "courier")
    token = await issue_device_token(couch, settings, COURIER)
    old, old_chain = await carried(ledger, ("delivered", 25))
    recent, _ = await carried(ledger, ("delivered", 1))
    url = f"{server_process.url}/sync/records"
    phone = tmp_path / "phone"

    before = run_client(url, token, phone, [{"op": "pull"}, {"op": "dump"}])
    assert before[0]["ok"], before[0]
    assert {old, recent, *(h["_id"] for h in old_chain)} <= set(before[1]["docs"])

    unchanged = await ledger.records.get(old)
    run = await close_ended_assignments(ledger, CONFIG)
    assert run.closed == 1
    closed = await ledger.records.get(old)
    assert "assignment" not in closed and validate_record(closed) == []
    assert {k: v for k, v in closed.items() if k != "_rev"} == {
        k: v for k, v in unchanged.items() if k not in ("_rev", "assignment")
    }
    assert await assigned_to(ledger, recent) == COURIER
    [entry] = await closures(ledger)
    assert (entry["document_id"], entry["handoff_id"]) == (old, old_chain[-1]["_id"])
    assert (entry["courier"], entry["partner"], entry["kind"]) == (COURIER, "gojek", "delivered")
    # Staff see the closure in the timeline, and the resident's page still names who carried the envelope.
    timeline = await load_timeline(ledger, closed)
    assert [e["_id"] for e in timeline.office_entries if e["type"] == "closure"] == [entry["_id"]]
    assert "Amplop dibawa kurir Gojek untuk diantar." in [
        text for _, text in plain_story(closed, timeline).steps
    ]

    after = run_client(url, token, phone, [{"op": "pull"}, {"op": "purge"}, {"op": "dump"}])
    assert after[0]["ok"], after[0]
    assert after[1]["status"] == 200
    assert {old, *(h["_id"] for h in old_chain)} <= set(after[1]["purge"])
    assert recent not in after[1]["purge"]
    assert old not in after[2]["docs"] and recent in after[2]["docs"]


async def test_open_or_reassigned_custody_is_kept(couch: CouchClient, settings: Settings) -> None:
    ledger = await ready_ledger(couch, settings)
    recent, _ = await carried(ledger, ("delivered", 1))
    failed, _ = await carried(ledger, ("failed_attempt", 25))
    reassigned, _ = await carried(ledger, ("delivered", 25))
    await assign_at(ledger, reassigned, hours_ago(2), courier="grab.sari")
    returned, _ = await carried(ledger, ("failed_attempt", 27), ("returned", 26))
    lost, _ = await carried(ledger, ("lost", 25))
    picked_up_again, chain = await carried(ledger, ("returned", 28))
    await ledger.records.put(next_handoff(chain[-1], "picked_up", device_time=now_iso(hours_ago(27))))

    run = await close_ended_assignments(ledger, CONFIG)

    assert run.closed == 2
    assert await assigned_to(ledger, returned) is None and await assigned_to(ledger, lost) is None
    assert await assigned_to(ledger, recent) == COURIER
    assert await assigned_to(ledger, failed) == COURIER
    assert await assigned_to(ledger, reassigned) == "grab.sari"
    assert await assigned_to(ledger, picked_up_again) == COURIER
    # An hour later than the grace the recent delivery is closed too; the rest still stay.
    later = await close_ended_assignments(ledger, CONFIG, now=datetime.now(OFFICE_TZ) + timedelta(hours=24))
    assert later.closed == 1 and await assigned_to(ledger, recent) is None
    assert (
        await assigned_to(ledger, reassigned) == "grab.sari" and await assigned_to(ledger, failed) == COURIER
    )


async def test_second_run_changes_nothing(couch: CouchClient, settings: Settings) -> None:
    ledger = await ready_ledger(couch, settings)
    document_id, _ = await carried(ledger, ("delivered", 25))
    assert (await close_ended_assignments(ledger, CONFIG)).closed == 1
    # Every record's revision, not the database's update_seq: a sequence is opaque, and a cluster may
    # word the same state differently from one answer to the next.
    before = (await ledger.records.all_docs())["rows"]

    again = await close_ended_assignments(ledger, CONFIG)

    assert again.closed == 0 and again.read == 0
    assert (await ledger.records.all_docs())["rows"] == before
    assert any(row["id"] == document_id for row in before)
    assert len(await closures(ledger)) == 1


async def test_two_workers_at_once_close_each_document_once(couch: CouchClient, settings: Settings) -> None:
    ledger = await ready_ledger(couch, settings)
    ids = [(await carried(ledger, ("delivered", 25 + i)))[0] for i in range(3)]
    revs = {d: (await ledger.records.get(d))["_rev"] for d in ids}

    runs = await asyncio.gather(
        close_ended_assignments(ledger, CONFIG), close_ended_assignments(Ledger.of(couch, settings), CONFIG)
    )

    assert sum(run.closed for run in runs) == 3
    for document_id in ids:
        closed = await ledger.records.get(document_id)
        assert "assignment" not in closed
        assert int(closed["_rev"].split("-")[0]) == int(revs[document_id].split("-")[0]) + 1
    assert sorted(entry["document_id"] for entry in await closures(ledger)) == sorted(ids)


async def test_a_delivery_synced_late_gets_the_grace_from_its_arrival(
    couch: CouchClient, settings: Settings, server_process: ServerProcess, tmp_path: Path
) -> None:
    ledger = await ready_ledger(couch, settings)
    await make_user(couch, settings, COURIER, "courier")
    token = await issue_device_token(couch, settings, COURIER)
    document_id, chain = await carried(ledger)
    url = f"{server_process.url}/sync/records"
    # The phone was offline: the delivery happened 25 hours ago by its clock and reaches the server now.
    delivered = next_handoff(chain[-1], "delivered", author=COURIER, device_time=now_iso(hours_ago(25)))
    pushed = run_client(
        url, token, tmp_path / "phone", [{"op": "pull"}, {"op": "put", "docs": [delivered]}, {"op": "push"}]
    )
    assert pushed[2]["ok"] and pushed[2]["denied"] == [], pushed[2]
    assert (await ledger.receipts.get(f"receipt:{delivered['_id']}"))["record_id"] == delivered["_id"]

    assert (await close_ended_assignments(ledger, CONFIG)).closed == 0
    assert await assigned_to(ledger, document_id) == COURIER

    tomorrow = datetime.now(OFFICE_TZ) + timedelta(hours=24, minutes=5)
    assert (await close_ended_assignments(ledger, CONFIG, now=tomorrow)).closed == 1
    assert await assigned_to(ledger, document_id) is None
    assert (await close_ended_assignments(ledger, CONFIG, now=tomorrow)).read == 0  # looked at once


async def received(ledger: Ledger, handoff: JSONDict, hours: float) -> None:
    """The gateway's receipt of a handoff it stored `hours` ago (as the gateway writes it)."""
    await ledger.receipts.put(
        {
            "_id": f"receipt:{handoff['_id']}",
            "type": "receipt",
            "record_id": handoff["_id"],
            "record_type": "handoff",
            "rev": handoff.get("_rev"),
            "office": handoff.get("office"),
            "received_at": now_iso(hours_ago(hours)),
            "received_from": COURIER,
        }
    )


async def test_receipts_close_when_each_is_due_whatever_their_order_in_the_feed(
    couch: CouchClient, settings: Settings
) -> None:
    """The server clock reads the receipts in the feed's order (a cluster's is not the order of arrival):
    one not old enough closes later, and neither holds back one after it that is, nor is skipped."""
    ledger = await ready_ledger(couch, settings)
    # All three were delivered 28 hours ago by the phone's clock; what counts is when each arrived.
    due, due_chain = await carried(ledger, ("delivered", 28))
    fresh, fresh_chain = await carried(ledger, ("delivered", 28))
    behind, behind_chain = await carried(ledger, ("delivered", 28))
    await received(ledger, due_chain[-1], 27)
    await received(ledger, fresh_chain[-1], 1)
    await received(ledger, behind_chain[-1], 25)  # stored after the fresh one, by a gateway's clock set back

    first = await close_ended_assignments(ledger, CONFIG)

    assert first.closed == 2
    assert await assigned_to(ledger, due) is None and await assigned_to(ledger, behind) is None
    assert await assigned_to(ledger, fresh) == COURIER
    assert (await close_ended_assignments(ledger, CONFIG)).closed == 0

    tomorrow = datetime.now(OFFICE_TZ) + timedelta(hours=24, minutes=5)
    assert (await close_ended_assignments(ledger, CONFIG, now=tomorrow)).closed == 1
    assert await assigned_to(ledger, fresh) is None
    assert (await close_ended_assignments(ledger, CONFIG, now=tomorrow)).read == 0
    assert sorted(entry["document_id"] for entry in await closures(ledger)) == sorted([due, fresh, behind])


async def test_a_checkpoint_of_the_version_with_a_receipts_view_still_closes_what_is_due(
    couch: CouchClient, settings: Settings
) -> None:
    """An upgrade: the checkpoint names a position in the receipts view that no longer exists. The feed is
    read from its start once, so a delivery received before the upgrade still has its assignment closed."""
    ledger = await ready_ledger(couch, settings)
    document_id, chain = await carried(ledger, ("delivered", 28))
    await received(ledger, chain[-1], 27)
    await ledger.office.put(
        {
            "_id": "checkpoint:closure",
            "type": "checkpoint",
            "after": {"server": ["server", now_iso(hours_ago(31)), "handoff:x"]},
        }
    )

    assert (await close_ended_assignments(ledger, CONFIG)).closed == 1
    assert await assigned_to(ledger, document_id) is None


async def test_zero_hours_keeps_assignments(couch: CouchClient, settings: Settings) -> None:
    ledger = await ready_ledger(couch, settings)
    document_id, _ = await carried(ledger, ("delivered", 25))
    off = OfficeConfig.from_env({"SEGEL_CLOSE_AFTER_HOURS": "0"})
    assert (await close_ended_assignments(ledger, off)).closed == 0
    assert await assigned_to(ledger, document_id) == COURIER
    with pytest.raises(ValueError, match="SEGEL_CLOSE_AFTER_HOURS"):
        OfficeConfig.from_env({"SEGEL_CLOSE_AFTER_HOURS": "sehari"})
