"""Fixtures shared by every test: a real embedded CouchDB per test session, isolated databases per test."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings, open_couch
from sync.couch import CouchClient
from sync.embedded import free_port
from tests.support.databases import DatabaseServer, chosen_kind, make_database
from tests.support.servers import ServerProcess


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by folder, so `-m "not browser"` and friends work without decorating every test, and run
    browser tests last: Playwright's sync API keeps an event loop in the main thread for the rest of the
    session, and async tests run after it would fail (use tests.support.threads.run_async there)."""
    for item in items:
        path = str(item.path)
        if "/tests/integration/" in path:
            item.add_marker(pytest.mark.integration)
        elif "/tests/browser/" in path:
            item.add_marker(pytest.mark.browser)
    items.sort(key=lambda item: 1 if "/tests/browser/" in str(item.path) else 0)


def pytest_report_header() -> str:
    return f"database: {chosen_kind()} (SEGEL_TEST_COUCHDB)"


@pytest.fixture(scope="session")
def couch_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseServer]:
    """A fresh database server of the kind SEGEL_TEST_COUCHDB chooses (PouchDB Server, one Apache CouchDB
    node, or a three-node cluster), with a temporary data directory, for the whole test session."""
    couch = make_database(
        chosen_kind(), tmp_path_factory.mktemp("couchdb"), "admin", secrets.token_urlsafe(16)
    )
    couch.start()
    yield couch
    couch.stop()


@pytest.fixture
def ensure_couch_running(couch_server: DatabaseServer) -> DatabaseServer:
    """Restart the shared database if an earlier fault test left it dead."""
    if couch_server.exit_code() is not None:
        couch_server.start()
    return couch_server


@pytest.fixture
def settings(ensure_couch_running: DatabaseServer, tmp_path: Path) -> Settings:
    """Settings with a database prefix of its own, so tests never see each other's data."""
    return Settings(
        couchdb_url=ensure_couch_running.url,
        couchdb_user=ensure_couch_running.user,
        couchdb_password=ensure_couch_running.password,
        secret_key=secrets.token_urlsafe(48),
        db_prefix=f"t{secrets.token_hex(6)}",
        couchdb_write_quorum=getattr(ensure_couch_running, "write_quorum", None),
        data_dir=tmp_path,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app in-process, with its lifespan (bootstrap) run."""
    with TestClient(create_app(settings), base_url="http://localhost:8000") as test_client:
        yield test_client


def settings_env(settings: Settings) -> dict[str, str]:
    return {
        "COUCHDB_URL": settings.couchdb_url,
        "COUCHDB_USER": settings.couchdb_user or "",
        "COUCHDB_PASSWORD": settings.couchdb_password or "",
        "SEGEL_SECRET_KEY": settings.secret_key,
        "SEGEL_DB_PREFIX": settings.db_prefix,
        "SEGEL_LOG_LEVEL": "WARNING",
        "SEGEL_DATA_DIR": str(settings.data_dir),
        "COUCHDB_WRITE_QUORUM": str(settings.couchdb_write_quorum or ""),
    }


@pytest.fixture
def server_process(settings: Settings, tmp_path: Path) -> Iterator[ServerProcess]:
    """The real server under uvicorn in a child process, on a free port."""
    port = free_port()
    env = settings_env(settings) | {"SEGEL_ORIGIN": f"http://localhost:{port}"}
    server = ServerProcess(env=env, port=port, log_path=tmp_path / "server.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def couch(settings: Settings) -> AsyncIterator[CouchClient]:
    """A CouchClient on the test's own settings (for async tests marked `anyio`)."""
    client = open_couch(settings)
    yield client
    await client.aclose()
