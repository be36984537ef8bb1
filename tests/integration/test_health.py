"""/healthz tells the truth about CouchDB, and the server recovers by itself when CouchDB comes back."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from devtools.embedded import free_port
from server.settings import Settings
from tests.conftest import settings_env
from tests.support.databases import DatabaseServer
from tests.support.logscan import log_file
from tests.support.servers import ServerProcess


def _wait_for(url: str, status: int, timeout: float = 30.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last: httpx.Response | None = None
    while time.monotonic() < deadline:
        last = httpx.get(url, timeout=5.0)
        if last.status_code == status:
            return last
        time.sleep(0.2)
    raise AssertionError(
        f"{url} never answered {status}; last: {last and last.status_code} {last and last.text}"
    )


def test_healthz_is_ok_when_couchdb_answers(server_process: ServerProcess) -> None:
    response = httpx.get(f"{server_process.url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "couchdb": "ok"}
    assert response.headers["cache-control"] == "no-store"


def test_database_killed_mid_write_is_reported_and_recovered(
    server_process: ServerProcess, couch_server: DatabaseServer
) -> None:
    """Kill CouchDB while a bulk write runs: /healthz says 503 with a reason, then 200 once it is back,
    and every document acknowledged before the kill is still there afterwards."""
    db_url = f"{couch_server.url}/{server_process.env['SEGEL_DB_PREFIX']}_records"
    auth = (couch_server.user, couch_server.password)
    acknowledged: list[str] = []
    stop = threading.Event()

    def writer() -> None:
        n = 0
        with httpx.Client(auth=auth, timeout=5.0) as http:
            while not stop.is_set():
                docs = [{"_id": f"probe:{n}-{i:04d}", "n": n} for i in range(50)]
                try:
                    result = http.post(f"{db_url}/_bulk_docs", json={"docs": docs})
                except httpx.HTTPError:
                    return
                if result.status_code == 201:
                    acknowledged.extend(row["id"] for row in result.json() if row.get("ok"))
                n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(1.0)
    couch_server.kill()
    stop.set()
    thread.join(timeout=10)
    assert acknowledged, "the writer never got an acknowledged batch before the kill"

    down = _wait_for(f"{server_process.url}/healthz", 503)
    assert down.json()["status"] == "unavailable"
    assert "CouchDB" in down.json()["reason"]

    couch_server.start()
    _wait_for(f"{server_process.url}/healthz", 200)
    found = httpx.post(f"{db_url}/_all_docs", json={"keys": acknowledged}, auth=auth, timeout=30.0).json()
    missing = [row["key"] for row in found["rows"] if "error" in row]
    assert missing == [], f"{len(missing)} acknowledged documents lost after the kill"


def test_server_started_while_couchdb_is_down_becomes_healthy_when_it_starts(
    settings: Settings, couch_server: DatabaseServer, tmp_path: Path
) -> None:
    couch_server.kill()
    port = free_port()
    server = ServerProcess(env=settings_env(settings), port=port, log_path=log_file("late-server"))
    server.start(healthy=False)
    try:
        down = httpx.get(f"{server.url}/healthz")
        assert down.status_code == 503
        couch_server.start()
        _wait_for(f"{server.url}/healthz", 200, timeout=40)
    finally:
        server.stop()
