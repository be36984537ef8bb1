"""Benchmark of the exceptions queue over a long history (run by scripts/bench/exceptions).

Writes N exceptions an office raised over a year — seal mismatches, damaged seals, unsigned handoffs and
complaints in the records, GPS findings in the office ledger, each about its own document assigned to one
of 40 couriers of 4 partners — and resolutions for all but `--open` of them, into a fresh database of the
kind `--db` chooses (as the tests do: SEGEL_TEST_COUCHDB, else PouchDB Server). Builds the views once
(timed separately: in production each row is indexed once, as it arrives), then signs a staff member in
and times, through the whole app, the queue as staff open it: unfiltered, by courier (which reads the
documents of complaints and findings), by kind, by partner and age, and a later page. Prints figures;
asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from datetime import datetime, timedelta

import httpx

from devtools.bench.chosen_database import add_db_option
from devtools.bench.office_bench import bench_database, office_client, staff_cookie
from records.types import JSONDict
from server.identity.store import IdentityStore
from server.office.ledger import OFFICE_TZ, Ledger
from server.office.open_items import open_rows
from server.settings import Settings
from store.couch import CouchClient

OFFICE = "6471"
PARTNERS = ("gojek", "grab", "pos_indonesia", "maxim")
BATCH = 5000
KINDS = ("seal_mismatch", "seal_damaged", "unsigned", "complaint", "gps_far")


def _courier(index: int) -> tuple[str, str]:
    partner = PARTNERS[index % 4]
    return f"{partner}.kurir{index % 40:02d}", partner


def _age_days(index: int, count: int) -> float:
    """How many days ago exception `index` of `count` was raised: spread evenly over a year, newest last."""
    return 365 * (count - 1 - index) / max(count, 1)


def _exception(
    index: int, count: int, rng: random.Random, now: datetime
) -> tuple[list[JSONDict], JSONDict, str]:
    """The records of one exception (its document, and the handoff or complaint that raises it, or the
    finding in the office ledger), and its kind."""
    at = (now - timedelta(days=_age_days(index, count), minutes=rng.uniform(0, 600))).isoformat(
        timespec="seconds"
    )
    courier, partner = _courier(index)
    doc_id = f"document:Q{index:012d}"
    document: JSONDict = {
        "_id": doc_id,
        "type": "document",
        "office": OFFICE,
        "doc_kind": "ektp",
        "created_at": at,
        "resident": {"name": f"Penduduk {index}", "nik": f"6471{index:012d}"},
        "assignment": {"courier": courier, "partner": partner, "assigned_at": at},
    }
    kind = KINDS[index % len(KINDS)]
    if kind == "complaint":
        subject: JSONDict = {
            "_id": f"complaint:Q{index:012d}",
            "type": "complaint",
            "office": OFFICE,
            "document_id": doc_id,
            "created_at": at,
            "kind": "not_received",
            "description": "Belum sampai",
        }
        return [document, subject], {}, kind
    handoff: JSONDict = {
        "_id": f"handoff:Q{index:012d}",
        "type": "handoff",
        "office": OFFICE,
        "document_id": doc_id,
        "kind": "picked_up",
        "device_time": at,
        "seal_number_expected": f"BP{index:08d}",
        "seal_number_scanned": f"BP{index:08d}",
        "seal_match": kind != "seal_mismatch",
        "seal_condition": "damaged" if kind == "seal_damaged" else "intact",
        "photos": ["photo:x"],
        "from": {"party": "office", "id": OFFICE},
        "to": {"party": "courier", "id": courier, "name": f"Kurir {index % 40}"},
        "author": courier,
    }
    if kind == "unsigned":
        handoff["unsigned_reason"] = "ponsel tanpa passkey"
    finding: JSONDict = {}
    if kind == "gps_far":
        finding = {
            "_id": f"finding:gps_far:{handoff['_id']}",
            "type": "finding",
            "kind": "gps_far",
            "subject": handoff["_id"],
            "office": OFFICE,
            "document_id": doc_id,
            "detail": "Diserahkan 2.3 km dari alamat.",
            "created_at": at,
        }
    return [document, handoff], finding, kind


async def _load(couch: CouchClient, settings: Settings, exceptions: int, open_items: int) -> float:
    rng = random.Random(6471)
    now = datetime.now(OFFICE_TZ)
    records, office = couch.db(settings.records_db), couch.db(settings.office_db)
    started = time.perf_counter()
    # Open items are mostly of the last week, with a tenth of stragglers from any time of the year.
    recent = [i for i in range(exceptions) if _age_days(i, exceptions) < 7]
    stragglers = open_items // 10
    left_open = set(rng.sample(recent, min(open_items - stragglers, len(recent))))
    left_open |= set(rng.sample(range(exceptions), stragglers))
    batch: list[JSONDict] = []
    ledger: list[JSONDict] = []
    for index in range(exceptions):
        docs, finding, kind = _exception(index, exceptions, rng, now)
        batch.extend(docs)
        if finding:
            ledger.append(finding)
        if index not in left_open:
            subject = docs[-1]["_id"]
            raised = docs[-1].get("device_time") or docs[-1]["created_at"]
            ledger.append(
                {
                    "_id": f"resolution:{kind}:{subject}",
                    "type": "resolution",
                    "kind": kind,
                    "subject": subject,
                    "action": "checked_ok",
                    "note": "Sudah ditangani",
                    "office": OFFICE,
                    "author": "budi.santoso",
                    "created_at": now.isoformat(timespec="seconds"),
                    "raised_at": raised,  # as exceptions.resolve records it
                }
            )
        for db, pending in ((records, batch), (office, ledger)):
            if len(pending) >= BATCH or (index == exceptions - 1 and pending):
                refused = [a for a in await db.bulk_docs(pending) if "error" in a]
                if refused:
                    raise SystemExit(f"{len(refused)} records refused, the first: {refused[0]}")
                pending.clear()
    return time.perf_counter() - started


async def _session(couch: CouchClient, settings: Settings) -> str:
    cookie = await staff_cookie(couch, settings, OFFICE)
    store = IdentityStore(couch, settings)
    for index in range(40):
        courier, partner = _courier(index)
        await store.create_user(courier, "courier", office=OFFICE, name=f"Kurir {index}", partner=partner)
    return cookie


async def _time(client: httpx.AsyncClient, path: str, times: int = 7) -> tuple[float, float, int]:
    timings = []
    for _ in range(times):
        t0 = time.perf_counter()
        response = await client.get(path)
        timings.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(timings[1:]), max(timings[1:]), len(response.content)


async def run(choice: str | None, exceptions: int, open_items: int) -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    async with bench_database(choice) as (settings, couch):
        load_s = await _load(couch, settings, exceptions, open_items)
        print(f"{exceptions} exceptions raised over a year, {open_items} open, written in {load_s:.1f} s")
        ledger = Ledger.of(couch, settings)
        started = time.perf_counter()
        rows, _ = await open_rows(ledger, OFFICE)
        print(f"first read, building the views (one-time): {time.perf_counter() - started:.1f} s")
        print(f"open items found: {len(rows)}")
        cookie = await _session(couch, settings)
        async with office_client(settings, couch, cookie) as client:
            for label, path in (
                ("unfiltered", "/office/exceptions"),
                ("by courier", "/office/exceptions?courier=gojek.kurir00"),
                ("by kind", "/office/exceptions?kind=seal_mismatch"),
                ("by partner, > 7 days", "/office/exceptions?partner=grab&age=7"),
                ("page 4", "/office/exceptions?page=3"),
            ):
                median, worst, size = await _time(client, path)
                print(
                    f"GET {path} ({label}): median {median:.0f} ms, max {worst:.0f} ms "
                    f"(6 warm requests), {size / 1024:.0f} KiB"
                )
        parts = []
        for _ in range(5):
            t0 = time.perf_counter()
            await open_rows(ledger, OFFICE)
            parts.append((time.perf_counter() - t0) * 1000)
        median = statistics.median(parts)
        print(f"of which open_rows (counts per day, keys of the open days, resolutions): {median:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "exceptions", type=int, nargs="?", default=20_000, help="exceptions raised (default 20000)"
    )
    parser.add_argument("--open", type=int, default=300, help="how many are still open (default 300)")
    add_db_option(parser)
    args = parser.parse_args()
    asyncio.run(run(args.db, args.exceptions, args.open))


if __name__ == "__main__":
    main()
