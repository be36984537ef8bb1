"""The database a test run (or a benchmark) uses, chosen by `SEGEL_TEST_COUCHDB`:

- `pouchdb` (default): PouchDB Server, the embedded database `scripts/run` starts; needs only `npm ci`.
- `apache`: one Apache CouchDB 3 node from a release tarball (`SEGEL_COUCHDB_TARBALL`, by default the one in
  `../shared/couchdb/` beside the checkout).
- `cluster`: three Apache CouchDB nodes from the same tarball, joined by hand as CouchDB's docs describe for
  a manual cluster, with databases created at q=2, n=3.

Every kind has the same face (`url`, `user`, `password`, `start`, `stop`, `kill`, `exit_code`), so the fault
tests kill and restart whichever was chosen. The Apache nodes are run through `couchdb-node`, the launcher
that ships beside the tarball; only its stop/kill/pid contract is used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx

from devtools.embedded import EmbeddedCouch, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_COUCHDB = REPO_ROOT.parent / "shared" / "couchdb"
KINDS = ("pouchdb", "apache", "cluster")

#: The ini files every production node carries (docker-compose.yml mounts the same ones).
COUCHDB_CONFIG = REPO_ROOT / "scripts" / "couchdb"
CLUSTER_SETUP = COUCHDB_CONFIG / "cluster-setup.sh"
#: Only for test nodes: quiet logs and the compaction daemon's state inside the node's own folder.
TEST_INI = """\
[log]
level = warning

[smoosh]
state_dir = {state_dir}
"""


class DatabaseChoiceError(RuntimeError):
    """The chosen database cannot be started here; the message says what to set or install."""


class DatabaseServer(Protocol):
    """What tests and benchmarks need of a database server: where it is, and how to crash and revive it."""

    @property
    def url(self) -> str: ...

    user: str
    password: str

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def kill(self) -> None: ...

    def exit_code(self) -> int | None: ...


def chosen_kind() -> str:
    kind = os.environ.get("SEGEL_TEST_COUCHDB", "pouchdb").strip() or "pouchdb"
    if kind not in KINDS:
        raise DatabaseChoiceError(f"SEGEL_TEST_COUCHDB={kind!r}: choose one of {', '.join(KINDS)}")
    return kind


def couchdb_tarball() -> Path:
    """The Apache CouchDB release to run: SEGEL_COUCHDB_TARBALL, else the one in ../shared/couchdb/."""
    configured = os.environ.get("SEGEL_COUCHDB_TARBALL")
    if configured:
        path = Path(configured)
    else:
        found = sorted(SHARED_COUCHDB.glob("apache-couchdb-*.tar.gz"))
        if not found:
            raise DatabaseChoiceError(
                "no Apache CouchDB release tarball: set SEGEL_COUCHDB_TARBALL to one "
                f"(looked in {SHARED_COUCHDB.name}/ beside the checkout)"
            )
        path = found[-1]
    if not path.is_file():
        raise DatabaseChoiceError(f"SEGEL_COUCHDB_TARBALL={path} is not a file")
    return path


def apache_available() -> bool:
    try:
        couchdb_tarball()
    except DatabaseChoiceError:
        return False
    return True


def _launcher(tarball: Path) -> Path:
    launcher = tarball.parent / "couchdb-node"
    if not launcher.is_file():
        raise DatabaseChoiceError(f"couchdb-node is missing beside {tarball.name}; it ships with the tarball")
    return launcher


@dataclass
class ApacheNode:
    """One Apache CouchDB node on loopback, its release unpacked and its data under `directory`."""

    directory: Path
    port: int
    user: str
    password: str
    node_name: str | None = None
    cluster_size: int = 1
    tarball: Path = field(default_factory=couchdb_tarball)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def erlang_name(self) -> str:
        return f"{self.node_name}@127.0.0.1"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        # couchdb-node reads the tarball from COUCHDB_TARBALL; the release is unpacked by us (below) so the
        # node's own ini can be written before its first start.
        env = {**os.environ, "COUCHDB_TARBALL": str(self.tarball), "COUCHDB_WAIT_S": "90"}
        return subprocess.run(
            ["bash", str(_launcher(self.tarball)), *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    def _unpack(self) -> None:
        release = self.directory / "couchdb"
        if (release / "bin" / "couchdb").exists():
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        with tarfile.open(self.tarball) as archive:
            archive.extractall(self.directory, filter="tar")
        local_d = release / "etc" / "local.d"
        shutil.copy(COUCHDB_CONFIG / "segel.ini", local_d / "segel.ini")
        shutil.copy(COUCHDB_CONFIG / ("cluster.ini" if self.cluster_size > 1 else "single-node.ini"), local_d)
        (local_d / "test.ini").write_text(TEST_INI.format(state_dir=self.directory / "smoosh"))
        # Erlang schedulers spin while idle; three nodes, the app and the tests share two cores here.
        with (release / "etc" / "vm.args").open("a") as vm_args:
            vm_args.write("\n+sbwt none\n+sbwtdcpu none\n+sbwtdio none\n")

    def start(self) -> None:
        self._unpack()
        args = ["start", str(self.directory), str(self.port), "--admin", f"{self.user}:{self.password}"]
        if self.node_name:
            args += ["--node", self.node_name]
        done = self._run(*args)
        if done.returncode != 0:
            raise DatabaseChoiceError(f"Apache CouchDB did not start:\n{done.stderr[-3000:]}")

    def stop(self) -> None:
        self._run("stop", str(self.directory))

    def kill(self) -> None:
        """SIGKILL, as a crash or a power cut would."""
        self._run("kill", str(self.directory))
        deadline = time.monotonic() + 10
        while self.exit_code() is None and time.monotonic() < deadline:
            time.sleep(0.05)

    def exit_code(self) -> int | None:
        return None if self._run("pid", str(self.directory)).returncode == 0 else -9

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = (self.directory / "couchdb.log").read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def _distinct_free_ports(count: int) -> list[int]:
    """`count` different free ports. `free_port` asked again may hand out the port it just gave: the nodes
    are started one after another, so two of them got one port and the second refused to start ("port
    … is already in use", a CI run's whole cluster step)."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


@dataclass
class ApacheCluster:
    """Three Apache CouchDB nodes joined into one cluster; `url` is the first node, which answers for all.

    `kill`/`start` act on every node (a power cut of the whole cluster); `nodes[i].kill()` takes one node
    down, which the cluster must ride out with n=3.
    """

    directory: Path
    user: str
    password: str
    size: int = 3
    nodes: list[ApacheNode] = field(default_factory=list)
    _joined: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if not self.nodes:
            tarball = couchdb_tarball()
            ports = _distinct_free_ports(self.size)
            self.nodes = [
                ApacheNode(
                    self.directory / f"n{i}",
                    ports[i - 1],
                    self.user,
                    self.password,
                    node_name=f"segel{i}-{os.getpid()}",
                    cluster_size=self.size,
                    tarball=tarball,
                )
                for i in range(1, self.size + 1)
            ]

    @property
    def url(self) -> str:
        return self.nodes[0].url

    @property
    def write_quorum(self) -> int:
        """w = n, as production's cluster runs (COUCHDB_WRITE_QUORUM; docs/deploy.md)."""
        return min(3, self.size)

    def start(self) -> None:
        for node in self.nodes:
            if node.exit_code() is not None:
                node.start()
        if not self._joined:
            self._join()
            self._joined = True
        self._wait_until_all_members_answer()

    def _join(self) -> None:
        """Join the nodes with the same script docker-compose.yml runs in production."""
        env = {**os.environ, "COUCHDB_USER": self.user, "COUCHDB_PASSWORD": self.password}
        names = [node.erlang_name for node in self.nodes[1:]]
        done = subprocess.run(
            ["sh", str(CLUSTER_SETUP), self.nodes[0].url, *names],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise DatabaseChoiceError(f"joining the cluster failed: {done.stderr[-2000:]}")
        self._wait_until_all_members_answer()

    def _wait_until_all_members_answer(self, timeout: float = 60.0) -> None:
        names = sorted(node.erlang_name for node in self.nodes)
        deadline = time.monotonic() + timeout
        last = ""
        with httpx.Client(auth=(self.user, self.password), timeout=5.0) as http:
            while time.monotonic() < deadline:
                try:
                    members = [http.get(f"{node.url}/_membership").json() for node in self.nodes]
                    if all(sorted(m.get("all_nodes", [])) == names for m in members):
                        return
                    last = str(members)
                except (httpx.HTTPError, ValueError) as exc:
                    last = repr(exc)
                time.sleep(0.2)
        raise DatabaseChoiceError(f"the cluster did not form within {timeout:.0f}s: {last}")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def kill(self) -> None:
        for node in self.nodes:
            node.kill()

    def exit_code(self) -> int | None:
        """None only when every node runs: a cluster missing a node is restarted by `ensure_running`."""
        codes = [node.exit_code() for node in self.nodes]
        return next((code for code in codes if code is not None), None)


def make_database(kind: str, directory: Path, user: str, password: str) -> DatabaseServer:
    """A stopped database server of the given kind, with its files under `directory`."""
    if kind == "pouchdb":
        return EmbeddedCouch(data_dir=directory, port=free_port(), user=user, password=password)
    if kind == "apache":
        return ApacheNode(directory, free_port(), user, password)
    if kind == "cluster":
        return ApacheCluster(directory, user, password)
    raise DatabaseChoiceError(f"unknown database kind {kind!r}: choose one of {', '.join(KINDS)}")


def drop_databases(server: DatabaseServer, prefix: str) -> None:
    """Delete the databases whose names start with `prefix` (one test's), best effort: a suite of hundreds of
    tests would otherwise leave thousands of databases open in one server, each costing it memory and file
    handles, and every later test slower. A server that a fault test left dead keeps them."""
    if server.exit_code() is not None:
        return
    try:
        with httpx.Client(base_url=server.url, auth=(server.user, server.password), timeout=30) as client:
            names = [name for name in client.get("/_all_dbs").json() if name.startswith(prefix)]
            for name in names:
                client.delete(f"/{name}")
    except httpx.HTTPError:
        pass  # a database that stays costs a little memory, not a result
