"""Courier A cannot read, list, infer or overwrite courier B's records, seals, photos or checkpoints through
any gateway route, and everything that is not replication of `records` is refused in CouchDB's shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from server.settings import Settings
from store.couch import CouchClient
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


async def _world(couch: CouchClient, settings: Settings) -> dict[str, Any]:
    """Courier B's document, seal, handoff and photo (with image) in the database; tokens for A and B."""
    await make_user(couch, settings, "kurir.a", "courier")
    await make_user(couch, settings, "kurir.b", "courier")
    db = couch.db(settings.records_db)
    doc_b = document_record("kurir.b")
    seal_b = seal_record(doc_b["_id"], "BP00000009")
    handoff_b = handoff_record(doc_b["_id"], "kurir.b", seq=1)
    photo_b = photo_record(handoff_b["_id"], doc_b["_id"], "kurir.b", photo_bytes(3000))
    await db.bulk_docs([doc_b, seal_b, handoff_b, photo_b])
    stored = {doc["_id"]: (await db.get(doc["_id"]))["_rev"] for doc in (doc_b, seal_b, handoff_b, photo_b)}
    return {
        "a": {"Authorization": f"Bearer {await issue_device_token(couch, settings, 'kurir.a')}"},
        "b": {"Authorization": f"Bearer {await issue_device_token(couch, settings, 'kurir.b')}"},
        "docs": {"document": doc_b, "seal": seal_b, "handoff": handoff_b, "photo": photo_b},
        "revs": stored,
    }


def _json(headers: dict[str, str]) -> dict[str, str]:
    return headers | {"Content-Type": "application/json"}


async def test_other_courier_cannot_read_list_or_infer_records(
    couch: CouchClient, settings: Settings, server_process: ServerProcess
) -> None:
    world = await _world(couch, settings)
    base = f"{server_process.url}/sync/records"
    a, b = world["a"], world["b"]
    ids = [doc["_id"] for doc in world["docs"].values()]
    photo_id = world["docs"]["photo"]["_id"]

    for doc_id in ids:
        # B reads their own; A gets exactly what a missing record gives.
        assert httpx.get(f"{base}/{doc_id}", headers=b).status_code == 200
        hidden = httpx.get(f"{base}/{doc_id}", headers=a)
        missing = httpx.get(f"{base}/{doc_id[:-2]}ZZ", headers=a)
        assert (
            (hidden.status_code, hidden.json())
            == (missing.status_code, missing.json())
            == (
                404,
                {"error": "not_found", "reason": "missing"},
            )
        )
        open_revs = httpx.get(f"{base}/{doc_id}", params={"open_revs": "all"}, headers=a)
        assert open_revs.status_code == 404
    assert httpx.get(f"{base}/{photo_id}/seal.jpg", headers=b).status_code == 200
    assert httpx.get(f"{base}/{photo_id}/seal.jpg", headers=a).status_code == 404

    changes = httpx.get(f"{base}/_changes", params={"style": "all_docs"}, headers=a).json()
    assert changes["results"] == []
    their_changes = httpx.get(f"{base}/_changes", headers=b).json()
    assert {row["id"] for row in their_changes["results"]} == set(ids)
    # Following the feed from B's position shows A nothing either.
    after = httpx.get(f"{base}/_changes", params={"since": their_changes["last_seq"]}, headers=a).json()
    assert after["results"] == []

    wanted = [{"id": doc_id, "rev": world["revs"][doc_id]} for doc_id in ids]
    got = httpx.post(f"{base}/_bulk_get", params={"revs": "true"}, json={"docs": wanted}, headers=_json(a))
    assert got.status_code == 200 and got.json() == {"results": []}
    got_b = httpx.post(f"{base}/_bulk_get", json={"docs": wanted}, headers=_json(b)).json()
    assert len(got_b["results"]) == len(ids)

    # _revs_diff with the exact stored revisions: A is told they are missing, as if they did not exist.
    diff = httpx.post(
        f"{base}/_revs_diff", json={doc_id: [world["revs"][doc_id]] for doc_id in ids}, headers=_json(a)
    ).json()
    assert diff == {doc_id: {"missing": [world["revs"][doc_id]]} for doc_id in ids}
    diff_b = httpx.post(
        f"{base}/_revs_diff", json={doc_id: [world["revs"][doc_id]] for doc_id in ids}, headers=_json(b)
    ).json()
    assert diff_b == {}

    # The purge answer names B's records for A (they are not A's), never reveals anything else.
    purge = httpx.post(f"{base}/_segel/purge", json={"ids": ids}, headers=_json(b)).json()
    assert purge["purge"] == []
    # Database info gives no global counts.
    info = httpx.get(f"{base}/", headers=a).json()
    assert info["doc_count"] == 0 and info["db_name"] == "records"


async def test_other_courier_cannot_overwrite_or_claim_records(
    couch: CouchClient, settings: Settings, server_process: ServerProcess, tmp_path: Path
) -> None:
    world = await _world(couch, settings)
    base = f"{server_process.url}/sync/records"
    db = couch.db(settings.records_db)
    doc_b, handoff_b, photo_b = world["docs"]["document"], world["docs"]["handoff"], world["docs"]["photo"]

    forged_document = {**doc_b, "assignment": {**doc_b["assignment"], "courier": "kurir.a"}}
    forged_document.update(
        _rev="2-aaaa", _revisions={"start": 2, "ids": ["aaaa", world["revs"][doc_b["_id"]][2:]]}
    )
    overwrite_handoff = {**handoff_b, "note": "changed by A", "_rev": "2-bbbb"}
    overwrite_handoff["_revisions"] = {"start": 2, "ids": ["bbbb", world["revs"][handoff_b["_id"]][2:]]}
    claiming_b = {**handoff_record(doc_b["_id"], "kurir.b", seq=5), "_rev": "1-cccc"}
    answer = httpx.post(
        f"{base}/_bulk_docs",
        json={"docs": [forged_document, overwrite_handoff, claiming_b], "new_edits": False},
        headers=_json(world["a"]),
    )
    assert answer.status_code == 201
    assert {entry["id"]: entry["error"] for entry in answer.json()} == {
        doc_b["_id"]: "forbidden",
        handoff_b["_id"]: "forbidden",
        claiming_b["_id"]: "forbidden",
    }
    assert (await db.get(doc_b["_id"]))["assignment"]["courier"] == "kurir.b"
    assert (await db.get(handoff_b["_id"]))["_rev"] == world["revs"][handoff_b["_id"]]
    assert await db.get_or_none(claiming_b["_id"]) is None

    # Attachment PUT on B's waiting photo: looks missing to A.
    put = httpx.put(
        f"{base}/{photo_b['_id']}/seal.jpg",
        params={"rev": world["revs"][photo_b["_id"]]},
        content=b"\xff\xd8\xff",
        headers=world["a"] | {"Content-Type": "image/jpeg"},
    )
    assert put.status_code == 404

    # Checkpoints: the same client id names two separate documents for A and B.
    for who, value in (("b", "b-secret-seq"), ("a", "a-seq")):
        written = httpx.put(f"{base}/_local/rep1", json={"last_seq": value}, headers=_json(world[who]))
        assert written.status_code == 201 and written.json()["id"] == "_local/rep1"
    assert httpx.get(f"{base}/_local/rep1", headers=world["a"]).json()["last_seq"] == "a-seq"
    assert httpx.get(f"{base}/_local/rep1", headers=world["b"]).json()["last_seq"] == "b-secret-seq"
    assert httpx.get(f"{base}/_local/kurir.b:nodevice:rep1", headers=world["a"]).status_code in (400, 404)
    assert httpx.get(f"{base}/_local/..%2Frep1", headers=world["a"]).status_code in (400, 403, 404)

    # A stock PouchDB client of A pulls nothing of B's.
    pulled = run_client(
        base, world["a"]["Authorization"][7:], tmp_path / "a", [{"op": "pull"}, {"op": "dump"}]
    )
    assert pulled[0]["ok"] and pulled[1]["count"] == 0


REFUSED = [
    ("GET", "/sync/_all_dbs"),
    ("GET", "/sync/_config"),
    ("GET", "/sync/_users/org.couchdb.user:admin"),
    ("GET", "/sync/records/_all_docs"),
    ("POST", "/sync/records/_find"),
    ("GET", "/sync/records/_design/gateway"),
    ("GET", "/sync/records/_design/gateway/_view/by_scope"),
    ("GET", "/sync/records/_security"),
    ("GET", "/sync/identity/"),
    ("GET", "/sync/records/receipt:document:AAAAAAAA"),
    ("DELETE", "/sync/records/"),
    ("GET", "/sync/records/_changes?filter=_view&view=gateway/by_scope"),
]


async def test_everything_else_is_refused_as_json(
    couch: CouchClient, settings: Settings, server_process: ServerProcess
) -> None:
    await make_user(couch, settings, "staff.one", "staff")
    headers = {"Authorization": f"Bearer {await issue_device_token(couch, settings, 'staff.one')}"}
    for method, path in REFUSED:
        answer = httpx.request(method, f"{server_process.url}{path}", headers=headers)
        assert 400 <= answer.status_code < 500, (path, answer.status_code)
        assert set(answer.json()) == {"error", "reason"}, path


async def test_no_principal_no_gateway(server_process: ServerProcess) -> None:
    for path in ("/sync/", "/sync/records/", "/sync/records/_changes", "/sync/_all_dbs"):
        answer = httpx.get(f"{server_process.url}{path}")
        assert answer.status_code == 401 and answer.json()["error"] == "unauthorized"


async def test_bad_input_gets_a_clear_4xx_and_changes_nothing(
    couch: CouchClient, settings: Settings, server_process: ServerProcess
) -> None:
    await make_user(couch, settings, "staff.one", "staff")
    headers = {"Authorization": f"Bearer {await issue_device_token(couch, settings, 'staff.one')}"}
    base = f"{server_process.url}/sync/records"
    db = couch.db(settings.records_db)
    before = (await db.info())["doc_count"]
    cases: list[tuple[str, dict[str, Any], int]] = [
        ("/_bulk_docs", {"content": b"{not json", "headers": _json(headers)}, 400),
        ("/_bulk_docs", {"content": b"{}", "headers": headers | {"Content-Type": "text/plain"}}, 415),
        (
            "/_bulk_docs",
            {"json": {"docs": [document_record(None, author="staff.one")]}, "headers": _json(headers)},
            400,
        ),
        ("/_bulk_docs", {"json": {"docs": [{}] * 1001, "new_edits": False}, "headers": _json(headers)}, 400),
        (
            "/_revs_diff",
            {"json": {f"document:{i:08d}": ["1-a"] for i in range(1001)}, "headers": _json(headers)},
            400,
        ),
        (
            "/_bulk_get",
            {"json": {"docs": [{"id": "document:AAAAAAAA"}] * 1001}, "headers": _json(headers)},
            400,
        ),
        ("/_bulk_get", {"json": {"docs": "all"}, "headers": _json(headers)}, 400),
        (
            "/_bulk_docs",
            {"content": b'{"docs": [' + b" " * (65 * 1024 * 1024) + b"]}", "headers": _json(headers)},
            413,
        ),
    ]
    for path, kwargs, status in cases:
        answer = httpx.post(f"{base}{path}", timeout=60, **kwargs)
        assert answer.status_code == status, (path, answer.status_code, answer.text[:200])
        assert set(answer.json()) == {"error", "reason"}
    assert (await db.info())["doc_count"] == before

    # Design documents and ids with path tricks inside a replication batch are refused per document.
    sneaky = [
        {"_id": "_design/evil", "_rev": "1-a", "views": {}},
        {"_id": "../_users", "_rev": "1-a"},
    ]
    answer = httpx.post(
        f"{base}/_bulk_docs", json={"docs": sneaky, "new_edits": False}, headers=_json(headers)
    )
    assert [entry["error"] for entry in answer.json()] == ["forbidden", "forbidden"]
    assert await db.get_or_none("_design/evil") is None
