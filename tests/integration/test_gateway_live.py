"""Live sync picks up what staff write; records that leave a courier's scope leave the device."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import anyio
import httpx
import pytest

from server.settings import Settings
from store.couch import CouchClient
from tests.support.identity import issue_device_token, make_user
from tests.support.pouch_client import document_record, run_client, seal_record
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.anyio


async def test_live_sync_picks_up_a_document_staff_assign_later(
    couch: CouchClient, settings: Settings, server_process: ServerProcess, tmp_path: Path
) -> None:
    await make_user(couch, settings, "kurir.a", "courier")
    token = await issue_device_token(couch, settings, "kurir.a")
    db = couch.db(settings.records_db)
    first = document_record("kurir.a")
    await db.bulk_docs([first])
    later = document_record("kurir.a")
    later_seal = seal_record(later["_id"], "BP00000077")
    url = f"{server_process.url}/sync/records"
    results: list[object] = []

    async def live() -> None:
        steps = [{"op": "live", "seconds": 25, "wait_for": [first["_id"], later["_id"], later_seal["_id"]]}]
        results.extend(await anyio.to_thread.run_sync(lambda: run_client(url, token, tmp_path / "a", steps)))

    async with anyio.create_task_group() as group:
        group.start_soon(live)
        await anyio.sleep(3)
        # Staff bind the seal first (A cannot see it yet), then assign the document: both must arrive.
        await db.bulk_docs([later_seal])
        await anyio.sleep(0.5)
        await db.bulk_docs([later])
    assert results[0] == {"seen": True, "denied": []}


async def test_reassigned_document_is_purged_from_the_device(
    couch: CouchClient, settings: Settings, server_process: ServerProcess, tmp_path: Path
) -> None:
    await make_user(couch, settings, "kurir.a", "courier")
    token = await issue_device_token(couch, settings, "kurir.a")
    db = couch.db(settings.records_db)
    keep, moving = document_record("kurir.a"), document_record("kurir.a")
    moving_seal = seal_record(moving["_id"], "BP00000088")
    await db.bulk_docs([keep, moving, moving_seal])
    url = f"{server_process.url}/sync/records"

    before = run_client(url, token, tmp_path / "a", [{"op": "pull"}, {"op": "dump"}])
    assert set(before[1]["docs"]) == {keep["_id"], moving["_id"], moving_seal["_id"]}

    current = await db.get(moving["_id"])
    current["assignment"]["courier"] = "kurir.b"
    await db.put(current)

    after = run_client(url, token, tmp_path / "a", [{"op": "purge"}, {"op": "pull"}, {"op": "dump"}])
    assert sorted(after[0]["purge"]) == sorted([moving["_id"], moving_seal["_id"]])
    assert set(after[2]["docs"]) == {keep["_id"]}

    # A PWA that purges with a local deletion pushes the tombstone: it is neither stored nor refused.
    generation, rev_hash = (await db.get(moving["_id"]))["_rev"].split("-")
    tombstone = {
        "_id": moving["_id"],
        "_rev": f"{int(generation) + 1}-deadbeef",
        "_deleted": True,
        "_revisions": {"start": int(generation) + 1, "ids": ["deadbeef", rev_hash]},
    }
    answer = httpx.post(
        f"{url}/_bulk_docs",
        json={"docs": [tombstone], "new_edits": False},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 201 and answer.json() == []
    assert (await db.get(moving["_id"]))["assignment"]["courier"] == "kurir.b"
    assert await db.get_or_none(f"refusal:{moving['_id']}:{tombstone['_rev']}") is None


async def test_longpoll_waits_through_invisible_changes_and_answers_a_visible_one(
    couch: CouchClient, settings: Settings, server_process: ServerProcess
) -> None:
    await make_user(couch, settings, "kurir.a", "courier")
    headers = {"Authorization": f"Bearer {await issue_device_token(couch, settings, 'kurir.a')}"}
    db = couch.db(settings.records_db)
    url = f"{server_process.url}/sync/records/_changes"
    since = httpx.get(url, headers=headers).json()["last_seq"]
    answers: list[tuple[float, httpx.Response]] = []

    def longpoll() -> None:
        started = time.monotonic()
        params = {"feed": "longpoll", "since": since, "heartbeat": "1000", "timeout": "20000"}
        answers.append((started, httpx.get(url, params=params, headers=headers, timeout=30)))

    theirs, mine = document_record("kurir.b"), document_record("kurir.a")
    async with anyio.create_task_group() as group:
        group.start_soon(anyio.to_thread.run_sync, longpoll)
        await anyio.sleep(1.5)
        await db.bulk_docs([theirs])
        await anyio.sleep(2.0)
        written = time.monotonic()
        await db.bulk_docs([mine])
    started, answer = answers[0]
    assert answer.status_code == 200
    assert [row["id"] for row in answer.json()["results"]] == [mine["_id"]]
    assert time.monotonic() - written < 5 and written - started > 3


async def test_a_stopping_server_answers_held_longpolls_and_exits_cleanly(
    couch: CouchClient, settings: Settings, server_process: ServerProcess
) -> None:
    """A restart or a rolling deploy: each live phone gets a whole, empty answer and asks again, instead of
    a connection cut after the grace time (which also kept every stop waiting on the longest longpoll)."""
    await make_user(couch, settings, "kurir.a", "courier")
    token = await issue_device_token(couch, settings, "kurir.a")
    await couch.db(settings.records_db).bulk_docs([document_record("kurir.a")])
    url = f"{server_process.url}/sync/records/_changes"
    auth = {"Authorization": f"Bearer {token}"}
    since = httpx.get(url, headers=auth).json()["last_seq"]
    answers: list[httpx.Response] = []

    def hold() -> None:
        params = {"feed": "longpoll", "since": since, "timeout": "60000", "heartbeat": "30000"}
        answers.append(httpx.get(url, params=params, headers=auth, timeout=90))

    async with anyio.create_task_group() as group:
        group.start_soon(anyio.to_thread.run_sync, hold)
        await anyio.sleep(2)
        assert not answers, "the longpoll should still be held: nothing new for this courier"
        status = await anyio.to_thread.run_sync(server_process.stop)

    # uvicorn ends by raising the signal it was stopped with again, after its own orderly shutdown.
    assert status in (0, -signal.SIGTERM), f"the server should exit by itself, not be killed ({status})"
    answer = answers[0]
    assert answer.status_code == 200
    body = json.loads(answer.text.strip())
    assert body["results"] == [] and body["last_seq"], "an empty answer the phone goes on from"
