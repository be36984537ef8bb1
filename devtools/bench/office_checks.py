"""Benchmark of the office checks on a long custody history (run by scripts/bench/office_checks).

For each N, on a fresh database of the kind `--db` chooses: one sealed document with N chained handoffs,
each with its own seal photo, written and checked once (the history); then 10 new handoffs with their
photos (the last one a delivery) are written and one round of checks is timed over those 20 records.
Database requests are counted at the HTTP client: what a record costs the database, whatever it answers.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from pathlib import Path

import httpx

from devtools.bench.chosen_database import add_db_option, describe_database, start_database
from records.types import JSONDict
from server.databases import SEGEL_DATABASES
from server.office import intake
from server.office.checks import run_checks
from server.office.config import OfficeConfig
from server.office.ledger import Ledger
from server.settings import Settings
from store.bootstrap import bootstrap
from store.couch import CouchClient
from tests.support.office import next_handoff, photo_for, put_document, seal_image, staff

NEW = 10
BATCH = 500


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts the requests that reach the database."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _chain(previous: JSONDict, count: int, seed: int, *, last: str | None = None) -> list[JSONDict]:
    """`count` handoffs after `previous` (pickups and failed attempts), each with its own seal photo."""
    records: list[JSONDict] = []
    for index in range(count):
        kind = last if last and index == count - 1 else ("picked_up", "failed_attempt")[index % 2]
        handoff = next_handoff(previous, kind)
        photo = photo_for(handoff, seal_image(seed + index))
        handoff["photos"] = [photo["_id"]]
        records += [handoff, photo]
        previous = handoff
    return records


async def _write(ledger: Ledger, records: list[JSONDict]) -> None:
    for start in range(0, len(records), BATCH):
        answers = await ledger.records.bulk_docs(records[start : start + BATCH])
        refused = [answer for answer in answers if "error" in answer]
        if refused:
            raise SystemExit(f"{len(refused)} records refused, the first: {refused[0]}")


async def _catch_up(ledger: Ledger, config: OfficeConfig) -> None:
    while (await run_checks(ledger, config, limit=2000)).checked:
        pass


async def measure(server_url: str, user: str, password: str, tmp: Path, history: int) -> None:
    settings = Settings(
        server_url, user, password, secrets.token_urlsafe(48), db_prefix=f"bench{history}", data_dir=tmp
    )
    transport = CountingTransport()
    couch = CouchClient(server_url, user, password, timeout=3600, transport=transport)
    try:
        await bootstrap(couch, settings.db_prefix, SEGEL_DATABASES)
        ledger = Ledger.of(couch, settings)
        config = OfficeConfig()
        document = await put_document(ledger)
        sealed = await intake.bind_seal(ledger, staff(), str(document["_id"]), f"BP{history:08d}")
        old = _chain(sealed, history, 0)
        await _write(ledger, old)
        started = time.perf_counter()
        await _catch_up(ledger, config)
        history_s = time.perf_counter() - started
        new = _chain(old[-2], NEW, history, last="delivered")
        await _write(ledger, new)
        before = transport.requests
        started = time.perf_counter()
        run = await run_checks(ledger, config, limit=2000)
        seconds = time.perf_counter() - started
        requests = transport.requests - before
        print(
            f"N={history:>5}: {run.checked} new records checked in {seconds * 1000:.0f} ms: "
            f"{requests / run.checked:.1f} requests and {seconds * 1000 / run.checked:.1f} ms per record "
            f"(checking the {2 * history} history records first: {history_s:.1f} s)"
        )
    finally:
        await couch.aclose()


async def run(choice: str | None, sizes: list[int]) -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    with tempfile.TemporaryDirectory() as tmp:
        kind, server = start_database(choice, Path(tmp) / "couch", "admin", secrets.token_urlsafe(16))
        try:
            print(describe_database(kind, server))
            for size in sizes:
                await measure(server.url, server.user, server.password, Path(tmp), size)
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sizes", type=int, nargs="*", default=[10, 100, 1000], help="handoffs of history")
    add_db_option(parser)
    args = parser.parse_args()
    asyncio.run(run(args.db, args.sizes))


if __name__ == "__main__":
    main()
