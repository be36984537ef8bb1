"""What the parts of scripts/bench/scale share: a fresh database and server, a province's offices and
couriers (signed in with device tokens), records of the shape real ones have, and the server's figures read
from /proc.

The province is `OFFICES` offices in one records database, as issue 15 describes (about 30 offices). Users
and tokens are written straight into the identity database in one `_bulk_docs` (the same documents
`IdentityStore.create_user` and `issue_token` write, one request each), so a thousand couriers cost seconds.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import resource
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.bench.chosen_database import describe_database, start_database
from devtools.bench.sync import make_settings, start_server
from records.types import JSONDict
from server.databases import SEGEL_DATABASES
from server.identity.store import TOKEN_ID_LENGTH, IdentityStore, iso, sha256_hex
from server.settings import Settings
from store.bootstrap import bootstrap
from store.couch import CouchClient
from tests.support.databases import DatabaseServer
from tests.support.pouch_client import document_record, handoff_record, seal_record
from tests.support.servers import ServerProcess

#: The province's offices: Kalimantan Timur's codes are 64xx; thirty of them.
OFFICES = tuple(f"64{number:02d}" for number in range(1, 31))


def raise_open_files_limit() -> str:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit (children, the server among them, inherit
    it): a thousand phones are a thousand sockets in the server and in the bench. Says what it did."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft >= hard:
        return f"open files limit {soft} (already the hard limit)"
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return f"open files limit raised from {soft} to {target} (the hard limit)"


@dataclass
class Bench:
    """A fresh bootstrapped database of the chosen kind and the settings of one server over it."""

    database: DatabaseServer
    settings: Settings
    couch: CouchClient
    workdir: Path

    def start_server(self, couchdb_port: int | None = None) -> ServerProcess:
        """The server (no office worker), reaching the database directly or through `couchdb_port` (a
        recording proxy)."""
        settings = self.settings
        if couchdb_port is not None:
            settings = dataclasses.replace(settings, couchdb_url=f"http://127.0.0.1:{couchdb_port}")
        return start_server(settings, self.workdir)


@asynccontextmanager
async def bench_database(args: argparse.Namespace, workdir: Path, prefix: str) -> AsyncIterator[Bench]:
    kind, database = start_database(args.db, workdir / "couch", "admin", secrets.token_urlsafe(16))
    try:
        print(describe_database(kind, database))
        settings = make_settings(database, prefix, workdir)
        couch = CouchClient(
            settings.couchdb_url, settings.couchdb_user, settings.couchdb_password, timeout=3600
        )
        try:
            await bootstrap(couch, settings.db_prefix, SEGEL_DATABASES)
            await make_offices(couch, settings)
            yield Bench(database, settings, couch, workdir)
        finally:
            await couch.aclose()
    finally:
        database.stop()


async def make_offices(couch: CouchClient, settings: Settings) -> None:
    store = IdentityStore(couch, settings)
    for code in OFFICES:
        await store.create_office(code, f"Disdukcapil {code}")


async def make_couriers(couch: CouchClient, settings: Settings, offices: dict[str, str]) -> dict[str, str]:
    """Active gojek couriers (user id -> office) with one device token each; returns user id -> token."""
    moment = iso(time.time())
    docs: list[JSONDict] = []
    tokens: dict[str, str] = {}
    for user_id, office in offices.items():
        docs.append(
            {
                "_id": f"user:{user_id}",
                "type": "user",
                "user_id": user_id,
                "name": user_id,
                "role": "courier",
                "office": office,
                "partner": "gojek",
                "van": None,
                "user_handle": secrets.token_urlsafe(32),
                "revoked": False,
                "created_at": moment,
            }
        )
        token = tokens[user_id] = "sgl_" + secrets.token_urlsafe(32)
        digest = sha256_hex(token)
        docs.append(
            {
                "_id": f"token:{digest}",
                "type": "token",
                "token_id": digest[:TOKEN_ID_LENGTH],
                "user_id": user_id,
                "label": "bench",
                "revoked": False,
                "created_at": moment,
                "last_used_at": None,
            }
        )
    db = couch.db(settings.identity_db)
    for start in range(0, len(docs), 1000):
        answers = await db.bulk_docs(docs[start : start + 1000])
        failed = [answer for answer in answers if "error" in answer]
        if failed:
            raise SystemExit(f"could not write the couriers: {failed[:3]}")
    return tokens


async def write_records(couch: CouchClient, settings: Settings, records: Iterator[JSONDict]) -> int:
    """Write records straight into the records database in `_bulk_docs` of 1,000; how many."""
    db = couch.db(settings.records_db)
    written = 0
    batch: list[JSONDict] = []
    for record in records:
        batch.append(record)
        if len(batch) == 1000:
            written += await _bulk(db, batch)
            batch = []
    if batch:
        written += await _bulk(db, batch)
    return written


async def _bulk(db: Any, batch: list[JSONDict]) -> int:
    answers = await db.bulk_docs(batch)
    failed = [answer for answer in answers if "error" in answer]
    if failed:
        raise SystemExit(f"could not write records: {failed[:3]}")
    return len(batch)


async def build_views(couch: CouchClient, settings: Settings) -> float:
    """Bring the gateway's views up to date (seconds it took): CouchDB builds a view when it is read, so
    without this the first pull after many writes would pay for indexing them all, which a running
    deployment does as the records arrive (Apache CouchDB's background indexer; any pull or office page)."""
    db = couch.db(settings.records_db)
    started = time.perf_counter()
    await db.view("gateway", "by_scope", limit=1)
    await db.view("gateway", "by_link", limit=1)
    return time.perf_counter() - started


class Province:
    """Records of the shape real ones have, for `couriers` (user id -> office) and other, unknown couriers
    (kurir.lain####) of every office: new documents, seals staff bind to them, handoffs of their couriers."""

    def __init__(self, seed: int = 15) -> None:
        self.random = random.Random(seed)
        self._seal = 0
        self._handoff_seq: dict[str, int] = {}

    def seal_number(self) -> str:
        self._seal += 1
        return f"BP{self._seal:08d}"

    def document(self, courier: str | None, office: str) -> JSONDict:
        return document_record(courier, office=office, author=f"staff.{office}")

    def seal(self, document: JSONDict) -> JSONDict:
        office = str(document["office"])
        return seal_record(str(document["_id"]), self.seal_number(), office=office, author=f"staff.{office}")

    def handoff(self, document: JSONDict) -> JSONDict:
        courier = str(document["assignment"]["courier"])
        seq = self._handoff_seq[courier] = self._handoff_seq.get(courier, 0) + 1
        return handoff_record(str(document["_id"]), courier, seq=seq, office=str(document["office"]))

    def foreign(self, count: int) -> Iterator[JSONDict]:
        """`count` changes of other couriers of every office: a new document, its seal, a handoff, in turn."""
        recent: list[JSONDict] = []
        for number in range(count):
            step = number % 4
            if step in (0, 1) or not recent:
                office = self.random.choice(OFFICES)
                courier = f"kurir.lain{self.random.randrange(1500):04d}"
                document = self.document(courier, office)
                recent = [*recent[-50:], document]
                yield document
            elif step == 2:
                yield self.seal(self.random.choice(recent))
            else:
                yield self.handoff(self.random.choice(recent))
