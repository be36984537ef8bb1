"""The database a benchmark runs on: the same choice as the tests (`tests/support/databases.py`).

`--db pouchdb|apache|cluster`, by default SEGEL_TEST_COUCHDB, else pouchdb. Also what a benchmark reports
about it: which database answered (its first line of figures) and the CPU time of its processes, read from
/proc: PouchDB Server's node process, or each Apache node's `beam.smp` with its children (the QuickJS
`couchjs` processes that run views and validate functions).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from devtools.embedded import EmbeddedCouch
from tests.support.databases import (
    KINDS,
    ApacheCluster,
    ApacheNode,
    DatabaseChoiceError,
    DatabaseServer,
    chosen_kind,
    make_database,
)


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", choices=KINDS, help="the database to run on (default: SEGEL_TEST_COUCHDB, else pouchdb)"
    )


def start_database(kind: str | None, directory: Path, user: str, password: str) -> tuple[str, DatabaseServer]:
    """Start the chosen database (`kind`, else the tests' choice); exits with the reason if it cannot."""
    try:
        kind = kind or chosen_kind()
        database = make_database(kind, directory, user, password)
        database.start()
    except (DatabaseChoiceError, RuntimeError) as exc:
        raise SystemExit(f"cannot start the {kind or 'chosen'} database: {exc}") from exc
    return kind, database


def host_port(database: DatabaseServer) -> tuple[str, int]:
    """Where the database (for a cluster: its first node) listens."""
    parts = urlsplit(database.url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def describe_database(kind: str, database: DatabaseServer) -> str:
    """One line naming the database that answered: product, version, nodes, and shards for Apache."""
    auth = (database.user, database.password)
    welcome = httpx.get(f"{database.url}/", auth=auth, timeout=10).json()
    product = "Apache CouchDB" if "couchdb" in welcome else "PouchDB Server"
    line = f"database: {kind} ({product} {welcome.get('version', '?')}"
    if isinstance(database, (ApacheNode, ApacheCluster)):
        nodes = len(database.nodes) if isinstance(database, ApacheCluster) else 1
        cluster = httpx.get(f"{database.url}/_node/_local/_config/cluster", auth=auth, timeout=10).json()
        line += f", {nodes} node{'s' if nodes > 1 else ''}, q={cluster.get('q')} n={cluster.get('n')}"
    return line + ")"


def database_pids(database: DatabaseServer) -> list[int]:
    """The pid of each database process: PouchDB Server's node, or every Apache node's beam.smp."""
    if isinstance(database, EmbeddedCouch):
        return [database.pid] if database.pid is not None else []
    nodes = database.nodes if isinstance(database, ApacheCluster) else [database]
    pids = []
    for node in nodes:
        if not isinstance(node, ApacheNode):
            raise TypeError(f"no pid for a {type(node).__name__}")
        # couchdb-node writes the pid of the node's own beam.smp here (it execs the VM; see its header).
        pid_file = node.directory / "couchdb.pid"
        if pid_file.exists():
            pids.append(int(pid_file.read_text().strip()))
    return pids


def _stat(pid: int) -> list[str]:
    """Fields of /proc/<pid>/stat after the command name: [0] is field 3 (state), [1] the parent's pid."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def _descendants(roots: list[int]) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents.setdefault(int(_stat(int(entry.name))[1]), []).append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue  # exited while we looked
    found, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes and all their descendants, the reaped ones included."""
    ticks = 0
    for pid in _descendants(pids):
        try:
            fields = _stat(pid)
        except OSError:
            continue
        # utime, stime, cutime, cstime (fields 14-17): a child's time moves into its parent's cutime/cstime
        # when it is reaped, so summing all four over the live tree counts each tick once.
        ticks += sum(int(value) for value in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")
