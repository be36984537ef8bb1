"""Live phones (scripts/bench/scale --only live): a thousand live couriers' phones on one server instance
under a steady 20 changes a second spread over every office.

Each phone is a distinct courier of one of the province's 30 offices, signed in with its own device token:
a few are real PouchDB clients in node (`replicate.from(url, {live: true, retry: true})`), the rest light
clients speaking the same longpoll `_changes` protocol (`devtools/bench/light_phones.py`). The phones
connect in three steps (0, a tenth, all); at each step, once every phone is waiting, two windows are
measured: one with no writes, one under load. The load is what staff write: a new document assigned to a
courier, or a seal bound to one of their documents, each for a courier picked at random, written straight
into the records database (as the office pages write; the gateway learns of every write the same way,
through its one follower of `_changes`, whoever wrote it). Each write concerns exactly one phone.

Printed per step and window: the server's RSS (VmRSS) and CPU share (of one core) from /proc, the database
requests per second the server made (a recording proxy between the server and the database counts them;
the writes themselves bypass it), and, under load, the time from a write being sent to the concerned phone
having it (a light phone: its longpoll answered with the row; a PouchDB phone: the record stored locally).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.bench.chosen_database import cpu_seconds, database_pids, host_port
from devtools.bench.phone_processes import LightPhones, LivePhone, NodePhones
from devtools.bench.scale_setup import OFFICES, Bench, Province, bench_database, build_views, make_couriers
from devtools.bench.scale_setup import write_records as write_bulk
from records.types import JSONDict
from tests.support.flaky_proxy import FlakyProxy


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("live phones")
    group.add_argument("--phones", type=int, default=1000, help="live phones at the last step")
    group.add_argument("--pouch-phones", type=int, default=30, help="of them, real PouchDB clients (node)")
    group.add_argument("--live-rate", type=float, default=20.0, help="staff writes per second under load")
    group.add_argument("--live-window", type=float, default=30.0, help="seconds of each measured window")


QUICK = {"phones": 200, "pouch_phones": 10, "live_window": 10.0}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def fold(line: str) -> str:
    """A request line as a kind: method and path, the database prefix, ids and query folded."""
    method, _, rest = line.partition(" ")
    path = rest.split(" ")[0].split("?")[0]
    path = re.sub(r"^/[a-z0-9]+_", "/", path)
    path = re.sub(r"/(_local/|)[^/_][^/]*$", lambda found: f"/{found.group(1)}<id>", path)
    return f"{method} {path}"


@dataclass
class Window:
    seconds: float
    rss_mb: float
    server_cpu: float
    database_cpu: float
    phones_cpu: float
    load_average: float
    requests: list[str]

    @property
    def cpu_share(self) -> float:
        return 100 * self.server_cpu / self.seconds

    @property
    def per_second(self) -> float:
        return len(self.requests) / self.seconds


@dataclass
class Written:
    courier: str
    sent: float


@dataclass
class Deliveries:
    """Writes sent and when the concerned phone had each (first sight only)."""

    written: dict[str, Written] = field(default_factory=dict)
    latencies: dict[str, float] = field(default_factory=dict)

    def seen(self, courier: str, ids: list[str], at: float) -> None:
        for doc_id in ids:
            write = self.written.get(doc_id)
            if write is not None and write.courier == courier and doc_id not in self.latencies:
                self.latencies[doc_id] = at - write.sent


@dataclass
class Step:
    phones: int
    idle: Window
    load: Window
    expected: int
    latencies: list[float]
    write_failures: int


class Measure:
    """The server's and the database's figures over a window, from /proc and the recording proxy."""

    def __init__(self, server_pid: int, database: list[int], phones: list[int], proxy: FlakyProxy) -> None:
        self.server_pid = server_pid
        self.database = database
        self.phones = phones
        self.proxy = proxy

    async def window(self, seconds: float) -> Window:
        mark = len(self.proxy.request_lines)
        server, database = cpu_seconds([self.server_pid]), cpu_seconds(self.database)
        phones = cpu_seconds(self.phones)
        started = time.perf_counter()
        await asyncio.sleep(seconds)
        elapsed = time.perf_counter() - started
        return Window(
            elapsed,
            rss_mb(self.server_pid),
            cpu_seconds([self.server_pid]) - server,
            cpu_seconds(self.database) - database,
            cpu_seconds(self.phones) - phones,
            float(Path("/proc/loadavg").read_text().split()[0]),
            self.proxy.request_lines[mark:],
        )


class StaffWrites:
    """A steady rate of writes, each concerning one courier (picked at random) and so one phone."""

    def __init__(self, bench: Bench, couriers: dict[str, str], own: dict[str, JSONDict]) -> None:
        self.db = bench.couch.db(bench.settings.records_db)
        self.couriers = couriers
        self.names = sorted(couriers)
        self.own = own
        self.province = Province(seed=20)
        self.random = random.Random(21)
        self.failures = 0

    def _record(self, courier: str) -> JSONDict:
        if self.random.random() < 0.5:
            return self.province.seal(self.own[courier])
        return self.province.document(courier, self.couriers[courier])

    async def run(self, rate: float, seconds: float, deliveries: Deliveries) -> None:
        tasks: set[asyncio.Task[None]] = set()
        started = time.monotonic()
        for number in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, started + number / rate - time.monotonic()))
            courier = self.random.choice(self.names)
            record = self._record(courier)
            deliveries.written[str(record["_id"])] = Written(courier, time.time())
            task = asyncio.create_task(self._put(record))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)

    async def _put(self, record: JSONDict) -> None:
        try:
            await self.db.put(record)
        except Exception:  # a bench counts what failed and goes on
            self.failures += 1


async def run(args: argparse.Namespace) -> None:
    steps = sorted({0, args.phones // 10, args.phones})
    pouch = min(args.pouch_phones, args.phones)
    print(
        f"Live phones: {args.phones:,} couriers' phones ({pouch} real PouchDB clients, the rest light "
        f"longpoll clients) of {len(OFFICES)} offices on one server instance, in steps of "
        f"{', '.join(str(step) for step in steps)}; {args.live_rate:g} staff writes/s under load; "
        f"windows of {args.live_window:g} s"
    )
    with tempfile.TemporaryDirectory(prefix="segel-bench-scale-live-") as tmp:
        async with bench_database(args, Path(tmp), "scalelive") as bench:
            results = await _run(args, bench, steps)
    _report(results, args)


async def _run(args: argparse.Namespace, bench: Bench, steps: list[int]) -> list[Step]:
    couch, settings = bench.couch, bench.settings
    couriers = {f"kurir.{number:04d}": OFFICES[number % len(OFFICES)] for number in range(args.phones)}
    tokens = await make_couriers(couch, settings, couriers)
    province = Province(seed=19)
    # Every courier already carries one document: a phone's first pull has something to bring.
    own = {courier: province.document(courier, office) for courier, office in couriers.items()}
    await write_bulk(couch, settings, iter(own.values()))
    await build_views(couch, settings)
    names = sorted(couriers)
    deliveries = Deliveries()
    host, port = host_port(bench.database)
    assert host in ("127.0.0.1", "localhost"), host
    with FlakyProxy(port, cut_ratio=0, record=True) as proxy:
        server = bench.start_server(proxy.port)
        try:
            assert server._process is not None
            url = f"{server.url}/sync/records"
            paused: set[str] = set()

            def heard(event: dict[str, Any]) -> None:
                if event["event"] == "change":
                    deliveries.seen(str(event["phone"]), list(event["ids"]), float(event["at"]))
                elif event["event"] == "paused" and not event.get("error"):
                    paused.add(str(event["phone"]))

            results: list[Step] = []
            async with NodePhones(heard) as pouch, LightPhones(url, heard) as light:
                measure = Measure(
                    server._process.pid, database_pids(bench.database), [pouch.pid, light.pid], proxy
                )
                connected = 0
                writer = StaffWrites(bench, couriers, own)
                real = set(names[: args.pouch_phones])
                for count in steps:
                    new = names[connected:count]
                    pouch_new = [name for name in new if name in real]
                    if pouch_new:
                        phones = [LivePhone(name, tokens[name], bench.workdir / name) for name in pouch_new]
                        await pouch.live(url, phones)
                    await light.connect({name: tokens[name] for name in new if name not in real})
                    connected = count
                    waiting = real.intersection(names[:count])
                    await _until_paused(paused, waiting, 300)
                    await asyncio.sleep(3)
                    results.append(await _step(args, measure, writer, deliveries, set(names[:count])))
                    _print_step(results[-1], await light.errors())
        finally:
            server.stop()
    return results


async def _until_paused(paused: set[str], phones: set[str], timeout: float) -> None:
    """Until every one of these PouchDB phones has caught up and waits on its longpoll."""
    deadline = time.monotonic() + timeout
    while not paused.issuperset(phones):
        if time.monotonic() > deadline:
            raise SystemExit(f"the PouchDB phones were not all waiting within {timeout:.0f} s")
        await asyncio.sleep(0.2)


async def _step(
    args: argparse.Namespace,
    measure: Measure,
    writer: StaffWrites,
    deliveries: Deliveries,
    connected: set[str],
) -> Step:
    idle = await measure.window(args.live_window)
    before = set(deliveries.written)
    failures = writer.failures
    load_task = asyncio.create_task(measure.window(args.live_window))
    await writer.run(args.live_rate, args.live_window, deliveries)
    load = await load_task
    await asyncio.sleep(5)  # a write of the window's last moments still reaches its phone
    mine = [
        doc_id
        for doc_id, write in deliveries.written.items()
        if doc_id not in before and write.courier in connected
    ]
    latencies = sorted(deliveries.latencies[doc_id] for doc_id in mine if doc_id in deliveries.latencies)
    return Step(len(connected), idle, load, len(mine), latencies, writer.failures - failures)


def _percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(share * len(values)))] if values else float("nan")


def _print_step(step: Step, errors: int) -> None:
    for label, window in (("waiting", step.idle), ("under load", step.load)):
        database_share = 100 * window.database_cpu / window.seconds
        phones_share = 100 * window.phones_cpu / window.seconds
        print(
            f"  {step.phones:5d} phones {label:10s}: server RSS {window.rss_mb:6.1f} MB, CPU "
            f"{window.cpu_share:5.1f} % of a core, database CPU {database_share:5.1f} %, "
            f"database requests {window.per_second:6.1f}/s (phones' processes CPU {phones_share:.0f} %, "
            f"machine load average {window.load_average:.1f})"
        )
    if step.expected:
        worst = max(step.latencies, default=float("nan"))
        print(
            f"        staff write -> concerned phone: p50 {_percentile(step.latencies, 0.5):.2f} s, p95 "
            f"{_percentile(step.latencies, 0.95):.2f} s, max {worst:.2f} s "
            f"({len(step.latencies)} of {step.expected} writes for connected phones seen; write failures "
            f"{step.write_failures}; phone request errors so far {errors})"
        )


def _report(results: list[Step], args: argparse.Namespace) -> None:
    first, last = results[0], results[-1]
    if last.phones:
        per_connection = (last.idle.rss_mb - first.idle.rss_mb) * 1024 / last.phones
        print(
            f"  memory per idle live connection: {per_connection:.1f} KB "
            f"((RSS at {last.phones} - at {first.phones} phones) / {last.phones}, both waiting)"
        )
    print(
        "  database requests/s under load by phones: "
        + ", ".join(f"{step.phones}: {step.load.per_second:.1f}" for step in results)
        + f" ({args.live_rate:g} writes/s; waiting: "
        + ", ".join(f"{step.phones}: {step.idle.per_second:.1f}" for step in results)
        + ")"
    )
    # Every write concerns one courier: the writes for connected phones are the changes delivered.
    base = first.load.per_second
    for step in results[1:]:
        delivered = step.expected / step.load.seconds
        if delivered:
            extra = (step.load.per_second - base) / delivered
            print(
                f"  at {step.phones} phones: {delivered:.1f} changes/s delivered to a connected phone; "
                f"database requests beyond those at 0 phones: {extra:.1f} "
                "per delivered change (the gateway's pull and the phone's _revs_diff, _bulk_get, checkpoint)"
            )
    for step, label, window in (
        (first, "under load", first.load),
        (last, "waiting", last.idle),
        (last, "under load", last.load),
    ):
        kinds = Counter(fold(line) for line in window.requests)
        print(f"  database requests/s {label} at {step.phones} phones, by kind:")
        for kind, count in kinds.most_common(8):
            print(f"    {count / window.seconds:6.2f}  {kind}")
    worst = max(results, key=lambda step: step.load.rss_mb)
    p95 = _percentile(last.latencies, 0.95)
    print(
        f"live phones: server RSS at most {worst.load.rss_mb:.0f} MB (target < 500 MB), write-to-phone p95 "
        f"{p95:.2f} s at {last.phones} phones (target < 2 s)"
    )
