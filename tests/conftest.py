"""Fixtures shared by every test: a real embedded CouchDB per test session, isolated databases per test."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from devtools.embedded import free_port
from server.app import create_app
from server.office import intake
from server.settings import Settings, open_couch
from store.couch import CouchClient
from tests.support import logscan
from tests.support.databases import DatabaseServer, chosen_kind, drop_databases, make_database
from tests.support.servers import ServerProcess


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by folder, so `-m "not browser"` and friends work without decorating every test, and run
    browser tests last in a run of one process. Playwright's sync API keeps an event loop in the main thread
    while it lives: async tests inside a browser test use tests.support.threads.run_async, and the browser
    fixtures stop Playwright after each file, since a split run (pytest-xdist) does not keep this order."""
    for item in items:
        path = str(item.path)
        if "/tests/integration/" in path:
            item.add_marker(pytest.mark.integration)
        elif "/tests/browser/" in path:
            item.add_marker(pytest.mark.browser)
    items.sort(key=lambda item: 1 if "/tests/browser/" in str(item.path) else 0)


def pytest_report_header() -> str:
    return f"database: {chosen_kind()} (SEGEL_TEST_COUCHDB)"


@pytest.fixture(scope="session", autouse=True)
def server_logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[logscan.LogCollector]:
    """Collect every line the server logs during the run; at the end, fail the run if one holds a NIK or a
    receipt code (see tests.support.logscan for what counts). Child-process servers write to `log_file()`.

    The receipt codes the in-process app generates are remembered, so they are found even without a key.
    """
    collector = logscan.start_collecting(tmp_path_factory.mktemp("server-logs"))
    generate = intake.receipt_code
    intake.receipt_code = lambda: logscan.remember_code(generate())
    try:
        yield collector
    finally:
        intake.receipt_code = generate
        leaks = collector.leaks()
        collector.uninstall()
    if leaks:
        shown = "\n".join(str(leak) for leak in leaks[:20])
        pytest.fail(
            f"{len(leaks)} server log line(s) hold a NIK or a receipt code (logs in {collector.directory}):\n"
            f"{shown}\nLog ids and counts instead (server/logs.py).",
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def _server_logs_attached(server_logs: logscan.LogCollector) -> None:
    """Put the collecting handler back if a test replaced the root logger's handlers (configure_logging)."""
    server_logs.install()


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
def settings(ensure_couch_running: DatabaseServer, tmp_path: Path) -> Iterator[Settings]:
    """Settings with a database prefix of its own, so tests never see each other's data; the test's
    databases are dropped after it (`drop_databases`)."""
    made = Settings(
        couchdb_url=ensure_couch_running.url,
        couchdb_user=ensure_couch_running.user,
        couchdb_password=ensure_couch_running.password,
        secret_key=secrets.token_urlsafe(48),
        db_prefix=f"t{secrets.token_hex(6)}",
        couchdb_write_quorum=getattr(ensure_couch_running, "write_quorum", None),
        data_dir=tmp_path,
    )
    yield made
    drop_databases(ensure_couch_running, made.db_prefix)


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
        "SEGEL_LOG_LEVEL": "INFO",  # every line a production server writes, for the NIK/code check
        "SEGEL_DATA_DIR": str(settings.data_dir),
        "COUCHDB_WRITE_QUORUM": str(settings.couchdb_write_quorum or ""),
    }


@pytest.fixture
def server_process(settings: Settings) -> Iterator[ServerProcess]:
    """The real server under uvicorn in a child process, on a free port."""
    port = free_port()
    env = settings_env(settings) | {"SEGEL_ORIGIN": f"http://localhost:{port}"}
    server = ServerProcess(env=env, port=port, log_path=logscan.log_file("server"))
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
