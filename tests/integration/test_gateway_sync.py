"""A stock PouchDB 9 client replicates through the gateway: pull what is yours, push what you may write."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import httpx
import pytest

from server.settings import Settings
from store.couch import CouchClient
from tests.support.identity import issue_device_token, make_user, revoke_user
from tests.support.pouch_client import (
    document_record,
    handoff_record,
    photo_bytes,
    photo_record,
    run_client,
    seal_record,
)
from tests.support.servers import REPO_ROOT, ServerProcess

pytestmark = pytest.mark.anyio


async def _people(couch: CouchClient, settings: Settings) -> dict[str, str]:
    await make_user(couch, settings, "staff.one", "staff")
    await make_user(couch, settings, "kurir.a", "courier")
    await make_user(couch, settings, "kurir.b", "courier")
    return {
        "staff": await issue_device_token(couch, settings, "staff.one"),
        "a": await issue_device_token(couch, settings, "kurir.a"),
        "b": await issue_device_token(couch, settings, "kurir.b"),
    }


async def test_courier_pulls_own_documents_and_pushes_handoff_with_photo(
    couch: CouchClient, settings: Settings, server_process: ServerProcess, tmp_path: Path
) -> None:
    tokens = await _people(couch, settings)
    db = couch.db(settings.records_db)
    mine, theirs = document_record("kurir.a"), document_record("kurir.b")
    my_seal, their_seal = seal_record(mine["_id"], "BP00000001"), seal_record(theirs["_id"], "BP00000002")
    await db.bulk_docs([mine, theirs, my_seal, their_seal])
    url = f"{server_process.url}/sync/records"

    pulled = run_client(url, tokens["a"], tmp_path / "a", [{"op": "pull"}, {"op": "dump"}])
    assert pulled[0]["ok"], pulled[0]
    assert set(pulled[1]["docs"]) == {mine["_id"], my_seal["_id"]}

    handoff = handoff_record(mine["_id"], "kurir.a", seq=1)
    image = photo_bytes(20_000)
    photo = photo_record(handoff["_id"], mine["_id"], "kurir.a", image)
    handoff["photos"] = [photo["_id"]]
    pushed = run_client(
        url,
        tokens["a"],
        tmp_path / "a",
        [{"op": "put", "docs": [handoff, photo]}, {"op": "push"}, {"op": "dump"}],
    )
    assert pushed[1]["ok"] and pushed[1]["denied"] == [], pushed[1]
    stored_photo = await db.get(photo["_id"], attachments=True)
    stored_bytes = base64.b64decode(stored_photo["_attachments"]["seal.jpg"]["data"])
    assert hashlib.sha256(stored_bytes).hexdigest() == photo["sha256"]
    assert (await db.get(handoff["_id"]))["author"] == "kurir.a"
    receipt = await couch.db(settings.receipts_db).get(f"receipt:{photo['_id']}")
    assert receipt["photo"] == "verified" and receipt["received_from"] == "kurir.a"

    # A second device of the same courier pulls the photo back with its image intact.
    again = run_client(url, tokens["a"], tmp_path / "a2", [{"op": "pull"}, {"op": "dump"}])
    assert again[1]["docs"][photo["_id"]]["attachments"]["seal.jpg"] == photo["sha256"]
    assert handoff["_id"] in again[1]["docs"]


async def test_refused_records_are_denied_and_the_rest_go_through(
    couch: CouchClient, settings: Settings, server_process: ServerProcess, tmp_path: Path
) -> None:
    tokens = await _people(couch, settings)
    db = couch.db(settings.records_db)
    mine, theirs = document_record("kurir.a"), document_record("kurir.b")
    await db.bulk_docs([mine, theirs])
    good = handoff_record(mine["_id"], "kurir.a", seq=1)
    as_b = handoff_record(mine["_id"], "kurir.b", seq=2)
    on_bs_document = handoff_record(theirs["_id"], "kurir.a", seq=3)
    bad_photo = photo_record(good["_id"], mine["_id"], "kurir.a", photo_bytes(3000), sha256="ab" * 32)
    replayed = handoff_record(mine["_id"], "kurir.a", seq=1)  # the seq of `good`, under another id
    url = f"{server_process.url}/sync/records"

    results = run_client(
        url,
        tokens["a"],
        tmp_path / "a",
        [{"op": "put", "docs": [good, as_b, on_bs_document, bad_photo, replayed]}, {"op": "push"}],
    )
    push = results[1]
    denied = {entry["id"]: entry["reason"] for entry in push["denied"]}
    assert set(denied) == {as_b["_id"], on_bs_document["_id"], bad_photo["_id"], replayed["_id"]}, push
    assert "pengguna lain" in denied[as_b["_id"]]
    assert "ulangan" in denied[replayed["_id"]]
    assert "SHA-256" in denied[bad_photo["_id"]]
    assert await db.get_or_none(good["_id"]) is not None
    for refused in (as_b, on_bs_document, bad_photo, replayed):
        assert await db.get_or_none(refused["_id"]) is None
    refusals = await db.all_docs(startkey='"refusal:"', endkey='"refusal:\ufff0"', include_docs=True)
    assert {row["doc"]["record_id"] for row in refusals["rows"]} == set(denied)
    assert all(row["doc"]["user"] == "kurir.a" for row in refusals["rows"])


async def test_photo_record_waits_for_its_image_then_receives_it(
    couch: CouchClient, settings: Settings, server_process: ServerProcess, tmp_path: Path
) -> None:
    tokens = await _people(couch, settings)
    db = couch.db(settings.records_db)
    mine = document_record("kurir.a")
    await db.bulk_docs([mine])
    handoff = handoff_record(mine["_id"], "kurir.a", seq=1)
    image = photo_bytes(8000)
    photo = photo_record(handoff["_id"], mine["_id"], "kurir.a", None)
    photo.update(sha256=hashlib.sha256(image).hexdigest(), size=len(image))
    url = f"{server_process.url}/sync/records"
    pushed = run_client(
        url, tokens["a"], tmp_path / "a", [{"op": "put", "docs": [handoff, photo]}, {"op": "push"}]
    )
    assert pushed[1]["ok"] and pushed[1]["denied"] == []
    receipt = await couch.db(settings.receipts_db).get(f"receipt:{photo['_id']}")
    assert receipt["photo"] == "waiting" and receipt["needs_review"] is True

    auth = {"Authorization": f"Bearer {tokens['a']}"}
    rev = (await db.get(photo["_id"]))["_rev"]
    wrong = httpx.put(
        f"{url}/{photo['_id']}/seal.jpg",
        params={"rev": rev},
        content=image[:-1] + b"x",
        headers=auth | {"Content-Type": "image/jpeg"},
    )
    assert wrong.status_code == 403 and "SHA-256" in wrong.json()["reason"]
    put = httpx.put(
        f"{url}/{photo['_id']}/seal.jpg",
        params={"rev": rev},
        content=image,
        headers=auth | {"Content-Type": "image/jpeg"},
    )
    assert put.status_code == 201, put.text
    assert (await couch.db(settings.receipts_db).get(f"receipt:{photo['_id']}"))["photo"] == "verified"
    got = httpx.get(f"{url}/{photo['_id']}/seal.jpg", headers=auth)
    assert got.content == image and got.headers["content-type"] == "image/jpeg"
    again = httpx.put(
        f"{url}/{photo['_id']}/seal.jpg",
        params={"rev": put.json()["rev"]},
        content=image,
        headers=auth | {"Content-Type": "image/jpeg"},
    )
    assert again.status_code == 403


async def test_conflicting_revisions_are_kept_and_listed_for_staff(
    couch: CouchClient, settings: Settings, server_process: ServerProcess
) -> None:
    tokens = await _people(couch, settings)
    db = couch.db(settings.records_db)
    document = document_record("kurir.a", author="staff.one")
    url = f"{server_process.url}/sync/records"
    staff = {"Authorization": f"Bearer {tokens['staff']}"}
    # Two phones of the office edited the same document offline: two revisions of generation 2.
    base = {**document, "_rev": "1-aaaa", "_revisions": {"start": 1, "ids": ["aaaa"]}}
    left = {
        **base,
        "delivery": "self_pickup",
        "_rev": "2-bbbb",
        "_revisions": {"start": 2, "ids": ["bbbb", "aaaa"]},
    }
    right = {
        **base,
        "receipt_code": "Q7M4QX",
        "_rev": "2-cccc",
        "_revisions": {"start": 2, "ids": ["cccc", "aaaa"]},
    }
    for version in (base, left, right):
        answer = httpx.post(f"{url}/_bulk_docs", json={"docs": [version], "new_edits": False}, headers=staff)
        assert answer.status_code == 201 and answer.json() == [], answer.text
    listed = httpx.get(f"{url}/_segel/conflicts", headers=staff).json()
    assert listed["rows"] == [{"id": document["_id"], "office": "6471", "conflicts": ["2-bbbb"]}]
    both = httpx.get(f"{url}/{document['_id']}", params={"open_revs": "all"}, headers=staff).json()
    assert sorted(item["ok"]["_rev"] for item in both) == ["2-bbbb", "2-cccc"]
    courier = httpx.get(f"{url}/_segel/conflicts", headers={"Authorization": f"Bearer {tokens['a']}"})
    assert courier.status_code == 403
    assert (await db.get(document["_id"], conflicts=True))["_conflicts"] == ["2-bbbb"]


async def test_van_operators_and_staff_pull_their_own_scope(
    couch: CouchClient, settings: Settings, server_process: ServerProcess, tmp_path: Path
) -> None:
    await make_user(couch, settings, "van.satu", "van_operator", van="van-bpn-1")
    await make_user(couch, settings, "staff.one", "staff")
    await make_user(couch, settings, "staff.jkt", "staff", office="3171")
    example = json.loads((REPO_ROOT / "schemas/examples/visit/valid-recorded.json").read_text())
    visit = {
        **example,
        "_id": "visit:VISIT00000001",
        "van": "van-bpn-1",
        "author": "van.satu",
        "office": "6471",
    }
    other_visit = {**visit, "_id": "visit:VISIT00000002", "van": "van-bpn-2"}
    stop = {
        "_id": "stop:20261123-klandasan",
        "type": "stop",
        "office": "6471",
        "van": "van-bpn-1",
        "date": "2026-11-23",
    }
    other_stop = {**stop, "_id": "stop:20261123-sepinggan", "van": "van-bpn-2"}
    document = document_record("kurir.a")
    db = couch.db(settings.records_db)
    await db.bulk_docs([visit, other_visit, stop, other_stop, document])
    url = f"{server_process.url}/sync/records"

    def pulled(user: str, token: str) -> set[str]:
        result = run_client(url, token, tmp_path / user, [{"op": "pull"}, {"op": "dump"}])
        assert result[0]["ok"], result[0]
        return set(result[1]["docs"])

    assert pulled("van", await issue_device_token(couch, settings, "van.satu")) == {visit["_id"], stop["_id"]}
    everything = {visit["_id"], other_visit["_id"], stop["_id"], other_stop["_id"], document["_id"]}
    assert pulled("staff", await issue_device_token(couch, settings, "staff.one")) == everything
    assert pulled("jakarta", await issue_device_token(couch, settings, "staff.jkt")) == set()


async def test_a_revoked_user_is_refused_on_the_very_next_request(
    couch: CouchClient, settings: Settings, server_process: ServerProcess
) -> None:
    tokens = await _people(couch, settings)
    url = f"{server_process.url}/sync/records/_changes"
    assert httpx.get(url, headers={"Authorization": f"Bearer {tokens['a']}"}).status_code == 200
    await revoke_user(couch, settings, "kurir.a")
    answer = httpx.get(url, headers={"Authorization": f"Bearer {tokens['a']}"})
    assert answer.status_code == 401 and answer.json()["error"] == "unauthorized"


async def test_photos_at_the_size_limit_fit_the_databases_document_and_request_limits(
    couch: CouchClient, settings: Settings, server_process: ServerProcess, tmp_path: Path
) -> None:
    """Three seal photos of just under the 5 MB a photo may have, in one push: each is written whole on
    every database (CouchDB's max_document_size and max_http_request_size, PouchDB Server's request limit),
    and a second phone pulls them back byte for byte."""
    tokens = await _people(couch, settings)
    mine = document_record("kurir.a")
    await couch.db(settings.records_db).put(mine)
    url = f"{server_process.url}/sync/records"
    records: list[dict[str, object]] = []
    for seq in (1, 2, 3):
        handoff = handoff_record(mine["_id"], "kurir.a", seq=seq)
        photo = photo_record(handoff["_id"], mine["_id"], "kurir.a", photo_bytes(5 * 1024 * 1024 - 4096))
        handoff["photos"] = [photo["_id"]]
        records += [handoff, photo]
    pushed = run_client(
        url, tokens["a"], tmp_path / "a", [{"op": "put", "docs": records}, {"op": "push"}, {"op": "dump"}]
    )
    assert pushed[1]["ok"] and pushed[1]["denied"] == [], pushed[1]
    again = run_client(url, tokens["a"], tmp_path / "b", [{"op": "pull"}, {"op": "dump"}])
    photos = {str(r["_id"]): r["sha256"] for r in records if str(r["_id"]).startswith("photo:")}
    assert {pid: again[1]["docs"][pid]["attachments"]["seal.jpg"] for pid in photos} == photos
