"""Benchmark of the office dashboard over a large database (run by scripts/bench/dashboard).

Writes N documents, each sealed, most picked up and many delivered, spread over 30 days and 40 couriers
of 4 partners, into a fresh database of the kind `--db` chooses (as the tests do: SEGEL_TEST_COUCHDB, else
PouchDB Server); folds every change into the open deliveries and builds the views the dashboard reads, once
(timed separately: in production each change is folded, and each row indexed, once, as it arrives); then
signs a staff member in and times GET /office through the whole app (session, counts, overdue list,
template) several times. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from datetime import datetime, timedelta

from devtools.bench.chosen_database import add_db_option
from devtools.bench.office_bench import bench_database, office_client, staff_cookie
from records.types import JSONDict
from server.office.dashboard import load_dashboard
from server.office.deliveries import update_open_deliveries
from server.office.ledger import OFFICE_TZ, Ledger
from server.settings import Settings
from store.couch import CouchClient

OFFICE = "6471"
PARTNERS = ("gojek", "grab", "pos_indonesia", "maxim")
BATCH = 5000


def _records(index: int, rng: random.Random, now: datetime) -> list[JSONDict]:
    """Minimal but realistic records: only the fields the report views read, plus ids."""
    created = now - timedelta(days=rng.uniform(0, 30))
    partner = PARTNERS[index % 4]
    courier = f"{partner}.kurir{index % 40:02d}"
    doc_id = f"document:B{index:012d}"
    iso = created.isoformat(timespec="seconds")
    out: list[JSONDict] = [
        {
            "_id": doc_id,
            "type": "document",
            "office": OFFICE,
            "created_at": iso,
            "assignment": {"courier": courier, "partner": partner, "assigned_at": iso},
        },
        {
            "_id": f"handoff:B{index:012d}s",
            "type": "handoff",
            "office": OFFICE,
            "document_id": doc_id,
            "kind": "sealed",
            "device_time": iso,
            "seal_match": True,
            "seal_condition": "intact",
            "photos": ["photo:x"],
            "from": {"party": "office"},
            "to": {"party": "office"},
            "author": "staff.a",
        },
    ]
    roll = rng.random()
    if roll < 0.8:
        picked = created + timedelta(hours=rng.uniform(1, 20))
        out.append(
            {
                "_id": f"handoff:B{index:012d}p",
                "type": "handoff",
                "office": OFFICE,
                "document_id": doc_id,
                "kind": "picked_up",
                "device_time": picked.isoformat(timespec="seconds"),
                "seal_match": True,
                "seal_condition": "intact",
                "photos": ["photo:x"],
                "from": {"party": "office"},
                "to": {"party": "courier", "id": courier},
                "author": courier,
            }
        )
        if roll < 0.7:
            kind = "delivered" if roll < 0.6 else "failed_attempt"
            at = picked + timedelta(hours=rng.uniform(1, 30))
            out.append(
                {
                    "_id": f"handoff:B{index:012d}d",
                    "type": "handoff",
                    "office": OFFICE,
                    "document_id": doc_id,
                    "kind": kind,
                    "device_time": at.isoformat(timespec="seconds"),
                    "seal_match": True,
                    "seal_condition": "intact",
                    "photos": ["photo:x"],
                    "from": {"party": "courier", "id": courier},
                    "to": {"party": "resident"},
                    "author": courier,
                }
            )
    return out


async def _load(couch: CouchClient, settings: Settings, documents: int) -> tuple[int, float]:
    """Records written, and seconds. Counted from the answers: a cluster's `doc_count` lags its writes."""
    rng = random.Random(6471)
    now = datetime.now(OFFICE_TZ)
    db = couch.db(settings.records_db)
    started = time.perf_counter()
    written = 0
    batch: list[JSONDict] = []
    for index in range(documents):
        batch.extend(_records(index, rng, now))
        if len(batch) >= BATCH or index == documents - 1:
            answers = await db.bulk_docs(batch)
            refused = [answer for answer in answers if "error" in answer]
            if refused:
                raise SystemExit(f"{len(refused)} records refused, the first: {refused[0]}")
            written += len(answers)
            batch = []
    return written, time.perf_counter() - started


async def _catch_up(ledger: Ledger) -> None:
    """Fold every change into the open deliveries (a page load folds at most 4 pages), then read the
    dashboard once, which builds the views it reads."""
    started = time.perf_counter()
    while await update_open_deliveries(ledger, limit=5000, max_batches=10):
        pass
    seconds = time.perf_counter() - started
    print(f"open deliveries catch-up (one-time; afterwards each change once): {seconds:.1f} s")
    started = time.perf_counter()
    await load_dashboard(ledger, OFFICE)
    print(f"first dashboard read, building its views (one-time): {time.perf_counter() - started:.1f} s")


async def run(choice: str | None, documents: int) -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    async with bench_database(choice) as (settings, couch):
        written, load_s = await _load(couch, settings, documents)
        print(f"records written: {written} ({documents} documents) in {load_s:.1f} s")
        ledger = Ledger.of(couch, settings)
        await _catch_up(ledger)
        cookie = await staff_cookie(couch, settings, OFFICE)
        async with office_client(settings, couch, cookie) as client:
            timings = []
            for _ in range(12):
                t0 = time.perf_counter()
                response = await client.get("/office")
                timings.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200, response.status_code
            warm = timings[2:]
            print(
                f"GET /office over {documents} documents: first {timings[0]:.0f} ms, "
                f"median {statistics.median(warm):.0f} ms, max {max(warm):.0f} ms (10 warm requests)"
            )
            print(f"page size: {len(response.content) / 1024:.0f} KiB")
        parts = []
        for _ in range(5):
            t0 = time.perf_counter()
            await load_dashboard(ledger, OFFICE)
            parts.append((time.perf_counter() - t0) * 1000)
        median = statistics.median(parts)
        print(f"of which load_dashboard (counts, partners, overdue list): median {median:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("documents", type=int, nargs="?", default=100_000, help="documents (default 100000)")
    add_db_option(parser)
    args = parser.parse_args()
    asyncio.run(run(args.db, args.documents))


if __name__ == "__main__":
    main()
