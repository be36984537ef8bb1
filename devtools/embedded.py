"""The embedded CouchDB for development, tests and CI: PouchDB Server (npm `pouchdb-server`) on LevelDB.

Production runs Apache CouchDB 3.x (see docker-compose.yml); this module only starts, watches and stops the
stand-in that speaks the same HTTP API. It binds to 127.0.0.1, keeps its files under one data directory and
is given admin credentials like a real CouchDB, so code that works here authenticates the same way there.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
POUCHDB_SERVER_BIN = REPO_ROOT / "node_modules" / "pouchdb-server" / "bin" / "pouchdb-server"


class EmbeddedCouchError(RuntimeError):
    """The embedded CouchDB could not be started or died; the message says what to do."""


@dataclass
class EmbeddedCouch:
    """One PouchDB Server child process, with its data in `data_dir`."""

    data_dir: Path
    port: int
    user: str
    password: str
    host: str = "127.0.0.1"
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "pouchdb-server.log"

    def _write_config(self) -> None:
        # PouchDB Server reads admins from its config file and replaces a plain password with a PBKDF2 hash
        # on first read, as CouchDB does; writing it each start keeps the password in step with settings.
        config = {
            "admins": {self.user: self.password},
            "log": {"file": str(self.data_dir / "couch-requests.log"), "level": "warning"},
            "couchdb": {"max_document_size": 8 * 1024 * 1024},
        }
        config_path = self.data_dir / "config.json"
        config_path.write_text(json.dumps(config))
        config_path.chmod(0o600)

    def start(self, timeout: float = 60.0) -> None:
        """Start the server and wait until it answers an authenticated request."""
        node = shutil.which("node")
        if node is None:
            raise EmbeddedCouchError("node is not installed: install Node.js 20 or newer (see README).")
        if not POUCHDB_SERVER_BIN.exists():
            raise EmbeddedCouchError("pouchdb-server is not installed: run `npm ci` in the project folder.")
        if _port_answers(self.host, self.port):
            raise EmbeddedCouchError(
                f"port {self.port} is already in use: stop what runs there, or set SEGEL_COUCHDB_PORT, "
                "or point COUCHDB_URL at that CouchDB."
            )
        (self.data_dir / "db").mkdir(parents=True, exist_ok=True)
        self._write_config()
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [
                node,
                str(POUCHDB_SERVER_BIN),
                "--host",
                self.host,
                "--port",
                str(self.port),
                "--dir",
                str(self.data_dir / "db"),
                "--config",
                str(self.data_dir / "config.json"),
                "--no-color",
                "--no-stdout-logs",
            ],
            cwd=self.data_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in a terminal reaches us; we stop the child ourselves, in order.
            preexec_fn=_die_with_parent,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EmbeddedCouchError(f"PouchDB Server exited at start:\n{self.log_tail()}")
            if self._ready():
                logger.info("embedded CouchDB ready at %s (data in %s)", self.url, self.data_dir)
                return
            time.sleep(0.2)
        self.stop()
        raise EmbeddedCouchError(f"PouchDB Server did not answer within {timeout:.0f}s:\n{self.log_tail()}")

    def _ready(self) -> bool:
        try:
            response = httpx.get(f"{self.url}/_all_dbs", auth=(self.user, self.password), timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def exit_code(self) -> int | None:
        """None while running; the exit code once it has died (a crash is then in `log_tail()`)."""
        if self._process is None:
            return None
        return self._process.poll()

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL, as a crash or power cut would: used by fault tests."""
        if self._process and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop gracefully; kill if it does not go within `timeout`."""
        if self._process is None or self._process.poll() is not None:
            return
        os.killpg(self._process.pid, signal.SIGTERM)
        try:
            self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM the child if we die without stopping it (kill -9, crash): no orphaned database."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _port_answers(host: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    Alone, the kernel's choice (bind to port 0). In a test run split over processes (pytest-xdist), two
    processes asking at once can be handed one port: the port is free again the moment the asker closes its
    probe, before its server binds it. So each test worker takes ports from a range of its own, below the
    kernel's ephemeral range (where no outgoing connection takes them either), in turn from a random start.
    """
    import socket

    worker_range = _worker_port_range()
    if worker_range is None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    low, high = worker_range
    for _ in range(high - low):
        port = _next_worker_port(low, high)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free TCP port in {low}-{high} for this test worker; stop what holds them")


#: Where test workers take their ports: below Linux's default ephemeral range (32768-60999).
_WORKER_PORTS = (20000, 32000)
_port_cursor: dict[tuple[int, int], int] = {}


def _worker_port_range() -> tuple[int, int] | None:
    """This pytest-xdist worker's share of `_WORKER_PORTS` (None outside a split run). Servers a test starts
    inherit the worker's environment, so they take from the same share, from a cursor of their own."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if not worker.startswith("gw") or not worker[2:].isdigit() or not count.isdigit() or int(count) < 1:
        return None
    low, high = _WORKER_PORTS
    width = (high - low) // int(count)
    start = low + (int(worker[2:]) % int(count)) * width
    return start, start + width


def _next_worker_port(low: int, high: int) -> int:
    import random

    cursor = _port_cursor.get((low, high))
    cursor = random.randrange(low, high) if cursor is None else low + (cursor + 1 - low) % (high - low)
    _port_cursor[(low, high)] = cursor
    return cursor
