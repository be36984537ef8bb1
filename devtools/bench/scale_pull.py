"""Incremental pull (scripts/bench/scale --only pull): one courier's pull of the 20 changes they may see,
after 1,000 and after 100,000 other changes in the database since their checkpoint.

One real PouchDB phone (node) pulls through the gateway of a running server. After its first sync its
local database is kept as it was (the checkpoint); then other offices and couriers change the database
(`_bulk_docs` straight into it: new documents, seals, handoffs) with the courier's 20 changes among them
(10 new documents assigned to them, 10 seals staff bind to their documents). Before timing, the server is
let do what a running one does meanwhile: CouchDB's views are brought up to date, and the server's change
cache follows the writes (a sentinel record written after them reaches another courier from the cache, and
the server and the database are idle again: Apache CouchDB's background indexer builds the office's views
after the writes). The machine's load average is printed beside the pulls. Then the phone pulls from its
checkpoint, several times, each from a copy of the kept database; the median is the figure, and each pull
must bring exactly the 20.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from devtools.bench.chosen_database import cpu_seconds, database_pids
from devtools.bench.phone_processes import NodePhones, Pulled
from devtools.bench.scale_setup import (
    OFFICES,
    Bench,
    Province,
    bench_database,
    build_views,
    make_couriers,
    write_records,
)
from records.types import JSONDict
from sync.since_tokens import TokenSigner, since_key
from tests.support.servers import ServerProcess

COURIER = "kurir.pull"
SENTINEL = "kurir.penanda"
#: The courier's own documents before the first sync.
OWN_DOCUMENTS = 50
#: Other records in the database before the first sync.
BACKGROUND = 5000
#: Changes the courier may see, among the others: half new documents, half seals of their documents.
VISIBLE = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("incremental pull")
    group.add_argument("--pull-small", type=int, default=1000, help="other changes in the small case")
    group.add_argument("--pull-large", type=int, default=100_000, help="other changes in the large case")
    group.add_argument("--pull-repeats", type=int, default=5, help="timed pulls of each case (median)")


QUICK = {"pull_large": 10_000, "pull_repeats": 3}


@dataclass(frozen=True)
class Rig:
    """What every case of the part uses: the bench, its running server, the phone, its courier's token."""

    bench: Bench
    server: ServerProcess
    phones: NodePhones
    sentinel: Sentinel
    province: Province
    own: list[JSONDict]
    token: str
    database_pids: list[int]


@dataclass(frozen=True)
class Case:
    label: str
    pulls: list[Pulled]
    server_cpu: list[float]
    database_cpu: list[float]

    @property
    def median(self) -> float:
        return statistics.median(pull.seconds for pull in self.pulls)


class Sentinel:
    """Another courier whose raw `_changes` pulls tell when the server's cache has read every write."""

    def __init__(self, url: str, token: str, secret: str) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"}
        self.signer = TokenSigner(since_key(secret), SENTINEL)
        self.since = "0"

    async def catch_up(self, client: httpx.AsyncClient) -> list[str]:
        """Pull until an empty page; the ids seen."""
        ids: list[str] = []
        while True:
            answer = await client.get(
                f"{self.url}/_changes", params={"since": self.since, "limit": 100}, headers=self.headers
            )
            answer.raise_for_status()
            body = answer.json()
            self.since = str(body["last_seq"])
            if not body["results"]:
                return ids
            ids.extend(row["id"] for row in body["results"])

    def from_cache(self) -> bool:
        position = self.signer.decode(self.since)
        return position is not None and position.phase == "cache"

    async def wait_for(
        self, doc_id: str, server: ServerProcess, database: list[int], timeout: float = 900
    ) -> float:
        """Until `doc_id` reached this courier, the pull is served from the cache, and the server and the
        database idle (Apache CouchDB's background indexer builds the office's views after the writes);
        the seconds until the first two held."""
        started = time.monotonic()
        deadline = started + timeout
        async with httpx.AsyncClient(timeout=60) as client:
            seen = False
            while not (seen and self.from_cache()):
                if time.monotonic() > deadline:
                    raise SystemExit(f"the server's cache did not reach {doc_id} within {timeout:.0f} s")
                seen = doc_id in await self.catch_up(client) or seen
                await asyncio.sleep(0.2)
        reached = time.monotonic() - started
        assert server._process is not None
        await wait_idle([server._process.pid], deadline)
        await wait_idle(database, deadline)
        return reached


async def wait_idle(pids: list[int], deadline: float) -> None:
    """Until these processes used under 5 % of a core for two seconds in a row."""
    quiet = 0
    while quiet < 2 and time.monotonic() < deadline:
        before = cpu_seconds(pids)
        await asyncio.sleep(1.0)
        quiet = quiet + 1 if cpu_seconds(pids) - before < 0.05 else 0


def load_average() -> float:
    """The machine's one-minute load average: on a shared machine, how far to trust a figure."""
    return float(Path("/proc/loadavg").read_text().split()[0])


async def run(args: argparse.Namespace) -> None:
    print(
        f"Incremental pull: one courier, {VISIBLE} new changes they may see after {args.pull_small:,} and "
        f"after {args.pull_large:,} other changes since their checkpoint"
    )
    with tempfile.TemporaryDirectory(prefix="segel-bench-scale-pull-") as tmp:
        workdir = Path(tmp)
        async with bench_database(args, workdir, "scalepull") as bench:
            await _run(args, bench)


async def _run(args: argparse.Namespace, bench: Bench) -> None:
    couch, settings = bench.couch, bench.settings
    home = OFFICES[0]
    tokens = await make_couriers(couch, settings, {COURIER: home, SENTINEL: OFFICES[1]})
    province = Province()
    own = [province.document(COURIER, home) for _ in range(OWN_DOCUMENTS)]
    await write_records(couch, settings, iter([*own, *province.foreign(BACKGROUND)]))
    await build_views(couch, settings)
    server = bench.start_server()
    pids = database_pids(bench.database)
    url = f"{server.url}/sync/records"
    sentinel = Sentinel(url, tokens[SENTINEL], settings.secret_key)
    try:
        async with NodePhones() as phones, httpx.AsyncClient(timeout=60) as client:
            await sentinel.catch_up(client)
            first = await phones.pull(url, tokens[COURIER], bench.workdir / "phone-0")
            if not first.ok or first.docs_written != OWN_DOCUMENTS:
                raise SystemExit(f"the first sync failed: {first}")
            print(
                f"  database: {OWN_DOCUMENTS + BACKGROUND:,} records of {len(OFFICES)} offices; the "
                f"courier's first sync: {first.docs_written} documents in {first.seconds:.2f} s"
            )
            rig = Rig(bench, server, phones, sentinel, province, own, tokens[COURIER], pids)
            kept = bench.workdir / "phone-0"
            cases = []
            for label, count in (("small", args.pull_small), ("large", args.pull_large)):
                case, kept = await _case(args, rig, kept, label, count)
                cases.append(case)
    finally:
        server.stop()
    small, large = cases
    print(
        f"  median pull: {small.median:.3f} s after {args.pull_small:,} other changes, "
        f"{large.median:.3f} s after {args.pull_large:,}"
    )
    print(f"incremental pull ratio large/small: {large.median / small.median:.2f} (target <= 1.5, goal 1.2)")


async def _case(args: argparse.Namespace, rig: Rig, kept: Path, label: str, count: int) -> tuple[Case, Path]:
    """Write `count` other changes with the courier's 20 among them, let the server follow, time pulls."""
    bench, server, province, pids = rig.bench, rig.server, rig.province, rig.database_pids
    couch, settings = bench.couch, bench.settings
    visible = [province.document(COURIER, OFFICES[0]) for _ in range(VISIBLE // 2)]
    visible += [province.seal(document) for document in rig.own[: VISIBLE - len(visible)]]
    # The courier's changes spread evenly among the others, as they would arrive during a day.
    every = max(1, count // len(visible))
    places = {every * number + every // 2: record for number, record in enumerate(visible)}
    batch: list[JSONDict] = []
    for number, record in enumerate(province.foreign(count)):
        if number in places:
            batch.append(places.pop(number))
        batch.append(record)
    batch.extend(places.values())

    started = time.perf_counter()
    await write_records(couch, settings, iter(batch))
    wrote = time.perf_counter() - started
    views = await build_views(couch, settings)
    marker = province.document(SENTINEL, OFFICES[1])
    await write_records(couch, settings, iter([marker]))
    followed = await rig.sentinel.wait_for(str(marker["_id"]), server, pids)
    print(
        f"  {label}: {count:,} other changes and the courier's {VISIBLE} written in {wrote:.1f} s "
        f"(_bulk_docs of 1,000); views brought up to date in {views:.1f} s; the server's change cache "
        f"had read every one (a sentinel record written after them reached another courier from the cache "
        f"{followed:.1f} s after it was written) and the server and the database were idle"
    )
    expected = sorted(str(record["_id"]) for record in visible)
    assert server._process is not None
    server_pid = server._process.pid
    pulls, server_cpu, database_cpu = [], [], []
    load_before = load_average()
    directory = kept
    for attempt in range(args.pull_repeats):
        directory = bench.workdir / f"phone-{label}-{attempt}"
        shutil.copytree(kept, directory)
        cpu_server, cpu_database = cpu_seconds([server_pid]), cpu_seconds(pids)
        pulled = await rig.phones.pull(f"{server.url}/sync/records", rig.token, directory)
        server_cpu.append(cpu_seconds([server_pid]) - cpu_server)
        database_cpu.append(cpu_seconds(pids) - cpu_database)
        if not pulled.ok:
            raise SystemExit(f"the {label} pull failed: {pulled}")
        pulls.append(pulled)
    exact = all(sorted(pulled.ids) == expected for pulled in pulls)
    print(
        f"    pulls from the checkpoint: {', '.join(f'{p.seconds:.3f}' for p in pulls)} s; "
        f"records pulled: {', '.join(str(p.docs_written) for p in pulls)}; exactly the courier's "
        f"{VISIBLE}: {'yes' if exact else 'NO'}; server CPU {statistics.median(server_cpu):.3f} s, database "
        f"CPU {statistics.median(database_cpu):.3f} s per pull (median); machine load average (1 min) "
        f"{load_before:.2f} before the pulls, {load_average():.2f} after"
    )
    if not exact:
        extra = sorted(set(pulls[0].ids) - set(expected))[:5]
        missing = sorted(set(expected) - set(pulls[0].ids))[:5]
        print(f"    unexpected: {extra}; missing: {missing}")
    return Case(label, pulls, server_cpu, database_cpu), directory
