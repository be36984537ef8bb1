"""Identity helpers for tests: real offices, users, device tokens and sessions, made by the real store code.

Nothing here is a stub: `open_session` writes the same server-side session record a passkey login writes and
signs the cookie the same way, so a test client holding it is signed in exactly like a browser.

Typical use in an async integration test (`pytestmark = pytest.mark.anyio`)::

    await make_office(couch, settings)
    await make_user(couch, settings, "gojek.andi", "courier", partner="gojek")
    sign_in(client, settings, await open_session(couch, settings, "gojek.andi"))
    client.get("/auth/me")                                  # 200

    token = await issue_device_token(couch, settings, "budi.santoso")
    client.get("/auth/me", headers=bearer(token))           # 200
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anyio
from starlette.testclient import TestClient

from records.types import JSONDict
from server.databases import SEGEL_DATABASES
from server.identity.auth import device_id_for_credential
from server.identity.sessions import SESSION_COOKIE, sign_session_id
from server.identity.store import IdentityStore
from server.settings import Settings
from store.bootstrap import bootstrap
from store.couch import CouchClient, CouchConflict
from tests.support.soft_authenticator import SoftAuthenticator

_bootstrapped: set[tuple[str, str]] = set()


async def ensure_databases(couch: CouchClient, settings: Settings) -> None:
    """Bootstrap the test's databases once (the app does it at start; helpers may run before the app)."""
    key = (settings.couchdb_url, settings.db_prefix)
    if key in _bootstrapped:
        return
    for attempt in range(10):
        try:
            await bootstrap(couch, settings.db_prefix, SEGEL_DATABASES)
            break
        except CouchConflict:  # the app's own start-up bootstrap is writing the same documents right now
            await anyio.sleep(0.05 * (attempt + 1))
    _bootstrapped.add(key)


async def make_office(
    couch: CouchClient, settings: Settings, code: str = "6471", name: str = "Disdukcapil Kota Balikpapan"
) -> JSONDict:
    await ensure_databases(couch, settings)
    office, _ = await IdentityStore(couch, settings).create_office(code, name)
    return office


async def make_user(
    couch: CouchClient,
    settings: Settings,
    user_id: str,
    role: str,
    office: str | None = "6471",
    partner: str | None = None,
    van: str | None = None,
    name: str | None = None,
) -> JSONDict:
    """Create a user (and its office, if missing).

    Couriers default to partner gojek, van operators to a van, so a test names only what it is about.
    """
    await ensure_databases(couch, settings)
    store = IdentityStore(couch, settings)
    if office is not None and await store.get_office(office) is None:
        await store.create_office(office, f"Disdukcapil {office}")
    if role == "courier" and partner is None:
        partner = "gojek"
    if role == "van_operator" and van is None:
        van = "van-test-1"
    user, _ = await store.create_user(user_id, role, office=office, name=name, partner=partner, van=van)
    return user


async def issue_device_token(
    couch: CouchClient, settings: Settings, user_id: str, label: str = "test"
) -> str:
    """A real device token for `user_id`; returns the plain token (send it as `Authorization: Bearer`)."""
    issued = await IdentityStore(couch, settings).issue_token(user_id, label)
    return issued.token


async def open_session(
    couch: CouchClient, settings: Settings, user_id: str, credential_id: str = "test-credential"
) -> str:
    """Open a real server-side session for `user_id`; returns the signed `segel_session` cookie value."""
    session = await IdentityStore(couch, settings).create_session(
        user_id, device_id=device_id_for_credential(credential_id), credential_id=credential_id
    )
    return sign_session_id(settings, str(session["_id"]).removeprefix("session:"))


def sign_in(client: TestClient, settings: Settings, cookie: str) -> TestClient:
    """Hold the session cookie on a TestClient, and send the same-origin `Origin` header a browser sends
    (state-changing requests with a session cookie are refused from any other origin: CSRF protection)."""
    client.cookies.set(SESSION_COOKIE, cookie)
    client.headers["Origin"] = settings.origin
    return client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


#: How soon every instance must refuse what was revoked (or ended) in the identity database: each learns it
#: from its follower of the database's changes (server/identity/follower.py), not on its very next request.
REVOCATION_S = 1.0


def seconds_until(check: Callable[[], bool], within_s: float = REVOCATION_S, what: str = "") -> float:
    """Ask `check` again and again until it holds; the seconds until the ask that held was sent. Fails when
    no ask sent within `within_s` held (a revocation made in the database reaches a server within a second;
    how long the answer itself takes, e.g. a whole login ceremony, is not counted)."""
    started = time.monotonic()
    while True:
        sent = time.monotonic() - started
        if check():
            return sent
        assert time.monotonic() - started < within_s, (
            f"still not {what or 'so'} after {time.monotonic() - started:.2f} s (limit {within_s} s)"
        )
        time.sleep(0.01)


async def revoke_user(couch: CouchClient, settings: Settings, user_id: str) -> None:
    await IdentityStore(couch, settings).revoke_user(user_id)


async def revoke_device_token(couch: CouchClient, settings: Settings, token: str) -> None:
    from server.identity.store import TOKEN_ID_LENGTH, sha256_hex

    await IdentityStore(couch, settings).revoke_token(sha256_hex(token)[:TOKEN_ID_LENGTH])


async def enrollment_token(couch: CouchClient, settings: Settings, user_id: str, ttl_s: int = 3600) -> str:
    """A real one-time enrollment link token for `user_id` (the last part of /auth/enroll/<token>)."""
    return await IdentityStore(couch, settings).create_enrollment(user_id, created_by="test", ttl_s=ttl_s)


def enroll_with(
    client: TestClient, authenticator: SoftAuthenticator, token: str, **create_kwargs: Any
) -> Any:
    """Run the enrollment ceremony over HTTP with a soft authenticator; returns the verify response."""
    options = client.post("/auth/enroll/options", json={"token": token})
    assert options.status_code == 200, options.text
    credential = authenticator.create(options.json()["options"], **create_kwargs)
    return client.post("/auth/enroll/verify", json={"token": token, "credential": credential})


async def enroll_passkey(
    client: TestClient, couch: CouchClient, settings: Settings, user_id: str, authenticator: SoftAuthenticator
) -> str:
    """Give `user_id` a real passkey held by `authenticator` (the client ends up signed in as them).

    Returns the credential id; `authenticator.sign_record_hash(record_hash(record))` then signs records
    exactly as the PWA's passkey.js does.
    """
    response = enroll_with(client, authenticator, await enrollment_token(couch, settings, user_id))
    assert response.status_code == 200, response.text
    client.headers["Origin"] = settings.origin
    return authenticator.credentials[-1].id


def login_with(client: TestClient, authenticator: SoftAuthenticator, **get_kwargs: Any) -> Any:
    """Run the login ceremony over HTTP; returns the verify response."""
    options = client.post("/auth/login/options", json={})
    assert options.status_code == 200, options.text
    assertion = authenticator.get(options.json()["options"]["challenge"], **get_kwargs)
    return client.post("/auth/login/verify", json={"credential": assertion})
