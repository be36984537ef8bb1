"""The CouchDB client's own logic: id quoting, error translation and retry policy (no database needed)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from store.couch import CouchClient, CouchConflict, CouchError, CouchNotFound, CouchUnavailable, quote_id

pytestmark = pytest.mark.anyio


def test_quote_id_keeps_design_and_local_prefixes() -> None:
    assert quote_id("_design/records") == "_design/records"
    assert quote_id("_local/a/b") == "_local/a%2Fb"
    assert quote_id("handoff:01/../x") == "handoff%3A01%2F..%2Fx"


def _client(handler: object) -> CouchClient:
    return CouchClient("http://couch.invalid", "admin", "pw", transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


async def test_errors_keep_couchdb_words() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            return httpx.Response(409, json={"error": "conflict", "reason": "Document update conflict."})
        return httpx.Response(404, json={"error": "not_found", "reason": "missing"})

    client = _client(handler)
    with pytest.raises(CouchNotFound) as missing:
        await client.db("d").get("x")
    assert missing.value.reason == "missing"
    with pytest.raises(CouchConflict):
        await client.db("d").put({"_id": "x"})
    assert await client.db("d").get_or_none("x") is None
    await client.aclose()


async def test_idempotent_requests_are_retried_after_connection_errors() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) < 3:
            raise httpx.ConnectError("refused")
        return httpx.Response(200, json={"db_name": "d"})

    client = _client(handler)
    assert (await client.db("d").info())["db_name"] == "d"
    assert calls == ["GET", "GET", "GET"]
    await client.aclose()


async def test_posts_are_never_retried_and_unreachable_is_reported() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ConnectError("refused")

    client = _client(handler)
    with pytest.raises(CouchUnavailable, match="unreachable"):
        await client.db("d").bulk_docs([{"_id": "a"}])
    assert calls == ["POST"]
    await client.aclose()


async def test_reads_are_retried_after_a_clusters_transient_errors_and_writes_are_not() -> None:
    """While a node is down a cluster may answer 500 nodedown or 503: a read (GET, or a POST of keys)
    is asked again; a `_bulk_docs` is reported at once, since repeating a write is the caller's call."""
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path}")
        if len(calls) % 2:
            return httpx.Response(500, json={"error": "nodedown", "reason": "progress not possible"})
        return httpx.Response(200, json={"rows": []})

    client = _client(handler)
    assert await client.db("d").all_docs() == {"rows": []}
    assert await client.json("POST", "/d/_all_docs", json={"keys": ["a"]}) == {"rows": []}
    calls.clear()
    with pytest.raises(CouchError) as refused:
        await client.db("d").bulk_docs([{"_id": "a"}])
    assert refused.value.error == "nodedown" and calls == ["POST /d/_bulk_docs"]
    await client.aclose()


async def test_a_plain_server_error_is_not_retried() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(500, json={"error": "unknown_error", "reason": "function_clause"})

    client = _client(handler)
    with pytest.raises(CouchError):
        await client.db("d").info()
    assert calls == ["GET"]
    await client.aclose()


async def test_a_write_quorum_goes_with_document_writes_only() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path} w={request.url.params.get('w')}")
        return httpx.Response(
            201, json={"ok": True, "rev": "1-a", "id": "x"} if request.method != "POST" else []
        )

    client = CouchClient(
        "http://couch.invalid", "admin", "pw", write_quorum=3, transport=httpx.MockTransport(handler)
    )
    await client.db("d").create()
    await client.db("d").put({"_id": "x"})
    await client.db("d").bulk_docs([{"_id": "y"}])
    await client.db("d").put_security({"members": {}})
    await client.db("d").get_or_none("x")
    assert seen == [
        "PUT /d w=None",
        "PUT /d/x w=3",
        "POST /d/_bulk_docs w=3",
        "PUT /d/_security w=None",
        "GET /d/x w=None",
    ]
    await client.aclose()


async def test_an_exclusive_write_that_a_cluster_split_gives_way_to_the_winner() -> None:
    # Two writers of one revision on a cluster: both answered 202, CouchDB's choice made the other's winner.
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path} {dict(request.url.params)}")
        if request.method == "PUT":
            return httpx.Response(202, json={"ok": True, "id": "c", "rev": "2-mine"})
        if request.method == "GET":
            return httpx.Response(200, json={"_id": "c", "_rev": "2-theirs", "_conflicts": ["2-mine"]})
        return httpx.Response(200, json={"ok": True, "id": "c", "rev": "3-gone"})

    client = CouchClient("http://couch.invalid", write_quorum=3, transport=httpx.MockTransport(handler))
    with pytest.raises(CouchConflict):
        await client.db("d").put_exclusive({"_id": "c", "_rev": "1-a", "count": 2})
    assert seen == [
        "PUT /d/c {'w': '3'}",
        "GET /d/c {'conflicts': 'true', 'r': '3'}",
        "DELETE /d/c {'rev': '2-mine', 'w': '3'}",
    ]
    await client.aclose()


@pytest.mark.parametrize(
    ("status", "read_back"),
    [
        (201, None),
        (202, {"_id": "c", "_rev": "2-mine", "_conflicts": ["2-theirs"]}),
        (202, {"_id": "c", "_rev": "2-mine"}),
    ],
)
async def test_an_exclusive_write_that_won_stands(status: int, read_back: dict[str, object] | None) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            return httpx.Response(status, json={"ok": True, "id": "c", "rev": "2-mine"})
        assert request.method == "GET" and read_back is not None, (
            "a 201 needs no read-back, nothing is deleted"
        )
        return httpx.Response(200, json=read_back)

    client = CouchClient("http://couch.invalid", write_quorum=3, transport=httpx.MockTransport(handler))
    assert await client.db("d").put_exclusive({"_id": "c", "_rev": "1-a"}) == "2-mine"
    await client.aclose()


async def test_two_creations_at_once_on_a_cluster_leave_one_creator() -> None:
    # Both creators of `seqclaim:a:1` were told ok (202); CouchDB made the other's the winner.
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.method == "POST":
            return httpx.Response(
                202,
                json=[
                    {"ok": True, "id": "a", "rev": "1-mine"},
                    {"id": "b", "error": "conflict"},
                    {"ok": True, "id": "c", "rev": "1-c"},
                ],
            )
        if request.method == "GET" and request.url.path.endswith("/a"):
            return httpx.Response(200, json={"_id": "a", "_rev": "1-theirs", "_conflicts": ["1-mine"]})
        if request.method == "GET":
            return httpx.Response(200, json={"_id": "c", "_rev": "1-c"})
        return httpx.Response(200, json={"ok": True, "id": "a", "rev": "2-gone"})

    client = CouchClient("http://couch.invalid", write_quorum=3, transport=httpx.MockTransport(handler))
    answers = await client.db("d").create_exclusive([{"_id": "a"}, {"_id": "b"}, {"_id": "c"}])
    assert [answer.get("error") for answer in answers] == ["conflict", "conflict", None]
    assert seen == ["POST /d/_bulk_docs", "GET /d/a", "DELETE /d/a", "GET /d/c"]
    await client.aclose()


async def test_two_equal_exclusive_writes_are_never_one_revision() -> None:
    # CouchDB's revision id hashes the parent revision and the body: two pushes counted in the same
    # millisecond would write the same revision, see no conflict, and both believe they alone wrote.
    bodies: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.extend(body.get("docs", [body]))
        if request.method == "POST":
            return httpx.Response(201, json=[{"ok": True, "id": "a", "rev": "1-x"}])
        return httpx.Response(201, json={"ok": True, "id": "c", "rev": "2-x"})

    client = CouchClient("http://couch.invalid", write_quorum=3, transport=httpx.MockTransport(handler))
    same = {"_id": "c", "_rev": "1-a", "total": 100, "last_refused_at": "2026-12-02T10:00:00.000Z"}
    await client.db("d").put_exclusive(same)
    await client.db("d").put_exclusive(same)
    await client.db("d").create_exclusive([{"_id": "a", "handoff_id": "h"}])
    await client.db("d").create_exclusive([{"_id": "a", "handoff_id": "h"}])
    assert bodies[0]["total"] == bodies[1]["total"] == 100 and bodies[0] != bodies[1]
    assert bodies[2]["handoff_id"] == bodies[3]["handoff_id"] == "h" and bodies[2] != bodies[3]
    assert "exclusive_write" not in same, "the caller's document is left as it was"
    await client.aclose()


async def test_writers_of_one_document_in_one_process_take_turns() -> None:
    # Ten requests bump one counter at once: each reads, then writes; none may read between another's read
    # and write, or on a cluster two of them build on one revision.
    events: list[str] = []
    client = CouchClient("http://couch.invalid", transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    db = client.db("d")

    async def bump(name: str) -> None:
        async with db.one_writer("counter"):
            events.append(f"read {name}")
            await asyncio.sleep(0.001)
            events.append(f"write {name}")

    async def other() -> None:
        async with db.one_writer("another"):
            events.append("other")

    await asyncio.gather(*(bump(str(n)) for n in range(10)), other())
    bumps = [event for event in events if event != "other"]
    turns = [(bumps[i], bumps[i + 1]) for i in range(0, len(bumps), 2)]
    assert all(read == f"read {write[6:]}" for read, write in turns), turns
    assert events.index("other") < len(events) - 1, "another document's writer does not wait its turn"
    assert client._writers == {}, "no lock is kept once nobody writes"
    await client.aclose()


async def test_a_retried_put_that_meets_its_own_first_write_succeeds() -> None:
    # The first PUT was stored, but its answer was lost with the connection; the retry gets a 409.
    stored: dict[str, object] = {}
    rival: dict[str, object] = {}
    dropped: list[bool] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and not dropped:
            dropped.append(True)
            stored.update(json.loads(request.content), _rev="2-stored")
            stored.update(rival)  # what another writer made of it before the retry
            raise httpx.ReadError("connection reset", request=request)
        if request.method == "PUT":
            return httpx.Response(409, json={"error": "conflict", "reason": "Document update conflict."})
        return httpx.Response(200, json=stored)

    client = CouchClient("http://couch.invalid", transport=httpx.MockTransport(handler))
    assert await client.db("d").put({"_id": "c", "_rev": "1-a", "count": 2}) == "2-stored"
    # Someone else's write is still a conflict: another body, or a later revision.
    for other in ({"count": 3}, {"_rev": "3-later"}):
        stored.clear()
        dropped.clear()
        rival.clear()
        rival.update(other)
        with pytest.raises(CouchConflict):
            await client.db("d").put({"_id": "c", "_rev": "1-a", "count": 2})
    await client.aclose()
