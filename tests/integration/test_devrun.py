"""`python -m devtools dev` (what scripts/run starts): everything comes up, Ctrl-C stops everything, and a
second run reuses the data instead of loading the demo again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from devtools.embedded import free_port
from tests.support.databases import chosen_kind
from tests.support.logscan import log_file
from tests.support.servers import REPO_ROOT

# The dev run always starts its own PouchDB Server, whatever database the run chose: once is enough.
pytestmark = pytest.mark.skipif(
    chosen_kind() != "pouchdb", reason="the dev run embeds PouchDB Server; use SEGEL_TEST_COUCHDB=pouchdb"
)


def _run_once(data_dir: Path, port: int, couch_port: int) -> tuple[str, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COUCHDB_", "SEGEL_"))} | {
        "SEGEL_DATA_DIR": str(data_dir),
        "SEGEL_PORT": str(port),
        "SEGEL_COUCHDB_PORT": str(couch_port),
    }
    log = log_file("segel-dev")  # read back below, and checked for NIKs and codes at the end of the run
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "devtools", "dev"],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 180  # the demo and its first office round, on a busy machine
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, log.read_text(errors="replace")
            time.sleep(0.3)
        else:
            raise AssertionError("python -m devtools dev never became healthy")
        documents = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
        assert documents["status"] == "ok"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    return log.read_text(errors="replace"), process.returncode


def _couch_answers(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=1.0)
    except httpx.HTTPError:
        return False
    return True


def test_dev_run_starts_everything_stops_on_ctrl_c_and_reuses_data(tmp_path: Path) -> None:
    port, couch_port = free_port(), free_port()

    first, code = _run_once(tmp_path, port, couch_port)
    assert code == 0, first
    assert f"http://localhost:{port}/" in first
    assert "Data demo: dimuat sekarang" in first
    assert not _couch_answers(couch_port), "the embedded CouchDB outlived Ctrl-C"

    second, code = _run_once(tmp_path, port, couch_port)
    assert code == 0, second
    assert "Data demo: sudah ada, dipakai ulang" in second
    assert (tmp_path / "secrets.env").stat().st_mode & 0o077 == 0, "secrets file readable by others"
