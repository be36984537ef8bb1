"""Idempotent set-up of Segel's databases: run it on every start, by every instance, on any backend.

A second run changes nothing: databases that exist are left alone, design documents are written only when
their content differs, and Mango indexes are created with CouchDB's own "exists" answer. Several instances
may run it at the same moment (two app instances starting together, a CLI command beside a running app):
every write tolerates losing the race to an identical write.

A design document that changes is not overwritten in place, because CouchDB would then answer every query
of it only after rebuilding its index, which on an office's database takes minutes. It is staged instead, as
cht-core does: written as `_design/:staged:<name>`, its index built by querying it while the old one keeps
serving, and only then copied over the live one. Identical view code has an identical index signature, so
the live design document takes over the built index at once.

What to install is an argument: the owners of the databases list their design documents
(`store.design_docs.DatabaseSpec`) and the application passes them in (`server/databases.py`), so this module
imports nothing from `server/` or `sync/`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from records.types import JSONDict
from store.couch import CouchClient, CouchError, CouchUnavailable, Database
from store.design_docs import DatabaseSpec, application_databases

logger = logging.getLogger(__name__)

#: Only server admins may read or write Segel's databases directly: phones go through the gateway.
ADMIN_ONLY_SECURITY: JSONDict = {
    "admins": {"names": [], "roles": []},
    "members": {"names": [], "roles": ["_admin"]},
}

STAGED_PREFIX = "_design/:staged:"

#: How long bootstrap waits for a staged index to build before giving up (the old index keeps serving and
#: the next start tries again). Long, because an office database with a year of records takes minutes.
STAGED_BUILD_TIMEOUT_S = 3600.0


@dataclass
class BootstrapReport:
    """What a bootstrap run changed; an empty report means the databases were already as wanted."""

    created_databases: list[str] = field(default_factory=list)
    written_design_docs: list[str] = field(default_factory=list)
    staged_design_docs: list[str] = field(default_factory=list)
    created_indexes: list[str] = field(default_factory=list)
    security_set: list[str] = field(default_factory=list)
    retired_design_docs: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.created_databases
            or self.written_design_docs
            or self.created_indexes
            or self.security_set
            or self.retired_design_docs
        )


def database_name(prefix: str, suffix: str) -> str:
    return f"{prefix}_{suffix}"


def staged_id(design_id: str) -> str:
    return STAGED_PREFIX + design_id.removeprefix("_design/")


def _content(doc: JSONDict) -> JSONDict:
    return {k: v for k, v in doc.items() if k not in ("_id", "_rev")}


async def bootstrap(
    client: CouchClient,
    prefix: str,
    specs: Sequence[DatabaseSpec] | None = None,
    *,
    build_timeout: float = STAGED_BUILD_TIMEOUT_S,
) -> BootstrapReport:
    """Create what is missing and update what differs; delete nothing but finished staging copies and the
    design documents a spec names as retired.

    `specs` is every database with its design documents and indexes (`server.databases.SEGEL_DATABASES`).
    Left out, it is the list the application registered (`store.design_docs.application_databases`), for
    the callers written before the list was an argument."""
    if specs is None:
        specs = application_databases()
    report = BootstrapReport()
    for spec in specs:
        name = database_name(prefix, spec.suffix)
        db = client.db(name)
        if not await db.exists() and await db.create():
            report.created_databases.append(name)
        if await _set_security(db):
            report.security_set.append(name)
        for wanted in spec.design_docs:
            await _install_design_doc(db, wanted, report, build_timeout)
        for index in spec.indexes:
            if await _create_index(db, index):
                report.created_indexes.append(f"{name}/{index['name']}")
        for design_id in spec.retired:
            if await _delete_if_there(db, design_id):
                report.retired_design_docs.append(f"{name}/{design_id}")
    if report.changed:
        logger.info("bootstrap changed: %s", report)
    return report


async def _set_security(db: Database) -> bool:
    """Make the database admin-only; True when this call changed it. PouchDB Server keeps `_security` as a
    document, so two instances setting it at once conflict: the loser reads it again."""
    for _ in range(5):
        if (await db.security()).get("members") == ADMIN_ONLY_SECURITY["members"]:
            return False
        try:
            await db.put_security(ADMIN_ONLY_SECURITY)
            return True
        except CouchError as exc:
            if exc.status != 409:
                raise
    raise CouchError(409, "conflict", f"the _security of {db.name} kept changing while bootstrap set it")


async def _install_design_doc(
    db: Database, wanted: JSONDict, report: BootstrapReport, timeout: float
) -> None:
    design_id = str(wanted["_id"])
    current = await db.get_or_none(design_id)
    if current is not None and _content(current) == _content(wanted):
        await _drop_staged(db, design_id)
        return
    label = f"{db.name}/{design_id}"
    if current is None:
        # Nothing serves under this name yet, so nothing waits on a rebuild: write it directly.
        await _put_tolerating_race(db, dict(wanted))
        report.written_design_docs.append(label)
        return
    staged = {**_content(wanted), "_id": staged_id(design_id)}
    await _put_content(db, staged)
    report.staged_design_docs.append(label)
    views = list(wanted.get("views", {}))
    await build_views(db, staged_id(design_id), views, timeout)
    await _put_content(db, dict(wanted))
    # Open the built index under the live name before the staging copy goes: deleting the last design
    # document of a signature lets CouchDB close its index, and a reopened one starts from its last header.
    await build_views(db, design_id, views, timeout)
    await _drop_staged(db, design_id)
    report.written_design_docs.append(label)


async def _put_content(db: Database, doc: JSONDict) -> None:
    """Make `doc` the content under its id, whatever revision is there now; a racing identical write wins."""
    for _ in range(5):
        current = await db.get_or_none(str(doc["_id"]))
        if current is not None and _content(current) == _content(doc):
            return
        attempt = dict(doc)
        if current is not None:
            attempt["_rev"] = current["_rev"]
        try:
            await db.put(attempt)
            return
        except CouchError as exc:
            if exc.status != 409:
                raise
    raise CouchError(409, "conflict", f"{doc['_id']} kept changing while bootstrap wrote it")


async def _put_tolerating_race(db: Database, doc: JSONDict) -> None:
    try:
        await db.put(doc)
    except CouchError as exc:
        if exc.status != 409:  # another instance created it at the same moment; the content is the same
            raise


async def _drop_staged(db: Database, design_id: str) -> None:
    await _delete_if_there(db, staged_id(design_id))


async def _delete_if_there(db: Database, doc_id: str) -> bool:
    """Delete the document if it exists; True when this call deleted it."""
    doc = await db.get_or_none(doc_id)
    if doc is None:
        return False
    try:
        await db.delete(doc["_id"], doc["_rev"])
    except CouchError as exc:
        if exc.status not in (404, 409):  # another instance deleted it first
            raise
        return False
    return True


async def build_views(db: Database, design_id: str, views: list[str], timeout: float) -> None:
    """Query the design document until its index is built. One view builds the whole design document's
    index; a query that times out leaves the build running in CouchDB, so it is simply asked again."""
    if not views:
        return
    deadline = time.monotonic() + timeout
    name = design_id.removeprefix("_design/")
    while True:
        try:
            await db.client.request(
                "GET", f"{db.path}/_design/{name}/_view/{views[0]}", params={"limit": 0}, timeout=120.0
            )
            break
        except CouchUnavailable:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1.0)
    await _wait_for_commit(db, name, deadline)


async def _wait_for_commit(db: Database, name: str, deadline: float) -> None:
    """Wait until every copy of the index is built and its header written to disk.

    A query builds one copy of each shard range; on a cluster CouchDB builds the other copies in the
    background, and `_info` sums what every copy still has to read (`updates_pending.total`). An index
    closed before its header is committed (`waiting_commit`), as when its design document is replaced,
    would be rebuilt from scratch.
    """
    while time.monotonic() < deadline:
        try:
            info = await db.client.json("GET", f"{db.path}/_design/{name}/_info")
        except CouchError:
            return  # PouchDB Server has no _info for design documents; it keeps its indexes as it goes
        index = info.get("view_index") if isinstance(info, dict) else None
        if not isinstance(index, dict):
            return
        pending = index.get("updates_pending")
        pending_total = pending.get("total", 0) if isinstance(pending, dict) else 0
        if not index.get("waiting_commit") and not pending_total:
            return
        await asyncio.sleep(0.2)


async def _create_index(db: Database, index: JSONDict) -> bool:
    """Create a Mango index; True when this call created it. CouchDB answers 500 `error_saving_ddoc` when two
    callers create the same index at once: the other one won, and asking again answers `exists`."""
    for attempt in range(5):
        try:
            result = await db.client.json("POST", f"{db.path}/_index", json=index)
        except CouchError as exc:
            if exc.error != "error_saving_ddoc" or attempt == 4:
                raise
            await asyncio.sleep(0.1 * (attempt + 1))
            continue
        return bool(result.get("result") == "created")
    return False
