"""Sessions and device tokens authenticate; ended, revoked or forged ones do not."""

from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient

from records.receipt_proof import ReceiptKey
from server.identity.audit import events
from server.identity.sessions import unsign_session_id
from server.identity.store import IdentityStore
from server.settings import Settings
from store.couch import CouchClient
from tests.support.identity import (
    bearer,
    issue_device_token,
    make_office,
    make_user,
    open_session,
    revoke_device_token,
    revoke_user,
    sign_in,
)

pytestmark = pytest.mark.anyio


async def test_session_cookie_signs_in_and_me_describes_the_user(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await make_office(couch, settings)
    await make_user(couch, settings, "gojek.andi", "courier", partner="gojek", name="Andi Saputra")
    sign_in(client, settings, await open_session(couch, settings, "gojek.andi"))
    response = client.get("/auth/me")
    assert response.status_code == 200
    me = response.json()
    # A courier also gets the server's public key, to seal receipt codes at the door while offline.
    assert me.pop("receipt_key") == ReceiptKey.from_secret(settings.secret_key).public_jwk()
    assert me == {
        "user_id": "gojek.andi",
        "name": "Andi Saputra",
        "role": "courier",
        "office": "6471",
        "partner": "gojek",
        "van": None,
        "credential_ids": [],
    }


async def test_anonymous_me_is_a_json_401(client: TestClient) -> None:
    response = client.get("/auth/me")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


async def test_forged_cookie_is_anonymous(client: TestClient, couch: CouchClient, settings: Settings) -> None:
    await make_user(couch, settings, "budi.santoso", "staff")
    cookie = await open_session(couch, settings, "budi.santoso")
    sign_in(client, settings, cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"))
    assert client.get("/auth/me").status_code == 401


async def test_logout_ends_the_session_at_once(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await make_user(couch, settings, "budi.santoso", "staff")
    cookie = await open_session(couch, settings, "budi.santoso")
    sign_in(client, settings, cookie)
    assert client.post("/auth/logout").status_code == 200
    client.cookies.set("segel_session", cookie)  # a stolen copy of the cookie is worthless after logout
    assert client.get("/auth/me").status_code == 401


async def test_bearer_token_signs_in_until_revoked(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await make_user(couch, settings, "van.agus", "van_operator", van="van-balikpapan-1")
    token = await issue_device_token(couch, settings, "van.agus")
    me = client.get("/auth/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json()["van"] == "van-balikpapan-1"
    await revoke_device_token(couch, settings, token)
    assert client.get("/auth/me", headers=bearer(token)).status_code == 401  # the very next request
    assert client.get("/auth/me", headers=bearer("sgl_not-a-token")).status_code == 401
    logged = [e["event"] for e in await events(couch, settings)]
    assert "token_used" in logged and "token_refused" in logged


async def test_revoked_user_loses_session_and_tokens(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await make_user(couch, settings, "grab.dedi", "courier", partner="grab")
    token = await issue_device_token(couch, settings, "grab.dedi")
    sign_in(client, settings, await open_session(couch, settings, "grab.dedi"))
    assert client.get("/auth/me").status_code == 200
    await revoke_user(couch, settings, "grab.dedi")
    assert client.get("/auth/me").status_code == 401  # the very next request
    assert client.get("/auth/me", headers=bearer(token)).status_code == 401


async def test_cross_site_logout_is_refused_and_the_session_survives(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await make_user(couch, settings, "budi.santoso", "staff")
    sign_in(client, settings, await open_session(couch, settings, "budi.santoso"))
    refused = client.post("/auth/logout", headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    assert "situs lain" in refused.json()["reason"]
    fetch_site = client.post("/auth/logout", headers={"Origin": "", "Sec-Fetch-Site": "cross-site"})
    assert fetch_site.status_code == 403
    assert client.get("/auth/me").status_code == 200


async def test_session_slides_while_used_and_ends_when_idle(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await make_user(couch, settings, "budi.santoso", "staff")
    cookie = await open_session(couch, settings, "budi.santoso")
    sign_in(client, settings, cookie)
    store = IdentityStore(couch, settings)
    session_id = unsign_session_id(settings, cookie)
    assert session_id is not None
    session = await store.get_session(session_id)
    assert session is not None
    session["expires_at"] = time.time() + 60  # almost idle for the whole lifetime
    await store.db.put(session)
    assert client.get("/auth/me").status_code == 200
    slid = await store.get_session(session_id)
    assert slid is not None and slid["expires_at"] > time.time() + settings.session_max_age_s - 60

    slid["expires_at"] = time.time() - 1  # idle past its end
    await store.db.put(slid)
    assert client.get("/auth/me").status_code == 401
