"""Text answers travel gzipped to a client that accepts it (a phone on a slow link gets its first records
several times sooner); photo bytes and clients that do not accept gzip get exactly what was stored."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from server.settings import Settings
from store.couch import CouchClient
from tests.support.identity import issue_device_token, make_user
from tests.support.pouch_client import document_record, photo_bytes, photo_record, seal_record
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.anyio

GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}


async def test_sync_json_is_gzipped_and_says_the_same(
    couch: CouchClient, settings: Settings, server_process: ServerProcess
) -> None:
    await make_user(couch, settings, "kurir.a", "courier")
    await make_user(couch, settings, "kurir.b", "courier")
    a = {"Authorization": f"Bearer {await issue_device_token(couch, settings, 'kurir.a')}"}
    b = {"Authorization": f"Bearer {await issue_device_token(couch, settings, 'kurir.b')}"}
    docs = [document_record("kurir.a") for _ in range(20)]
    await couch.db(settings.records_db).bulk_docs(
        [*docs, *(seal_record(d["_id"], f"BP{i:08d}") for i, d in enumerate(docs))]
    )
    base = f"{server_process.url}/sync/records"
    params = {"style": "all_docs"}

    zipped = httpx.get(f"{base}/_changes", params=params, headers=a | GZIP)
    plain = httpx.get(f"{base}/_changes", params=params, headers=a | IDENTITY)
    assert zipped.status_code == plain.status_code == 200
    assert zipped.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert "accept-encoding" in zipped.headers["vary"].lower()
    assert int(zipped.headers["content-length"]) < len(plain.content) / 3
    # The same rows; not the same `seq` strings: a cluster's sequences are opaque and may differ between two
    # reads of the same feed (each names the shard copies that answered).
    assert _rows(zipped.json()) == _rows(plain.json()) and len(plain.json()["results"]) == 40

    # Still only what this courier may see, compressed or not; a small answer goes as is.
    other = httpx.get(f"{base}/_changes", params=params, headers=b | GZIP)
    assert other.status_code == 200 and other.json()["results"] == []
    assert "content-encoding" not in other.headers

    wanted = {"docs": [{"id": d["_id"]} for d in docs]}
    bulk = httpx.post(f"{base}/_bulk_get", params={"revs": "true"}, json=wanted, headers=a | GZIP)
    assert bulk.status_code == 200 and bulk.headers["content-encoding"] == "gzip"
    assert {r["docs"][0]["ok"]["_id"] for r in bulk.json()["results"]} == {d["_id"] for d in docs}


async def test_photo_bytes_are_sent_as_stored(
    couch: CouchClient, settings: Settings, server_process: ServerProcess
) -> None:
    await make_user(couch, settings, "kurir.a", "courier")
    a = {"Authorization": f"Bearer {await issue_device_token(couch, settings, 'kurir.a')}"}
    document = document_record("kurir.a")
    image = photo_bytes(40_000, seed=b"0123456789abcdef")  # repetitive: gzip would shrink it a lot
    photo = photo_record("handoff:01JDTESTX0000000000000000", document["_id"], "kurir.a", image)
    await couch.db(settings.records_db).bulk_docs([document, photo])

    answer = httpx.get(f"{server_process.url}/sync/records/{photo['_id']}/seal.jpg", headers=a | GZIP)
    assert answer.status_code == 200
    assert "content-encoding" not in answer.headers
    assert int(answer.headers["content-length"]) == len(image)
    assert hashlib.sha256(answer.content).hexdigest() == photo["sha256"]


def test_schemas_and_pages_are_gzipped(server_process: ServerProcess) -> None:
    for path in ("/schemas/handoff.schema.json", "/app"):
        zipped = httpx.get(f"{server_process.url}{path}", headers=GZIP)
        plain = httpx.get(f"{server_process.url}{path}", headers=IDENTITY)
        assert zipped.status_code == plain.status_code == 200
        assert zipped.headers["content-encoding"] == "gzip", path
        assert zipped.content == plain.content
        assert int(zipped.headers["content-length"]) < len(plain.content)


def _rows(feed: dict[str, Any]) -> list[tuple[str, list[Any], bool]]:
    """A `_changes` answer without its sequence strings, in id order (a clustered feed is not ordered)."""
    return sorted((row["id"], row["changes"], bool(row.get("deleted"))) for row in feed["results"])
