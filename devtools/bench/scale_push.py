"""Province-scale push figures (issue 15): what a push through the gateway asks of the database, and a
crowd of phones pushing at once. Prints figures, asserts nothing. Called by `scripts/bench/scale`
(`--only push,load`); `python -m devtools.bench.scale_push [--db apache] [--only push|load]` runs it alone.

* `push_work`: the same records (5,000 with 500 photos of 150 KB by default, as `scripts/bench/sync
  --push-only`) pushed by a stock PouchDB client through the gateway as a courier and straight into the
  database as its admin, in one run. Prints the database's CPU seconds for each (every node of a cluster)
  and their ratio (`database work gateway/direct`), the gateway process's own CPU seconds per 1,000 records,
  the throughput ratio (`--rounds N`: N such pairs, each into new databases, then the medians: the direct
  push's database CPU alone varies by a fifth from run to run), then a smaller traced run (a recording
  proxy in front of the database) for the database requests per batch of 25 by kind.
* `push_load`: 200 phones, each a courier of its own with a PouchDB database of 50 records (5 of them
  photos), push at once (a few node processes, `devtools/bench/push_load.mjs`). Then every record is read
  back: present once, without a conflicting branch, every photo's bytes with the digest its record names,
  every receipt and seq claim; and the time of each `_bulk_docs` batch (p50, p95) as the phones saw it.

Sizes come from the options of `add_arguments`, which `scripts/bench/scale` adds to its own parser (the
load's phones are `--load-phones`: `--phones` is the live part's thousand).
Each part starts its own database of the chosen kind (`--db`, see `devtools.bench.chosen_database`) in a
temporary folder, and its own server without the office worker (see `devtools.bench.sync.start_server`).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import json
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from devtools.bench.chosen_database import add_db_option, describe_database, start_database
from devtools.bench.sync import (
    PUSH_BATCH,
    bench_push,
    make_settings,
    push_records,
    start_server,
)
from server.databases import SEGEL_DATABASES
from store.bootstrap import bootstrap
from store.couch import CouchClient, Database
from tests.support.databases import DatabaseServer
from tests.support.identity import issue_device_token, make_user
from tests.support.pouch_client import REPO_ROOT, document_record

LOAD_CLIENT = REPO_ROOT / "devtools" / "bench" / "push_load.mjs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    push = parser.add_argument_group("database work per pushed record")
    push.add_argument("--records", type=int, default=5000, help="push: records each way, photos included")
    push.add_argument("--photos", type=int, default=500, help="push: of them, photos")
    push.add_argument("--photo-kb", type=int, default=150, help="push and load: size of a photo")
    push.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="push: pairs of pushes (direct then gateway, new databases each); prints each and the median",
    )
    push.add_argument(
        "--trace-records", type=int, default=1000, help="push: records of the traced run (0: none)"
    )
    load = parser.add_argument_group("push under load")
    load.add_argument("--load-phones", type=int, default=200, help="load: phones pushing at once")
    load.add_argument(
        "--phone-records", type=int, default=50, help="load: records per phone, photos included"
    )
    load.add_argument("--phone-photos", type=int, default=5, help="load: of them, photos")
    load.add_argument("--load-clients", type=int, default=4, help="load: node processes holding the phones")


QUICK = {"records": 1000, "photos": 100, "trace_records": 200, "load_phones": 20, "phone_records": 10}


@asynccontextmanager
async def _database(args: argparse.Namespace, label: str) -> AsyncIterator[tuple[DatabaseServer, Path]]:
    """A fresh database of the chosen kind in a temporary folder, removed afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix=f"segel-bench-{label}-"))
    kind, couch = start_database(args.db, workdir / "couch", "admin", secrets.token_urlsafe(16))
    try:
        print(describe_database(kind, couch))
        yield couch, workdir
    finally:
        couch.stop()
        shutil.rmtree(workdir, ignore_errors=True)


async def push_work(args: argparse.Namespace) -> None:
    """Database work of a push through the gateway against the same push made directly (see the module)."""
    records, photos, photo_kb, trace_records = args.records, args.photos, args.photo_kb, args.trace_records
    plain = argparse.Namespace(
        records=records, photos=photos, photo_kb=photo_kb, trace=False, office_worker=False
    )
    async with _database(args, "scale-push") as (couch, workdir):
        print(
            f"Database work per pushed record: {records} records incl. {photos} photos of {photo_kb} KB, "
            "each way"
        )
        ratios, shares, cpus = [], [], []
        for round_number in range(1, args.rounds + 1):
            prefix = "scalepush" if args.rounds == 1 else f"scalepush{round_number}"
            if args.rounds > 1:
                print(f"  round {round_number} of {args.rounds}:")
            gateway, direct = await bench_push(couch, workdir, plain, prefix=prefix)
            for label, push in (("direct:         ", direct), ("through gateway:", gateway)):
                print(
                    f"  {label} {push.seconds:.1f} s ({records / push.seconds:.0f} records/s), "
                    f"database CPU {push.database_cpu:.1f} s ({push.database_tail:.1f} s of it after the "
                    "push, until the database was idle)"
                )
            ratios.append(gateway.database_cpu / direct.database_cpu)
            cpus.append(gateway.server_cpu / records * 1000)
            shares.append(direct.seconds / gateway.seconds)
            print(f"  database work gateway/direct: {ratios[-1]:.2f} (target <= 1.6, goal 1.3)")
            print(f"  gateway process CPU per 1,000 records: {cpus[-1]:.2f} s")
            print(f"  push ratio (throughput gateway/direct): {shares[-1]:.2f}")
        if args.rounds > 1:
            print(
                f"  median of {args.rounds} rounds: database work gateway/direct: "
                f"{statistics.median(ratios):.2f} (each: {', '.join(f'{r:.2f}' for r in ratios)}); "
                f"gateway process CPU per 1,000 records: {statistics.median(cpus):.2f} s; "
                f"push ratio: {statistics.median(shares):.2f}"
            )
        if trace_records:
            traced_photos = max(1, photos * trace_records // max(records, 1))
            print(
                f"  traced run ({trace_records} records incl. {traced_photos} photos, "
                "through a recording proxy):"
            )
            traced = argparse.Namespace(
                records=trace_records,
                photos=traced_photos,
                photo_kb=photo_kb,
                trace=True,
                office_worker=False,
            )
            await bench_push(couch, workdir, traced, prefix="scaletrace")


@dataclasses.dataclass
class _Phone:
    courier: str
    token: str
    docs: list[dict[str, Any]]


async def push_load(args: argparse.Namespace) -> None:
    """200 phones pushing 50 records with 5 photos each at once: nothing lost, nothing twice, batch times."""
    phones_n, per_phone, photos_n = args.load_phones, args.phone_records, args.phone_photos
    photo_kb = args.photo_kb
    processes = max(1, min(args.load_clients, phones_n))
    async with _database(args, "scale-load") as (couch, workdir):
        print(
            f"Push under load: {phones_n} phones (distinct couriers) each pushing {per_phone} records "
            f"incl. {photos_n} photos of {photo_kb} KB at once, batches of {PUSH_BATCH}, "
            f"{processes} client processes"
        )
        settings = make_settings(couch, "scaleload", workdir)
        client = CouchClient(
            settings.couchdb_url, settings.couchdb_user, settings.couchdb_password, timeout=600
        )
        try:
            await bootstrap(client, settings.db_prefix, SEGEL_DATABASES)
            phones = await _make_phones(client, settings, phones_n, per_phone, photos_n, photo_kb)
            server = start_server(settings, workdir)
            try:
                outcome = _run_phones(f"{server.url}/sync/records", phones, workdir, processes)
            finally:
                server.stop()
            _print_load(outcome, phones)
            await _check_stored(client.db(settings.records_db), client.db(settings.receipts_db), phones)
        finally:
            await client.aclose()


async def _make_phones(
    client: CouchClient, settings: Any, count: int, records: int, photos: int, photo_kb: int
) -> list[_Phone]:
    """`count` couriers, each with a device token, 10 documents assigned and `records` records to push."""
    db = client.db(settings.records_db)
    phones: list[_Phone] = []
    for number in range(count):
        courier = f"kurir.load{number:04d}"
        await make_user(client, settings, courier, "courier")
        token = await issue_device_token(client, settings, courier)
        documents = [document_record(courier) for _ in range(10)]
        await db.bulk_docs(documents)
        docs = push_records([d["_id"] for d in documents], courier, records - photos, photos, photo_kb)
        phones.append(_Phone(courier, token, docs))
    return phones


def _run_phones(url: str, phones: list[_Phone], workdir: Path, processes: int) -> dict[str, Any]:
    """Start the node clients, let each fill its phones' databases, then start every push at once; the
    results, the `_bulk_docs` times, and the seconds from the start until the last phone finished."""
    running = []
    (workdir / "phones").mkdir(parents=True, exist_ok=True)
    for part in range(processes):
        command = {
            "url": url,
            "batch_size": PUSH_BATCH,
            "seconds": 1800,
            "phones": [
                {"token": phone.token, "dir": str(workdir / "phones" / phone.courier), "docs": phone.docs}
                for phone in phones[part::processes]
            ],
        }
        process = subprocess.Popen(
            ["node", str(LOAD_CLIENT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=REPO_ROOT,
        )
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps(command).encode() + b"\n")
        process.stdin.flush()
        running.append(process)
    for process in running:
        assert process.stdout is not None
        if process.stdout.readline().strip() != b"ready":
            raise SystemExit("a load client did not get ready: see its output above")
    started = time.perf_counter()
    for process in running:
        assert process.stdin is not None
        process.stdin.write(b"go\n")
        process.stdin.flush()
    results: list[dict[str, Any]] = []
    batches: list[dict[str, Any]] = []
    for process in running:
        out, _ = process.communicate(timeout=3600)
        answer = json.loads(out)
        results.extend(answer["results"])
        batches.extend(answer["batches"])
    return {"results": results, "batches": batches, "seconds": time.perf_counter() - started}


def _print_load(outcome: dict[str, Any], phones: list[_Phone]) -> None:
    results, elapsed = outcome["results"], outcome["seconds"]
    done = sum(1 for result in results if result.get("ok"))
    denied = sum(len(result.get("denied", [])) for result in results)
    retried = sum(1 for result in results if result.get("attempts", 1) > 1)
    records = sum(len(phone.docs) for phone in phones)
    print(
        f"  {done}/{len(results)} phones finished in {elapsed:.1f} s ({records / elapsed:.0f} records/s); "
        f"{retried} needed more than one push; {denied} records refused"
    )
    times = sorted(batch["ms"] for batch in outcome["batches"] if batch["status"] < 400)
    failed = sum(1 for batch in outcome["batches"] if batch["status"] >= 400)
    if times:
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        print(
            f"  batch (_bulk_docs of {PUSH_BATCH}, as the phones saw it): "
            f"p50 {statistics.median(times) / 1000:.2f} s, "
            f"p95 {p95 / 1000:.2f} s, max {times[-1] / 1000:.2f} s over {len(times)} batches; {failed} failed"
        )


async def _check_stored(db: Database, receipts_db: Database, phones: list[_Phone]) -> None:
    """Read back every pushed record, its receipt and its seq claim (receipts database), its photo's bytes."""
    docs = {str(doc["_id"]): (phone, doc) for phone in phones for doc in phone.docs}
    ids = sorted(docs)
    rows: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        for row in await db.rows_for_keys(ids[start : start + 500], include_docs=True, conflicts=True):
            rows[str(row.get("key"))] = row
    missing = [doc_id for doc_id in ids if not isinstance(rows.get(doc_id, {}).get("doc"), dict)]
    branched = [doc_id for doc_id in ids if rows.get(doc_id, {}).get("doc", {}).get("_conflicts")]
    second_revs = [
        doc_id
        for doc_id in ids
        if not str(rows.get(doc_id, {}).get("value", {}).get("rev", "1-")).startswith("1-")
    ]
    receipt_ids = [f"receipt:{doc_id}" for doc_id in ids]
    receipts: dict[str, dict[str, Any]] = {}
    for start in range(0, len(receipt_ids), 500):
        for row in await receipts_db.rows_for_keys(receipt_ids[start : start + 500], include_docs=True):
            if isinstance(row.get("doc"), dict):
                receipts[str(row["key"])] = row["doc"]
    no_receipt = [doc_id for doc_id in ids if f"receipt:{doc_id}" not in receipts]
    wrong_receipt = [
        doc_id
        for doc_id in ids
        if f"receipt:{doc_id}" in receipts
        and receipts[f"receipt:{doc_id}"].get("received_from") != docs[doc_id][0].courier
    ]
    handoffs = [doc for _, doc in docs.values() if doc.get("type") == "handoff"]
    claim_ids = [f"seqclaim:{doc['author']}:{doc['seq']}" for doc in handoffs]
    claims: dict[str, dict[str, Any]] = {}
    for start in range(0, len(claim_ids), 500):
        for row in await receipts_db.rows_for_keys(claim_ids[start : start + 500], include_docs=True):
            if isinstance(row.get("doc"), dict):
                claims[str(row["key"])] = row["doc"]
    bad_claims = [
        doc["_id"]
        for doc in handoffs
        if claims.get(f"seqclaim:{doc['author']}:{doc['seq']}", {}).get("handoff_id") != doc["_id"]
    ]
    photos = [doc for _, doc in docs.values() if doc.get("type") == "photo"]
    wrong_photos = await _wrong_photos(db, photos)
    refusals = await db.all_docs(startkey='"refusal:"', endkey='"refusal:\ufff0"', limit=1000)
    print(
        f"  read back {len(ids)} records: {len(missing)} missing, {len(branched)} with a second branch, "
        f"{len(second_revs)} stored twice (a second revision); {len(wrong_photos)} of {len(photos)} "
        f"photos without their bytes or digest; {len(no_receipt)} without a receipt, {len(wrong_receipt)} "
        f"receipts naming another courier; {len(bad_claims)} of {len(handoffs)} handoffs without their "
        "seq claim; "
        f"{len(refusals.get('rows', []))} refusals recorded"
    )
    lost = missing or wrong_photos or no_receipt or bad_claims
    twice = branched or second_revs or wrong_receipt
    print(f"  nothing lost: {'yes' if not lost else 'NO'}; nothing twice: {'yes' if not twice else 'NO'}")


async def _wrong_photos(db: Database, photos: list[dict[str, Any]]) -> list[str]:
    """Photos whose stored image is missing or not the bytes their record names (SHA-256 and size)."""
    gate = asyncio.Semaphore(8)

    async def wrong(photo: dict[str, Any]) -> bool:
        async with gate:
            try:
                data = await db.attachment_bytes(str(photo["_id"]), str(photo["attachment"]))
            except Exception:  # a missing image is what is counted here
                return True
        return bool(hashlib.sha256(data).hexdigest() != photo["sha256"] or len(data) != photo["size"])

    found = await asyncio.gather(*(wrong(photo) for photo in photos))
    return [str(photo["_id"]) for photo, bad in zip(photos, found, strict=True) if bad]


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_db_option(parser)
    parser.add_argument("--only", default="push,load", help="which parts, of push,load (default both)")
    add_arguments(parser)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    parts = set(args.only.split(","))
    if "push" in parts:
        await push_work(args)
    if "load" in parts:
        await push_load(args)


if __name__ == "__main__":
    asyncio.run(main())
