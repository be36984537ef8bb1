"""Sync gateway benchmark (run through `scripts/bench/sync`): prints figures, asserts nothing.

1. Push N records (handoffs) + P photo records with ~K KB images with a stock PouchDB 9 client (node), once
   through the gateway as a courier and once straight into the same CouchDB database as its admin; the
   throughput ratio gateway/direct is the figure (target >= 0.8).
2. Initial pull of 1,000 documents for one courier from a records database of 1,000 documents and from one
   of B documents (target: the larger no more than 1.5x slower). The scope index is built before timing, as
   it is in a running system (CouchDB updates it as documents arrive).
3. Peak memory (VmHWM) of the server process over all of it (target < 200 MB).

Runs on the database the tests would use (`--db pouchdb|apache|cluster`, by default SEGEL_TEST_COUCHDB, else
pouchdb; see scripts/bench/chosen_database.py) and gives, beside each timed push and pull, the CPU seconds
its processes spent (for a cluster, all three nodes').

`--trace` puts a recording proxy in front of the database for both pushes and prints the database requests
per batch by kind, and the gateway's own time per route (from its request log). The extra hop makes the
push slower: use the traced run for counts and shares, the plain run for throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import dataclasses
import json
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from devtools.bench.chosen_database import (
    add_db_option,
    cpu_seconds,
    database_pids,
    describe_database,
    host_port,
    start_database,
)
from devtools.embedded import free_port
from server.databases import SEGEL_DATABASES
from server.settings import Settings
from store.bootstrap import bootstrap
from store.couch import CouchClient, CouchNotFound
from tests.support.databases import DatabaseServer
from tests.support.flaky_proxy import FlakyProxy
from tests.support.identity import issue_device_token, make_user
from tests.support.pouch_client import (
    document_record,
    handoff_record,
    photo_bytes,
    photo_record,
    run_client,
)
from tests.support.servers import ServerProcess


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(
    settings: Settings, workdir: Path, *, office_worker: bool = False, log_level: str = "WARNING"
) -> ServerProcess:
    """The server, by default without the office worker: its rounds (rollups and checks over every record
    that arrived, every 30 s) would land on whichever push happens to be running and load the database
    unevenly; `--office-worker` keeps it, to see what it costs."""
    port = free_port()
    env = {
        "COUCHDB_URL": settings.couchdb_url,
        "COUCHDB_USER": settings.couchdb_user or "",
        "COUCHDB_PASSWORD": settings.couchdb_password or "",
        "SEGEL_SECRET_KEY": settings.secret_key,
        "SEGEL_DB_PREFIX": settings.db_prefix,
        "SEGEL_LOG_LEVEL": log_level,
        **({} if office_worker else {"SEGEL_OFFICE_WORKER_S": "0"}),
        "SEGEL_ORIGIN": f"http://localhost:{port}",
    }
    server = ServerProcess(env=env, port=port, log_path=workdir / f"server-{settings.db_prefix}.log")
    server.start(timeout=120)
    return server


def make_settings(couch: DatabaseServer, prefix: str, workdir: Path) -> Settings:
    return Settings(
        couchdb_url=couch.url,
        couchdb_user=couch.user,
        couchdb_password=couch.password,
        secret_key=secrets.token_urlsafe(48),
        db_prefix=prefix,
        data_dir=workdir,
    )


def push_records(document_ids: list[str], author: str, records: int, photos: int, photo_kb: int) -> list[Any]:
    out: list[dict[str, Any]] = []
    for number in range(records):
        out.append(handoff_record(document_ids[number % len(document_ids)], author, seq=number + 1))
    for number in range(photos):
        handoff = out[number]
        out.append(photo_record(handoff["_id"], handoff["document_id"], author, photo_bytes(photo_kb * 1024)))
    return out


#: Batches of 25: 25 photos of 150 KB stay under CouchDB's default 8 MB request limit for the direct push.
PUSH_BATCH = 25


@dataclasses.dataclass(frozen=True)
class Push:
    """One timed push: wall seconds, and CPU seconds of the database processes (and of the gateway's server
    process, for a push through it) from its start until the database is idle again; `database_tail` is the
    part of `database_cpu` spent after the client finished (background view indexing, the change follower)."""

    seconds: float
    database_cpu: float
    server_cpu: float = 0.0
    database_tail: float = 0.0


def timed_push(
    url: str,
    token: str | None,
    directory: Path,
    docs: list[dict[str, Any]],
    database: list[int],
    proxy: FlakyProxy | None = None,
    server: list[int] | None = None,
    views: tuple[str, str, str, tuple[str, ...]] | None = None,
) -> Push:
    """Push `docs` (put into the client's database first, untimed); `database` are the database's pids,
    `server` the gateway server's (its CPU is counted too when given). With `views` (the database's URL,
    admin user and password, and the records database's name) every view of that database is brought up to
    date before the count stops (`catch_up_views`)."""
    for start in range(0, len(docs), 500):
        run_client(url, token, directory, [{"op": "put", "docs": docs[start : start + 500]}], timeout=600)
    if proxy is not None:
        proxy.request_lines.clear()  # count the timed push only
    cpu_before, server_before = cpu_seconds(database), cpu_seconds(server or [])
    started = time.perf_counter()
    steps = [{"op": "push", "batch_size": PUSH_BATCH}]
    result = run_client(url, token, directory, steps, timeout=3600, stall_seconds=3600)[0]
    elapsed = time.perf_counter() - started
    at_end = cpu_seconds(database)
    if views is not None:
        catch_up_views(views)
    settle(database + (server or []))
    cpu = cpu_seconds(database) - cpu_before
    server_cpu = cpu_seconds(server or []) - server_before
    if not result.get("ok") or result.get("doc_write_failures"):
        raise SystemExit(f"push failed: {str(result)[:500]}")
    return Push(elapsed, cpu, server_cpu, cpu - (at_end - cpu_before))


def catch_up_views(databases: tuple[str, str, str, tuple[str, ...]]) -> None:
    """Query one view of every design document of the databases, so each index takes in what was written.

    A push's records must be indexed before the office reads them, and that work belongs to the push. When it
    happens is up to the database: CouchDB's background indexer may start during the next push or after the
    count stopped, PouchDB Server indexes only when a view is read. Asking every index at the end of each
    push makes each pay for its own documents, on both databases.
    """
    with concurrent.futures.ThreadPoolExecutor(1) as thread:  # called from inside the bench's event loop
        thread.submit(asyncio.run, _query_every_design(*databases)).result()


async def _query_every_design(url: str, user: str, password: str, names: tuple[str, ...]) -> None:
    client = CouchClient(url, user, password, timeout=1800)
    try:
        for name in names:
            db = client.db(name)
            designs = await db.all_docs(startkey='"_design/"', endkey='"_design0"', include_docs=True)
            for row in designs["rows"]:
                views = sorted((row["doc"].get("views") or {}).keys())
                if not views:
                    continue
                try:
                    await db.view(str(row["id"]).removeprefix("_design/"), views[0], limit=0)
                except CouchNotFound:
                    continue  # a Mango index: CouchDB answers it as a view, PouchDB Server does not
    finally:
        await client.aclose()


def settle(pids: list[int], idle_share: float = 0.02, window: float = 1.0, limit: float = 300.0) -> None:
    """Wait until these processes use under `idle_share` of a core over `window` seconds (at most `limit`).

    CouchDB indexes views in the background after writes, and the gateway's change follower reads what was
    just stored: work a push causes, done after its client has finished. Counting until the database is idle
    charges it to the push that caused it, not to whatever is measured next (the gateway's push follows the
    direct one in one database).
    """
    deadline = time.monotonic() + limit
    before = cpu_seconds(pids)
    while time.monotonic() < deadline:
        time.sleep(window)
        now = cpu_seconds(pids)
        if now - before < idle_share * window:
            return
        before = now


async def bench_push(
    couch: DatabaseServer, workdir: Path, args: argparse.Namespace, prefix: str = "benchpush"
) -> tuple[Push, Push]:
    """The gateway's push and the direct one, into fresh databases named after `prefix`."""
    settings = make_settings(couch, prefix, workdir)
    client = CouchClient(settings.couchdb_url, settings.couchdb_user, settings.couchdb_password, timeout=600)
    await bootstrap(client, settings.db_prefix, SEGEL_DATABASES)
    await make_user(client, settings, "kurir.bench", "courier")
    await make_user(client, settings, "kurir.direct", "courier")
    token = await issue_device_token(client, settings, "kurir.bench")
    db = client.db(settings.records_db)
    documents = [document_record("kurir.bench") for _ in range(200)] + [
        document_record("kurir.direct") for _ in range(200)
    ]
    await db.bulk_docs(documents)
    host, port = host_port(couch)
    pids = database_pids(couch)
    with contextlib.ExitStack() as stack:
        # With --trace, the gateway and the direct client each reach the database through a recording proxy.
        to_gateway = stack.enter_context(FlakyProxy(port, cut_ratio=0, record=True)) if args.trace else None
        to_direct = stack.enter_context(FlakyProxy(port, cut_ratio=0, record=True)) if args.trace else None
        if to_gateway is not None:
            settings = dataclasses.replace(settings, couchdb_url=f"http://{host}:{to_gateway.port}")
        server = start_server(
            settings, workdir, office_worker=args.office_worker, log_level="INFO" if args.trace else "WARNING"
        )
        try:
            records = args.records - args.photos
            via_gateway = push_records(
                [d["_id"] for d in documents[:200]], "kurir.bench", records, args.photos, args.photo_kb
            )
            direct = push_records(
                [d["_id"] for d in documents[200:]], "kurir.direct", records, args.photos, args.photo_kb
            )
            direct_port = to_direct.port if to_direct is not None else port
            direct_url = f"http://{couch.user}:{couch.password}@{host}:{direct_port}/{settings.records_db}"
            views: tuple[str, str, str, tuple[str, ...]] = (
                couch.url,
                couch.user,
                couch.password,
                (settings.records_db,),
            )
            direct_push = timed_push(
                direct_url, None, workdir / f"{prefix}-direct", direct, pids, to_direct, views=views
            )
            # The gateway's push also writes receipts and seq claims, into their own database and its view.
            views = (couch.url, couch.user, couch.password, (settings.records_db, settings.receipts_db))
            assert server._process is not None
            gateway_push = timed_push(
                f"{server.url}/sync/records",
                token,
                workdir / f"{prefix}-gateway",
                via_gateway,
                pids,
                to_gateway,
                [server._process.pid],
                views=views,
            )
            if to_gateway is not None and to_direct is not None:
                batches = -(-args.records // PUSH_BATCH)
                print_requests("direct", to_direct.request_lines, batches)
                print_requests("gateway", to_gateway.request_lines, batches)
                print_route_times(server.log_path)
            return gateway_push, direct_push
        finally:
            rss = peak_rss_mb(server._process.pid) if server._process else float("nan")
            print(f"  push: server peak RSS {rss:.0f} MB")
            server.stop()
            await client.aclose()


def print_requests(label: str, lines: list[str], batches: int) -> None:
    """Database requests per batch of the timed push, by method and path (ids and databases folded)."""
    kinds: Counter[str] = Counter()
    for line in lines:
        method, _, rest = line.partition(" ")
        path = rest.split(" ")[0].split("?")[0]
        path = re.sub(r"^/[a-z0-9]+_", "/", path)  # "/benchpush_identity/…" -> "/identity/…"
        # "/records/receipt%3Ahandoff%3A…" -> "/records/receipt:<id>", other ids -> "<id>"
        path = re.sub(r"/(receipt|seqclaim|refusal)(:|%3A)[^/]*$", r"/\1:<id>", path)
        path = re.sub(r"/(_local/|)[^/_<][^/<]*$", lambda m: f"/{m.group(1)}<id>", path)
        kinds[f"{method} {path}"] += 1
    print(f"  database requests per batch of {PUSH_BATCH}, {label}: {len(lines) / batches:.1f}")
    for kind, count in kinds.most_common():
        print(f"    {count / batches:5.2f}  {kind}")


def print_route_times(log_path: Path) -> None:
    """The gateway's own time per route (median, from its JSON request log) during the traced run."""
    times: dict[str, list[float]] = {}
    for line in log_path.read_text(errors="replace").splitlines():
        try:
            message = str(json.loads(line).get("message", ""))
        except ValueError:
            continue
        found = re.match(r"(GET|POST|PUT) (/sync/records/\S+) \d+ ([\d.]+)ms", message)
        if found:
            route = re.sub(r"_local/.*", "_local/<id>", found.group(2))
            times.setdefault(f"{found.group(1)} {route}", []).append(float(found.group(3)))
    print("  gateway time per request (median ms, count):")
    for route, values in sorted(times.items(), key=lambda item: -len(item[1])):
        if len(values) > 2:
            print(f"    {statistics.median(values):6.1f}  {len(values):5d}  {route}")


async def fill(client: CouchClient, settings: Settings, courier: str, mine: int, total: int) -> None:
    db = client.db(settings.records_db)
    batch: list[dict[str, Any]] = []
    for number in range(total):
        courier_of = courier if number < mine else f"kurir.other{number % 500:03d}"
        office = "6471" if number % 3 else "3171"
        batch.append(document_record(courier_of, office=office))
        if len(batch) == 2000:
            await db.bulk_docs(batch)
            batch = []
    if batch:
        await db.bulk_docs(batch)
    # Build the scope index now, as a running CouchDB would have while documents arrived.
    started = time.perf_counter()
    await db.view("gateway", "by_scope", limit=1)
    await db.view("gateway", "by_link", limit=1)
    print(f"  {total} documents loaded; scope index built in {time.perf_counter() - started:.1f} s")


async def bench_pull(
    couch: DatabaseServer, workdir: Path, total: int, mine: int, label: str
) -> tuple[float, int, float]:
    settings = make_settings(couch, f"benchpull{label}", workdir)
    client = CouchClient(settings.couchdb_url, settings.couchdb_user, settings.couchdb_password, timeout=3600)
    await bootstrap(client, settings.db_prefix, SEGEL_DATABASES)
    await make_user(client, settings, "kurir.pull", "courier")
    token = await issue_device_token(client, settings, "kurir.pull")
    await fill(client, settings, "kurir.pull", mine, total)
    server = start_server(settings, workdir)
    pids = database_pids(couch)
    try:
        timings, cpu = [], []
        for attempt in range(2):
            cpu_before = cpu_seconds(pids)
            started = time.perf_counter()
            result = run_client(
                f"{server.url}/sync/records",
                token,
                workdir / f"pull-{label}-{attempt}",
                [{"op": "pull"}],
                timeout=3600,
                stall_seconds=3600,
            )[0]
            timings.append(time.perf_counter() - started)
            cpu.append(cpu_seconds(pids) - cpu_before)
            if not result.get("ok") or result.get("docs_written") != mine:
                raise SystemExit(f"pull failed: {str(result)[:500]}")
        assert server._process is not None
        print(
            f"  pulls from an empty phone: {', '.join(f'{t:.2f} s' for t in timings)} (best counts); "
            f"database CPU {', '.join(f'{c:.2f} s' for c in cpu)}"
        )
        return min(timings), result["docs_written"], peak_rss_mb(server._process.pid)
    finally:
        server.stop()
        await client.aclose()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=5000, help="records pushed each way, photos included")
    parser.add_argument("--photos", type=int, default=500)
    parser.add_argument("--photo-kb", type=int, default=150)
    parser.add_argument("--big", type=int, default=100_000, help="documents in the large database")
    parser.add_argument("--mine", type=int, default=1000, help="documents assigned to the pulling courier")
    parser.add_argument("--push-only", action="store_true", help="measure the push only (skip the pulls)")
    parser.add_argument(
        "--office-worker", action="store_true", help="keep the office worker running during the push"
    )
    parser.add_argument(
        "--trace", action="store_true", help="count the database requests of each push and time the routes"
    )
    add_db_option(parser)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    workdir = Path(tempfile.mkdtemp(prefix="segel-bench-sync-"))
    kind, couch = start_database(args.db, workdir / "couch", "admin", secrets.token_urlsafe(16))
    try:
        print(describe_database(kind, couch))
        print(f"Push: {args.records} records incl. {args.photos} photos of {args.photo_kb} KB, each way")
        gateway, direct = await bench_push(couch, workdir, args)
        for label, push in (("direct to CouchDB:", direct), ("through gateway:  ", gateway)):
            print(
                f"  {label} {push.seconds:.1f} s ({args.records / push.seconds:.0f} records/s), "
                f"database CPU {push.database_cpu:.1f} s"
            )
        print(f"  throughput ratio gateway/direct: {direct.seconds / gateway.seconds:.2f} (target >= 0.8)")
        if args.push_only:
            return
        print(f"Initial pull of {args.mine} documents for one courier")
        small_s, count, rss_small = await bench_pull(couch, workdir, args.mine, args.mine, "small")
        print(f"  database of {args.mine}: {small_s:.2f} s for {count} documents")
        big_s, count, rss_big = await bench_pull(couch, workdir, args.big, args.mine, "big")
        print(f"  database of {args.big}: {big_s:.2f} s for {count} documents")
        print(f"  ratio large/small: {big_s / small_s:.2f} (target <= 1.5)")
        print(f"Server peak RSS during pulls: {max(rss_small, rss_big):.0f} MB (target < 200 MB)")
    finally:
        couch.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
