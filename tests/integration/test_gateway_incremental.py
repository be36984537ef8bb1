"""A stock PouchDB 9 client's incremental pulls through the real server: exactly the user's changes, a
document that enters a courier's scope with its history, and a checkpoint that outlives the server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from devtools.embedded import free_port
from server.settings import Settings
from store.couch import CouchClient
from sync.changes import BRIDGE_ROWS
from tests.conftest import settings_env
from tests.support import logscan
from tests.support.flaky_proxy import FlakyProxy
from tests.support.identity import issue_device_token, make_user
from tests.support.pouch_client import (
    document_record,
    handoff_record,
    photo_bytes,
    photo_record,
    run_client,
    seal_record,
)
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.anyio


@pytest.fixture
def recorded_server(settings: Settings) -> Iterator[tuple[ServerProcess, FlakyProxy]]:
    """The real server, talking to the database through a proxy that notes every request line."""
    database_port = urlsplit(settings.couchdb_url).port
    assert database_port is not None
    with FlakyProxy(database_port, cut_ratio=0.0, record=True) as proxy:
        port = free_port()
        env = settings_env(settings) | {
            "SEGEL_ORIGIN": f"http://localhost:{port}",
            "COUCHDB_URL": f"http://127.0.0.1:{proxy.port}",
        }
        server = ServerProcess(env=env, port=port, log_path=logscan.log_file("server"))
        server.start()
        yield server, proxy
        server.stop()


async def _people(couch: CouchClient, settings: Settings) -> dict[str, str]:
    await make_user(couch, settings, "kurir.a", "courier")
    await make_user(couch, settings, "kurir.b", "courier")
    return {user: await issue_device_token(couch, settings, user) for user in ("kurir.a", "kurir.b")}


async def _write(couch: CouchClient, settings: Settings, docs: list[dict[str, Any]]) -> None:
    db = couch.db(settings.records_db)
    for start in range(0, len(docs), 500):
        await db.bulk_docs(docs[start : start + 500])


def _others(count: int) -> list[dict[str, Any]]:
    return [
        document_record("kurir.z", office="6472") if number % 4 else document_record("kurir.b")
        for number in range(count)
    ]


def _raw_pull(url: str, token: str, since: str) -> tuple[set[str], str]:
    ids: set[str] = set()
    headers = {"Authorization": f"Bearer {token}"}
    while True:
        body = httpx.get(f"{url}/_changes", params={"since": since}, headers=headers, timeout=30).json()
        if not body["results"]:
            return ids, str(body["last_seq"])
        ids.update(row["id"] for row in body["results"])
        since = body["results"][-1]["seq"]


def _until_seen(url: str, token: str, since: str, expected: set[str], timeout: float = 20.0) -> None:
    """Wait until the server's cache has `expected` for this user (a pull from `since` shows them)."""
    deadline = time.monotonic() + timeout
    while not expected <= _raw_pull(url, token, since)[0]:
        assert time.monotonic() < deadline, "the server never showed the changes"
        time.sleep(0.2)


def _pulled(url: str, token: str, directory: Path) -> dict[str, Any]:
    result = run_client(url, token, directory, [{"op": "pull"}, {"op": "dump"}])
    assert result[0]["ok"], result[0]
    docs: dict[str, Any] = result[1]["docs"]
    return docs


async def test_a_phone_pulls_exactly_its_own_changes_after_thousands_of_others_without_the_global_feed(
    couch: CouchClient,
    settings: Settings,
    recorded_server: tuple[ServerProcess, FlakyProxy],
    tmp_path: Path,
) -> None:
    server, proxy = recorded_server
    tokens = await _people(couch, settings)
    mine = document_record("kurir.a")
    await _write(couch, settings, [mine])
    url = f"{server.url}/sync/records"
    assert set(_pulled(url, tokens["kurir.a"], tmp_path / "a")) == {mine["_id"]}
    _, since = _raw_pull(url, tokens["kurir.a"], "0")

    later = document_record("kurir.a")
    new = [later, seal_record(later["_id"], "BP00000401"), seal_record(mine["_id"], "BP00000402")]
    others = _others(3000)
    await _write(couch, settings, [*others[:1500], *new, *others[1500:]])
    _until_seen(url, tokens["kurir.a"], since, {str(doc["_id"]) for doc in new})

    proxy.request_lines.clear()
    docs = _pulled(url, tokens["kurir.a"], tmp_path / "a")
    assert set(docs) == {mine["_id"], *(str(doc["_id"]) for doc in new)}
    records = f"/{settings.records_db}/"
    asked = [line for line in proxy.request_lines if records in line]
    global_reads = [line for line in asked if "/_changes" in line and "feed=longpoll" not in line]
    assert global_reads == [], global_reads[:3]
    assert len([line for line in asked if "/_all_docs" in line]) <= 6, asked


async def test_a_document_reassigned_later_arrives_with_its_earlier_seals_handoffs_and_photos(
    couch: CouchClient, settings: Settings, server_process: ServerProcess, tmp_path: Path
) -> None:
    tokens = await _people(couch, settings)
    db = couch.db(settings.records_db)
    url = f"{server_process.url}/sync/records"
    assert _pulled(url, tokens["kurir.a"], tmp_path / "a") == {}
    _, a_since = _raw_pull(url, tokens["kurir.a"], "0")

    # Staff register the document and bind its seal before anyone carries it, then give it to kurir.b,
    # who records a failed attempt with a photo.
    document = document_record(None)
    seal = seal_record(document["_id"], "BP00000411")
    await _write(couch, settings, [document, seal])
    assigned = await db.get(document["_id"])
    assigned["assignment"] = {**document_record("kurir.b")["assignment"]}
    await db.put(assigned)
    handoff = handoff_record(document["_id"], "kurir.b", seq=1)
    photo = photo_record(handoff["_id"], document["_id"], "kurir.b", photo_bytes(6000))
    handoff["photos"] = [photo["_id"]]
    await _write(couch, settings, [handoff, photo])
    history = {document["_id"], seal["_id"], handoff["_id"], photo["_id"]}
    b_docs = _pulled(url, tokens["kurir.b"], tmp_path / "b")
    assert set(b_docs) == history
    b_rev = b_docs[document["_id"]]["rev"]

    # The office gives it to kurir.a: A's next pull brings the document and its whole history.
    moved = await db.get(document["_id"])
    moved["assignment"]["courier"] = "kurir.a"
    moved_rev = await db.put(moved)
    _until_seen(url, tokens["kurir.a"], a_since, history)
    a_docs = _pulled(url, tokens["kurir.a"], tmp_path / "a")
    assert set(a_docs) == history
    assert a_docs[photo["_id"]]["attachments"]["seal.jpg"] == photo["sha256"]

    # B is told nothing of the move (not even the new revision) and the purge takes it all away.
    steps: list[dict[str, Any]] = [{"op": "pull"}, {"op": "dump"}, {"op": "purge"}, {"op": "dump"}]
    after = run_client(url, tokens["kurir.b"], tmp_path / "b", steps)
    assert after[0]["ok"], after[0]
    assert after[1]["docs"][document["_id"]]["rev"] == b_rev != moved_rev
    assert sorted(after[2]["purge"]) == sorted(history)
    assert after[3]["docs"] == {}


async def test_a_checkpoint_from_before_the_server_restarted_still_syncs_exactly(
    couch: CouchClient, settings: Settings, server_process: ServerProcess, tmp_path: Path
) -> None:
    """A restarted server's cache starts empty with a new epoch: a phone's checkpoint crosses over through
    the global feed when it is little behind, and starts its pull again when far behind; nothing of A's
    is lost, nothing of another courier arrives."""
    tokens = await _people(couch, settings)
    mine = document_record("kurir.a")
    await _write(couch, settings, [mine, document_record("kurir.b")])
    url = f"{server_process.url}/sync/records"
    expected = {mine["_id"]}
    assert set(_pulled(url, tokens["kurir.a"], tmp_path / "a")) == expected

    for others in (30, BRIDGE_ROWS + 300):
        server_process.kill()
        new, seal = document_record("kurir.a"), seal_record(mine["_id"], f"BP{others:08d}")
        await _write(couch, settings, [*_others(others // 2), new, seal, *_others(others // 2)])
        server_process.start()
        expected |= {new["_id"], seal["_id"]}
        assert set(_pulled(url, tokens["kurir.a"], tmp_path / "a")) == expected
