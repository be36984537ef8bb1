"""The outside attack report's items 6-9 (issue 12): forged client addresses, missing security headers,
malformed bodies and `since` tokens, and routes that told whether a hidden record exists."""

from __future__ import annotations

import secrets
from typing import Any, cast

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from devtools.embedded import free_port
from server.identity.ratelimit import LIMITS
from server.office.config import OfficeConfig
from server.office.ledger import Ledger
from server.residents.links import issue_link
from server.settings import Settings
from store.couch import CouchClient
from tests.conftest import settings_env
from tests.support import logscan
from tests.support.couch_requests import wait_until
from tests.support.identity import bearer, issue_device_token, make_office, make_user
from tests.support.office import put_document, ready_ledger
from tests.support.pouch_client import document_record, handoff_record, photo_bytes, photo_record, seal_record
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.anyio

JSON = {"Content-Type": "application/json"}


def _forged() -> dict[str, str]:
    return {"X-Forwarded-For": f"198.51.100.{secrets.randbelow(250) + 1}"}


def _logins(url: str, headers: Any, count: int) -> list[int]:
    with httpx.Client(base_url=url) as http:
        return [
            http.post(
                "/auth/login/options", json={}, headers=headers() if callable(headers) else headers
            ).status_code
            for _ in range(count)
        ]


# --- item 6: client addresses and rate limits -----------------------------------------------------------


async def test_forged_forwarded_for_does_not_escape_the_login_limit(
    couch: CouchClient, settings: Settings, server_process: ServerProcess
) -> None:
    await make_office(couch, settings)
    allowed = LIMITS["login"][0]
    statuses = _logins(server_process.url, _forged, allowed + 10)
    assert statuses[:allowed] == [200] * allowed
    assert set(statuses[allowed:]) == {429}  # a new address in every header changed nothing


async def test_a_trusted_proxys_forwarded_for_names_the_client(
    couch: CouchClient, settings: Settings
) -> None:
    await make_office(couch, settings)
    port = free_port()
    env = settings_env(settings) | {
        "SEGEL_ORIGIN": f"http://localhost:{port}",
        "SEGEL_TRUSTED_PROXIES": "127.0.0.1",  # the test client is the proxy
    }
    server = ServerProcess(env=env, port=port, log_path=logscan.log_file("server-proxied"))
    server.start()
    try:
        allowed = LIMITS["login"][0]
        # Behind the proxy every client has its own budget...
        assert set(_logins(server.url, _forged, allowed + 10)) == {200}
        # ...and one client is limited by the address the proxy saw, not by the proxy's.
        one = {"X-Forwarded-For": "203.0.113.50"}
        statuses = _logins(server.url, one, allowed + 1)
        assert statuses[:allowed] == [200] * allowed and statuses[allowed] == 429
        # What the client wrote left of the proxy's entry is not believed.
        spoofed = {"X-Forwarded-For": "192.0.2.1, 203.0.113.50"}
        assert _logins(server.url, spoofed, 1) == [429]
    finally:
        server.stop()


async def _rate_docs(ledger: Ledger) -> list[dict[str, Any]]:
    rows = (
        await ledger.office.client.json(
            "GET",
            f"{ledger.office.path}/_all_docs",
            params={"startkey": '"ratelimit:"', "endkey": '"ratelimit:\ufff0"', "include_docs": "true"},
        )
    )["rows"]
    return [row["doc"] for row in rows]


async def test_a_guesser_does_not_lock_out_residents_behind_the_same_address(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    document = await put_document(ledger, name="Siti Aminah")
    link = await issue_link(ledger, document)
    client.app.state.office_config = OfficeConfig(resident_rate_per_hour=5)  # type: ignore[attr-defined]

    guesses = [client.get(f"/r/{secrets.token_urlsafe(24)}").status_code for _ in range(40)]
    assert guesses[:5] == [404] * 5 and set(guesses[5:]) == {429}
    # Siti, behind the same carrier NAT (the same address), still opens her page.
    page = client.get(f"/r/{link}")
    assert page.status_code == 200 and "Siti Aminah" in page.text
    # 40 guessed tokens wrote one counter (misses of this address this hour) and Siti's link one.
    counters = await _rate_docs(ledger)
    assert len(counters) == 2 and sorted(int(doc["count"]) for doc in counters) == [1, 40]


# --- item 7: security headers ---------------------------------------------------------------------------


def _assert_secured(response: httpx.Response, what: str) -> None:
    csp = response.headers.get("content-security-policy", "")
    script_src = next((part for part in csp.split(";") if part.strip().startswith("script-src")), "")
    assert script_src and "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, what
    assert "frame-ancestors 'none'" in csp, what
    assert response.headers.get("x-frame-options") == "DENY", what
    assert response.headers.get("x-content-type-options") == "nosniff", what
    assert response.headers.get("referrer-policy"), what


async def test_every_kind_of_response_carries_the_security_headers(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    world = await _gateway_world(couch, settings)
    b = world["b"]
    photo_id = world["docs"]["photo"]["_id"]
    responses = {
        "page": client.get("/"),
        "sign-in page": client.get("/auth/login"),
        "JSON error": client.post("/auth/login/options", data={"x": "1"}),
        "404 page": client.get("/no/such/page"),
        "static file": client.get("/static/css/segel.css"),
        "sync route": client.get("/sync/records/_changes", headers=b),
        "sync error": client.get("/sync/records/_changes"),
        "image": client.get(f"/sync/records/{photo_id}/seal.jpg", headers=b),
    }
    assert responses["image"].status_code == 200 and responses["image"].content.startswith(b"\xff\xd8")
    assert responses["JSON error"].status_code == 415 and responses["sync error"].status_code == 401
    for what, response in responses.items():
        _assert_secured(response, what)
    # The residents' page keeps its own stricter referrer policy (its link is the key to the page).
    ledger = await ready_ledger(couch, settings)
    link = await issue_link(ledger, await put_document(ledger))
    resident = client.get(f"/r/{link}")
    _assert_secured(resident, "residents' page")
    assert resident.headers["referrer-policy"] == "no-referrer"


# --- item 8: malformed bodies and tokens ----------------------------------------------------------------


async def _gateway_world(couch: CouchClient, settings: Settings) -> dict[str, Any]:
    await make_user(couch, settings, "kurir.a", "courier")
    await make_user(couch, settings, "kurir.b", "courier")
    db = couch.db(settings.records_db)
    doc_b = document_record("kurir.b")
    seal_b = seal_record(doc_b["_id"], "BP00000009")
    handoff_b = handoff_record(doc_b["_id"], "kurir.b", seq=1)
    photo_b = photo_record(handoff_b["_id"], doc_b["_id"], "kurir.b", photo_bytes(3000))
    await db.bulk_docs([doc_b, seal_b, handoff_b, photo_b])
    return {
        "a": bearer(await issue_device_token(couch, settings, "kurir.a")),
        "b": bearer(await issue_device_token(couch, settings, "kurir.b")),
        "docs": {"document": doc_b, "seal": seal_b, "handoff": handoff_b, "photo": photo_b},
        "revs": {
            doc["_id"]: (await db.get(doc["_id"]))["_rev"] for doc in (doc_b, seal_b, handoff_b, photo_b)
        },
    }


@pytest.mark.parametrize("route", ["_bulk_docs", "_revs_diff", "_bulk_get", "_segel/purge", "_local/x"])
async def test_deeply_nested_bodies_are_a_400_with_a_reason(
    client: TestClient, couch: CouchClient, settings: Settings, route: str
) -> None:
    await make_user(couch, settings, "kurir.a", "courier")
    headers = bearer(await issue_device_token(couch, settings, "kurir.a")) | JSON
    method = client.put if route.startswith("_local") else client.post
    deep = 20_000 if route.startswith("_local") else 100_000  # checkpoints are at most 64 KB
    for body in (
        "[" * deep,
        '{"docs": ' + "[" * (deep // 2) + "]" * (deep // 2) + "}",
        '{"a":' * 50 + "1" + "}" * 50,
    ):
        response = method(f"/sync/records/{route}", content=body, headers=headers)
        assert response.status_code == 400, (route, response.text[:200])
        assert response.json()["error"] == "bad_request" and "nested" in response.json()["reason"]


async def test_a_forged_since_token_restarts_the_users_own_pull(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    # The follower starts at the database's end once bootstrap is done: records written before it read
    # that end would never be changes to it (a CI run on a loaded machine lost that race).
    cache = cast(Starlette, client.app).state.sync_changes
    await wait_until(lambda: cache.started)
    world = await _gateway_world(couch, settings)
    b = world["b"]
    # The gateway's change follower has read B's records before B's first pull (a pull begun while it is
    # still reading them gets them once more after the walk: harmless, but not what this test is about).
    await wait_until(lambda: cache.stats.changes >= len(world["revs"]))
    fresh = client.get("/sync/records/_changes", headers=b).json()
    assert {row["id"] for row in fresh["results"]} == set(world["revs"])
    # The attack report's token (initial phase, scope index -5, database start) and a forged feed token
    # pointing at the start of the whole database: both are unknown, so B gets their initial pull again.
    for since in ("s1-WyJpIiwwLC01LG51bGxd", fresh["last_seq"].rsplit(".", 1)[0] + ".AAAAAAAAAAAAAAAAAAAAAA"):
        forged = client.get("/sync/records/_changes", params={"since": since}, headers=b)
        assert forged.status_code == 200
        assert [row["id"] for row in forged.json()["results"]] == [row["id"] for row in fresh["results"]]
    # B's own genuine token still resumes where B was; A cannot use it.
    assert (
        client.get("/sync/records/_changes", params={"since": fresh["last_seq"]}, headers=b).json()["results"]
        == []
    )
    stolen = client.get("/sync/records/_changes", params={"since": fresh["last_seq"]}, headers=world["a"])
    assert stolen.status_code == 200 and stolen.json()["results"] == []


# --- item 9: existence oracles --------------------------------------------------------------------------


async def test_purge_answers_the_same_for_hidden_and_missing_ids(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    world = await _gateway_world(couch, settings)
    a, b = world["a"], world["b"]
    hidden = sorted(world["revs"])
    missing = sorted(f"{doc_id[:-4]}ZZZZ" for doc_id in hidden)
    answer_hidden = client.post("/sync/records/_segel/purge", json={"ids": hidden}, headers=a).json()
    answer_missing = client.post("/sync/records/_segel/purge", json={"ids": missing}, headers=a).json()
    assert answer_hidden == {"purge": hidden, "checked": 4}
    assert answer_missing == {"purge": missing, "checked": 4}
    # B keeps what B may see.
    assert client.post("/sync/records/_segel/purge", json={"ids": hidden}, headers=b).json()["purge"] == []


async def test_revs_diff_reveals_nothing_of_a_hidden_record(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    world = await _gateway_world(couch, settings)
    a, b = world["a"], world["b"]
    hidden = sorted(world["revs"])
    # Offered revisions newer than the stored ones: Apache CouchDB would name the stored revision as a
    # possible ancestor. A gets for B's records exactly what ids that never existed get.
    newer = {doc_id: ["99-" + "a" * 32] for doc_id in hidden}
    missing = {f"{doc_id[:-4]}ZZZZ": revs for doc_id, revs in newer.items()}
    diff_hidden = client.post("/sync/records/_revs_diff", json=newer, headers=a).json()
    diff_missing = client.post("/sync/records/_revs_diff", json=missing, headers=a).json()
    assert diff_hidden == {doc_id: {"missing": revs} for doc_id, revs in newer.items()}
    assert diff_missing == {doc_id: {"missing": revs} for doc_id, revs in missing.items()}
    assert all(world["revs"][doc_id] not in str(diff_hidden) for doc_id in hidden)
    # B, who may see them, gets CouchDB's own answer (with possible_ancestors where the database gives it).
    diff_b = client.post("/sync/records/_revs_diff", json=newer, headers=b).json()
    assert set(diff_b) == set(hidden)
