"""Enrollment and login with a software authenticator: the happy path and every refusal, each audited."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from server.identity.audit import events
from server.identity.ratelimit import LIMITS
from server.identity.store import IdentityStore, sha256_hex
from server.settings import Settings
from store.couch import CouchClient
from tests.support.identity import (
    enroll_passkey,
    enroll_with,
    enrollment_token,
    login_with,
    make_office,
    make_user,
)
from tests.support.soft_authenticator import SoftAuthenticator

pytestmark = pytest.mark.anyio


async def _refusals(couch: CouchClient, settings: Settings, event: str) -> list[str]:
    return [str(e["reason"]) for e in await events(couch, settings) if e["event"] == event]


@pytest.fixture
async def courier(couch: CouchClient, settings: Settings) -> str:
    await make_office(couch, settings)
    await make_user(couch, settings, "gojek.andi", "courier", partner="gojek", name="Andi Saputra")
    return "gojek.andi"


async def test_enroll_from_link_then_log_out_and_log_in(
    client: TestClient, couch: CouchClient, settings: Settings, courier: str
) -> None:
    phone = SoftAuthenticator(origin=settings.origin)
    token = await enrollment_token(couch, settings, courier)
    page = client.get(f"/auth/enroll/{token}")
    assert page.status_code == 200 and "Andi Saputra" in page.text
    enrolled = enroll_with(client, phone, token)
    assert enrolled.status_code == 200, enrolled.text
    client.headers["Origin"] = settings.origin
    me = client.get("/auth/me").json()
    assert me["user_id"] == courier and me["credential_ids"] == [phone.credentials[0].id]
    assert client.post("/auth/logout").status_code == 200
    assert client.get("/auth/me").status_code == 401
    assert login_with(client, phone).status_code == 200
    assert client.get("/auth/me").json()["user_id"] == courier
    logged = {e["event"] for e in await events(couch, settings)}
    assert {"enrolled", "logged_out", "logged_in"} <= logged


async def test_enrollment_link_is_single_use(
    client: TestClient, couch: CouchClient, settings: Settings, courier: str
) -> None:
    token = await enrollment_token(couch, settings, courier)
    assert enroll_with(client, SoftAuthenticator(origin=settings.origin), token).status_code == 200
    again = client.get(f"/auth/enroll/{token}")
    assert again.status_code == 410 and "sudah dipakai" in again.text
    reused = client.post("/auth/enroll/options", json={"token": token}, headers={"Origin": settings.origin})
    assert reused.status_code == 410 and "sudah dipakai" in reused.json()["reason"]
    assert any("sudah dipakai" in r for r in await _refusals(couch, settings, "enroll_refused"))


async def test_a_refused_link_is_said_in_the_chosen_language_once(
    client: TestClient, couch: CouchClient, settings: Settings, courier: str
) -> None:
    indonesian = client.get("/auth/enroll/no-such-link")
    assert indonesian.status_code == 404
    assert "Tautan pendaftaran tidak dikenal. Minta tautan baru ke petugas kantor." in indonesian.text
    assert "Unknown" not in indonesian.text  # no English gloss beside it any more
    english = client.get("/auth/enroll/no-such-link?lang=en")
    assert "Unknown enrollment link. Ask the office staff for a new link." in english.text
    assert "Tautan pendaftaran tidak dikenal" not in english.text
    refused = client.post(
        "/auth/enroll/options", json={"token": "no-such-link"}, headers={"Origin": settings.origin}
    )
    assert refused.json()["reason"] == "Unknown enrollment link. Ask the office staff for a new link."


async def test_expired_enrollment_link_is_refused(
    client: TestClient, couch: CouchClient, settings: Settings, courier: str
) -> None:
    token = await enrollment_token(couch, settings, courier, ttl_s=-1)
    response = client.post("/auth/enroll/options", json={"token": token})
    assert response.status_code == 410 and "kedaluwarsa" in response.json()["reason"]
    assert client.get("/auth/enroll/not-a-real-token").status_code == 404
    assert any("kedaluwarsa" in r for r in await _refusals(couch, settings, "enroll_refused"))


async def test_link_token_is_stored_only_as_a_hash(
    client: TestClient, couch: CouchClient, settings: Settings, courier: str
) -> None:
    token = await enrollment_token(couch, settings, courier)
    db = couch.db(settings.identity_db)
    assert await db.get_or_none(f"enroll:{token}") is None
    assert await db.get_or_none(f"enroll:{sha256_hex(token)}") is not None


async def test_enrollment_without_user_verification_is_refused(
    client: TestClient, couch: CouchClient, settings: Settings, courier: str
) -> None:
    token = await enrollment_token(couch, settings, courier)
    response = enroll_with(client, SoftAuthenticator(origin=settings.origin), token, user_verified=False)
    assert response.status_code == 400 and "verif" in response.json()["reason"].lower()


async def test_replayed_login_assertion_is_refused(
    client: TestClient, couch: CouchClient, settings: Settings, courier: str
) -> None:
    phone = SoftAuthenticator(origin=settings.origin)
    await enroll_passkey(client, couch, settings, courier, phone)
    options = client.post("/auth/login/options", json={}).json()["options"]
    assertion = phone.get(options["challenge"])
    assert client.post("/auth/login/verify", json={"credential": assertion}).status_code == 200
    replay = client.post("/auth/login/verify", json={"credential": assertion})
    assert replay.status_code == 400 and "sudah dipakai" in replay.json()["reason"]
    assert any("sudah dipakai" in r for r in await _refusals(couch, settings, "challenge_refused"))


async def test_wrong_origin_and_wrong_rp_id_are_refused(
    client: TestClient, couch: CouchClient, settings: Settings, courier: str
) -> None:
    phone = SoftAuthenticator(origin=settings.origin)
    await enroll_passkey(client, couch, settings, courier, phone)
    client.cookies.delete("segel_session")
    wrong_origin = login_with(client, phone, origin="https://segel.evil.example")
    assert wrong_origin.status_code == 401 and "origin" in wrong_origin.json()["reason"]
    wrong_rp = login_with(client, phone, rp_id="evil.example")
    assert wrong_rp.status_code == 401 and "RP ID" in wrong_rp.json()["reason"]
    assert client.get("/auth/me").status_code == 401
    failed = await _refusals(couch, settings, "login_failed")
    assert any("origin" in r for r in failed) and any("RP ID" in r for r in failed)


async def test_expired_challenge_is_refused(
    client: TestClient, couch: CouchClient, settings: Settings, courier: str
) -> None:
    phone = SoftAuthenticator(origin=settings.origin)
    await enroll_passkey(client, couch, settings, courier, phone)
    challenge = client.post("/auth/login/options", json={}).json()["options"]["challenge"]
    store = IdentityStore(couch, settings)
    doc = await store.get_challenge(challenge)
    assert doc is not None
    doc["expires_at"] -= 6 * 60  # six minutes later: the five-minute challenge has expired
    await store.db.put(doc)
    response = client.post("/auth/login/verify", json={"credential": phone.get(challenge)})
    assert response.status_code == 400 and "kedaluwarsa" in response.json()["reason"]


async def test_challenge_is_bound_to_the_browser_that_asked(
    client: TestClient, couch: CouchClient, settings: Settings, courier: str
) -> None:
    phone = SoftAuthenticator(origin=settings.origin)
    await enroll_passkey(client, couch, settings, courier, phone)
    client.cookies.clear()
    first = client.post("/auth/login/options", json={}).json()["options"]["challenge"]
    client.cookies.clear()  # another browser: a fresh pre-login cookie
    client.post("/auth/login/options", json={})
    response = client.post("/auth/login/verify", json={"credential": phone.get(first)})
    assert response.status_code == 400 and "sesi browser lain" in response.json()["reason"]


async def test_revoked_passkey_cannot_log_in(
    client: TestClient, couch: CouchClient, settings: Settings, courier: str
) -> None:
    phone = SoftAuthenticator(origin=settings.origin)
    credential_id = await enroll_passkey(client, couch, settings, courier, phone)
    await IdentityStore(couch, settings).revoke_credential(credential_id)
    client.cookies.delete("segel_session")
    response = login_with(client, phone)
    assert response.status_code == 401 and "dicabut" in response.json()["reason"]
    assert client.get("/auth/me").status_code == 401
    assert any("dicabut" in r for r in await _refusals(couch, settings, "login_failed"))


async def test_counter_going_backwards_is_refused_and_logged(
    client: TestClient, couch: CouchClient, settings: Settings, courier: str
) -> None:
    phone = SoftAuthenticator(origin=settings.origin)
    await enroll_passkey(client, couch, settings, courier, phone)
    assert login_with(client, phone, counter=5).status_code == 200
    cloned = login_with(client, phone, counter=3)
    assert cloned.status_code == 401 and "mundur" in cloned.json()["reason"]
    same = login_with(client, phone, counter=5)
    assert same.status_code == 401
    assert len(await _refusals(couch, settings, "counter_refused")) == 2
    assert login_with(client, phone, counter=6).status_code == 200  # the honest phone keeps working


async def test_synced_passkey_reporting_zero_always_logs_in(
    client: TestClient, couch: CouchClient, settings: Settings, courier: str
) -> None:
    synced = SoftAuthenticator(origin=settings.origin, counting=False)
    await enroll_passkey(client, couch, settings, courier, synced)
    for _ in range(3):
        assert login_with(client, synced).status_code == 200


async def test_login_attempts_are_rate_limited(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await make_office(couch, settings)
    allowed = LIMITS["login"][0]
    statuses = [client.post("/auth/login/options", json={}).status_code for _ in range(allowed + 1)]
    assert statuses[:allowed] == [200] * allowed and statuses[allowed] == 429
    assert await _refusals(couch, settings, "rate_limited")


async def test_json_steps_refuse_form_posts(client: TestClient) -> None:
    response = client.post("/auth/login/options", data={"x": "1"})
    assert response.status_code == 415


async def test_two_phones_on_one_link_only_the_first_enrolls(
    client: TestClient, couch: CouchClient, settings: Settings, courier: str
) -> None:
    token = await enrollment_token(couch, settings, courier)
    first, second = SoftAuthenticator(origin=settings.origin), SoftAuthenticator(origin=settings.origin)
    options_a = client.post("/auth/enroll/options", json={"token": token}).json()["options"]
    cookie_a = dict(client.cookies)
    client.cookies.clear()
    options_b = client.post("/auth/enroll/options", json={"token": token}).json()["options"]
    cookie_b = dict(client.cookies)
    client.cookies.clear()
    client.cookies.update(cookie_a)
    ok = client.post("/auth/enroll/verify", json={"token": token, "credential": first.create(options_a)})
    assert ok.status_code == 200
    client.cookies.clear()
    client.cookies.update(cookie_b)
    late = client.post("/auth/enroll/verify", json={"token": token, "credential": second.create(options_b)})
    assert late.status_code == 410
    store = IdentityStore(couch, settings)
    assert [c["credential_id"] for c in await store.credentials_of(courier)] == [first.credentials[0].id]


async def test_people_land_where_they_work_after_signing_in(
    client: TestClient, couch: CouchClient, settings: Settings, courier: str
) -> None:
    """Staff start at the office pages, couriers in the field app, after enrolling and after logging in."""
    await make_user(couch, settings, "budi.santoso", "staff", name="Budi Santoso")
    staff_phone = SoftAuthenticator(origin=settings.origin)
    courier_phone = SoftAuthenticator(origin=settings.origin)

    staff_enrolled = enroll_with(client, staff_phone, await enrollment_token(couch, settings, "budi.santoso"))
    courier_enrolled = enroll_with(client, courier_phone, await enrollment_token(couch, settings, courier))

    assert staff_enrolled.json()["redirect"] == "/office"
    assert courier_enrolled.json()["redirect"] == "/app"
    client.headers["Origin"] = settings.origin
    assert login_with(client, staff_phone).json()["redirect"] == "/office"
