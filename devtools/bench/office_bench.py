"""What the office benchmarks share: a fresh database of the chosen kind, a signed-in staff member, and the
whole app to time pages through (scripts/bench/dashboard, scripts/bench/exceptions).

Each benchmark writes its own history; the set-up around it is the same, so it lives here once.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from devtools.bench.chosen_database import describe_database, start_database
from server.app import create_app
from server.databases import SEGEL_DATABASES
from server.identity.auth import device_id_for_credential
from server.identity.sessions import SESSION_COOKIE, sign_session_id
from server.identity.store import IdentityStore
from server.settings import Settings
from store.bootstrap import bootstrap
from store.couch import CouchClient

OFFICE_NAME = "Disdukcapil Kota Balikpapan"


@asynccontextmanager
async def bench_database(choice: str | None) -> AsyncIterator[tuple[Settings, CouchClient]]:
    """A fresh, bootstrapped database of the kind `choice` names (printed), stopped afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        kind, server = start_database(choice, Path(tmp) / "couch", "admin", secrets.token_urlsafe(16))
        try:
            print(describe_database(kind, server))
            settings = Settings(
                server.url,
                server.user,
                server.password,
                secrets.token_urlsafe(48),
                db_prefix="bench",
                data_dir=Path(tmp),
            )
            couch = CouchClient(
                settings.couchdb_url, settings.couchdb_user, settings.couchdb_password, timeout=3600
            )
            await bootstrap(couch, settings.db_prefix, SEGEL_DATABASES)
            try:
                yield settings, couch
            finally:
                await couch.aclose()
        finally:
            server.stop()


async def staff_cookie(couch: CouchClient, settings: Settings, office: str) -> str:
    """The office, its staff member Budi Santoso, and the signed session cookie of his bench session."""
    store = IdentityStore(couch, settings)
    await store.create_office(office, OFFICE_NAME)
    await store.create_user("budi.santoso", "staff", office=office, name="Budi Santoso")
    session = await store.create_session(
        "budi.santoso", device_id=device_id_for_credential("bench"), credential_id="bench"
    )
    return sign_session_id(settings, str(session["_id"]).removeprefix("session:"))


@asynccontextmanager
async def office_client(
    settings: Settings, couch: CouchClient, cookie: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The whole app in process, signed in with `cookie`: pages are timed as a browser would get them."""
    transport = httpx.ASGITransport(app=create_app(settings, couch))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as client:
        client.cookies.set(SESSION_COOKIE, cookie)
        yield client
