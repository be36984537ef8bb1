"""Nothing accepted is lost and nothing is stored twice when the gateway, the database or the network fail
mid-push: after the client's retries the database holds exactly what the client holds."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from server.settings import Settings
from store.couch import CouchClient
from tests.support.databases import ApacheCluster, DatabaseServer, chosen_kind
from tests.support.flaky_proxy import FlakyProxy
from tests.support.identity import issue_device_token, make_user
from tests.support.pouch_client import document_record, handoff_record, photo_bytes, photo_record, run_client
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.anyio


async def _courier_with_documents(
    couch: CouchClient, settings: Settings, documents: int
) -> tuple[str, list[str]]:
    await make_user(couch, settings, "kurir.a", "courier")
    docs = [document_record("kurir.a") for _ in range(documents)]
    await couch.db(settings.records_db).bulk_docs(docs)
    return await issue_device_token(couch, settings, "kurir.a"), [doc["_id"] for doc in docs]


def _records(document_ids: list[str], records: int, photos: int) -> list[dict[str, Any]]:
    """`records` records of courier A, `photos` of them photo records with a ~5 KB image each."""
    out: list[dict[str, Any]] = []
    for number in range(records - photos):
        out.append(handoff_record(document_ids[number % len(document_ids)], "kurir.a", seq=number + 1))
    for number in range(photos):
        handoff = out[number]
        out.append(photo_record(handoff["_id"], handoff["document_id"], "kurir.a", photo_bytes(5000)))
    return out


async def _assert_database_holds_what_the_client_holds(
    couch: CouchClient, settings: Settings, local: dict[str, Any], expected: int
) -> None:
    db = couch.db(settings.records_db)
    mine = {doc_id: entry for doc_id, entry in local["docs"].items() if not doc_id.startswith("document:")}
    assert len(mine) == expected
    rows: dict[str, Any] = {}
    ids = sorted(mine)
    for start in range(0, len(ids), 200):
        result = await db.client.json(
            "POST",
            f"{db.path}/_all_docs",
            params={"include_docs": True, "attachments": True, "conflicts": True},
            json={"keys": ids[start : start + 200]},
        )
        rows.update({row["key"]: row for row in result["rows"]})
    for doc_id, entry in mine.items():
        doc = rows[doc_id].get("doc")
        assert doc is not None, f"{doc_id} is on the phone but not in the database"
        assert doc["_rev"] == entry["rev"] and "_conflicts" not in doc
        for name, digest in entry["attachments"].items():
            stored = base64.b64decode(doc["_attachments"][name]["data"])
            assert hashlib.sha256(stored).hexdigest() == digest == doc["sha256"]
    # Every stored record has the server's receipt (written, in the receipts database, before the record).
    receipts_db = couch.db(settings.receipts_db)
    receipts = await db.client.json(
        "POST", f"{receipts_db.path}/_all_docs", json={"keys": [f"receipt:{doc_id}" for doc_id in ids]}
    )
    missing = [row["key"] for row in receipts["rows"] if "id" not in row]
    assert missing == [], f"{len(missing)} stored records have no receipt, e.g. {missing[:3]}"
    # Nothing the phone does not hold: every handoff and photo of A in the database is one of the phone's.
    by_author = await db.client.json(
        "GET",
        f"{db.path}/_design/gateway/_view/handoff_seq",
        params={"startkey": '["kurir.a"]', "endkey": '["kurir.a",{}]'},
    )
    assert len(by_author["rows"]) == sum(1 for doc_id in mine if doc_id.startswith("handoff:"))


async def _push_with_fault(
    couch: CouchClient,
    settings: Settings,
    url: str,
    token: str,
    directory: Path,
    records: list[dict[str, Any]],
    fault: Callable[[], Any],
) -> list[Any]:
    """Push in the background; once part of it reached the database, run `fault` (which must heal)."""
    run_client(url, token, directory, [{"op": "put", "docs": records}])
    db = couch.db(settings.records_db)
    start = (await db.info())["doc_count"]
    results: list[Any] = []

    async def push() -> None:
        steps = [{"op": "push_until_done", "seconds": 100}, {"op": "dump"}]
        results.extend(
            await anyio.to_thread.run_sync(lambda: run_client(url, token, directory, steps, stall_seconds=8))
        )

    async with anyio.create_task_group() as group:
        group.start_soon(push)
        deadline = time.monotonic() + 30
        while (await db.info())["doc_count"] < start + 150 and time.monotonic() < deadline:
            await anyio.sleep(0.05)
        await anyio.to_thread.run_sync(fault)
    return results


async def test_gateway_killed_mid_push_of_2000_records_with_200_photos(
    couch: CouchClient, settings: Settings, server_process: ServerProcess, tmp_path: Path
) -> None:
    token, document_ids = await _courier_with_documents(couch, settings, 100)
    records = _records(document_ids, 2000, 200)

    def crash_and_restart() -> None:
        server_process.kill()
        time.sleep(0.5)
        server_process.start()

    url = f"{server_process.url}/sync/records"
    results = await _push_with_fault(couch, settings, url, token, tmp_path / "a", records, crash_and_restart)
    assert results[0]["ok"] and results[0]["denied"] == [], results[0]
    await _assert_database_holds_what_the_client_holds(couch, settings, results[1], 2000)


async def test_database_killed_mid_push(
    couch: CouchClient,
    settings: Settings,
    server_process: ServerProcess,
    couch_server: DatabaseServer,
    tmp_path: Path,
) -> None:
    token, document_ids = await _courier_with_documents(couch, settings, 50)
    records = _records(document_ids, 600, 60)

    def crash_and_restart() -> None:
        couch_server.kill()
        time.sleep(1.0)
        couch_server.start()

    url = f"{server_process.url}/sync/records"
    results = await _push_with_fault(couch, settings, url, token, tmp_path / "a", records, crash_and_restart)
    assert results[0]["ok"] and results[0]["denied"] == [], results[0]
    await _assert_database_holds_what_the_client_holds(couch, settings, results[1], 600)


async def test_connections_cut_at_random_on_a_fifth_of_requests(
    couch: CouchClient, settings: Settings, server_process: ServerProcess, tmp_path: Path
) -> None:
    token, document_ids = await _courier_with_documents(couch, settings, 20)
    records = _records(document_ids, 150, 15)
    with FlakyProxy(server_process.port, cut_ratio=0.2) as proxy:
        url = f"http://127.0.0.1:{proxy.port}/sync/records"
        pushed = await anyio.to_thread.run_sync(
            lambda: run_client(
                url,
                token,
                tmp_path / "a",
                [
                    {"op": "put", "docs": records},
                    {"op": "push_until_done", "seconds": 80, "batch_size": 150},
                    {"op": "dump"},
                ],
                stall_seconds=3,
            )
        )
        assert proxy.cuts > 0
    # A second phone of the same courier pulls everything back through a link as bad, every photo with
    # its digest.
    with FlakyProxy(server_process.port, cut_ratio=0.2, seed=11) as pull_proxy:
        flaky = f"http://127.0.0.1:{pull_proxy.port}/sync/records"
        pulled = await anyio.to_thread.run_sync(
            lambda: run_client(
                flaky,
                token,
                tmp_path / "b",
                [{"op": "pull_until_done", "seconds": 80}, {"op": "dump"}],
                stall_seconds=3,
            )
        )
        assert pull_proxy.cuts > 0
    assert pushed[1]["ok"], pushed[1]
    await _assert_database_holds_what_the_client_holds(couch, settings, pushed[2], 150)
    assert pulled[0]["ok"], pulled[0]
    phone_a = {doc_id: entry["attachments"] for doc_id, entry in pushed[2]["docs"].items()}
    phone_b = {doc_id: entry["attachments"] for doc_id, entry in pulled[1]["docs"].items()}
    assert {doc_id: phone_b.get(doc_id) for doc_id in phone_a} == phone_a


@pytest.mark.skipif(chosen_kind() != "cluster", reason="needs a cluster: SEGEL_TEST_COUCHDB=cluster")
async def test_cluster_node_killed_mid_push_of_2000_records_with_200_photos(
    couch: CouchClient,
    settings: Settings,
    server_process: ServerProcess,
    couch_server: DatabaseServer,
    tmp_path: Path,
) -> None:
    """One of three nodes dies while a phone pushes and comes back later: with n=3 the other two keep
    quorum, the push goes on, and the database (read through the node that died, once it is back) holds
    exactly what the phone holds."""
    assert isinstance(couch_server, ApacheCluster)
    node = couch_server.nodes[1]  # not the node the gateway talks to: that one is the load balancer's job
    token, document_ids = await _courier_with_documents(couch, settings, 100)
    records = _records(document_ids, 2000, 200)

    was_down: list[bool] = []

    def kill_and_revive_node() -> None:
        node.kill()
        was_down.append(node.exit_code() is not None)
        time.sleep(3.0)  # the push goes on against two nodes meanwhile
        node.start()

    url = f"{server_process.url}/sync/records"
    results = await _push_with_fault(
        couch, settings, url, token, tmp_path / "a", records, kill_and_revive_node
    )
    assert was_down == [True]
    assert results[0]["ok"] and results[0]["denied"] == [], results[0]
    through_revived = CouchClient(node.url, settings.couchdb_user, settings.couchdb_password)
    try:
        await _assert_database_holds_what_the_client_holds(through_revived, settings, results[1], 2000)
    finally:
        await through_revived.aclose()
