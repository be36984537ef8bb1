"""Day rollups: the dashboard's counts kept as a handful of documents, updated from the changes feed.

CouchDB answers a grouped `_count` from reductions stored in its B-tree, but PouchDB Server (the embedded
backend) recomputes a reduce over every row of the range on each query, which over 100,000 documents takes
seconds. So the counts the reduce views define (`reports/daily`, `reports/by_courier`) are also kept in
`rollup:<office>:<day>` documents in the office ledger, updated incrementally from the records' `_changes`
feed: the dashboard then reads 14 small documents, whatever the volume. Open deliveries (picked up, not yet
delivered, returned, lost or reprinted) are kept as `open_delivery:<document>` documents, so "overdue" is a
range over the few envelopes on the road.

Exactness: documents are counted once (a `counted:<id>` marker is created with them; a conflict means it was
counted before); handoffs and complaints are append-only and appear once in the feed. Each page of changes
is claimed by moving the checkpoint before it is counted, so concurrent requests never count a page twice; a
crash between the claim and the counters leaves that page uncounted, and `dashboard.counts_from_views` gives
the exact figures from the reduce views to compare with.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from server.office.ledger import Ledger, docs_by_ids, key, now_iso
from sync.couch import CouchConflict, CouchError
from sync.types import JSONDict

logger = logging.getLogger(__name__)

CHECKPOINT_ID = "checkpoint:rollups"
CLOSING_KINDS = frozenset({"delivered", "returned", "lost", "reprinted"})


def _day(value: object) -> str | None:
    return value[:10] if isinstance(value, str) else None


def _courier_of(doc: JSONDict) -> str:
    side = doc.get("to") if doc.get("kind") == "picked_up" else doc.get("from")
    if isinstance(side, dict) and side.get("party") == "courier" and side.get("id"):
        return str(side["id"])
    return str(doc.get("author"))


class _Batch:
    """Increments gathered from one page of changes, applied per rollup document."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.couriers: dict[str, dict[str, dict[str, int]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(int))
        )
        self.partners: dict[str, dict[str, str]] = defaultdict(dict)
        self.opened: dict[str, JSONDict] = {}
        self.closed: dict[str, tuple[str, str]] = {}
        self.documents: list[JSONDict] = []

    def add(self, doc: JSONDict) -> None:
        office, kind = doc.get("office"), doc.get("type")
        if not isinstance(office, str):
            return
        if kind == "document":
            self.documents.append(doc)
            assignment = doc.get("assignment")
            if isinstance(assignment, dict) and assignment.get("courier"):
                self.partners[office][str(assignment["courier"])] = str(assignment.get("partner"))
        elif kind == "handoff":
            day, what = _day(doc.get("device_time")), str(doc.get("kind"))
            if day is None:
                return
            self.counts[f"{office}:{day}"][what] += 1
            if what != "sealed":
                self.couriers[f"{office}:{day}"][_courier_of(doc)][what] += 1
            document_id = str(doc.get("document_id"))
            if what == "picked_up":
                self.opened[document_id] = {"office": office, "picked_up_at": doc.get("device_time")}
            elif what in CLOSING_KINDS:
                at = str(doc.get("device_time"))
                if at > self.closed.get(document_id, ("", ""))[1]:
                    self.closed[document_id] = (office, at)
        elif kind == "complaint" and (day := _day(doc.get("created_at"))):
            self.counts[f"{office}:{day}"]["complaint"] += 1


async def update_rollups(ledger: Ledger, *, limit: int = 5000, max_batches: int = 1) -> int:
    """Fold up to `max_batches` pages of changes into the rollups; returns how many changes were read."""
    read = 0
    for _ in range(max_batches):
        checkpoint = await ledger.office.get_or_none(CHECKPOINT_ID) or {
            "_id": CHECKPOINT_ID,
            "type": "checkpoint",
        }
        since = checkpoint.get("since", "0")
        changes = await ledger.records.changes(since=since, include_docs=True, limit=limit)
        results = changes.get("results", [])
        if not results:
            break
        # Claim the page first: a second request or worker reading the same page gets a conflict and leaves
        # it alone, so no page is counted twice by two processes.
        checkpoint["since"] = changes.get("last_seq", since)
        try:
            await ledger.office.put(checkpoint)
        except CouchConflict:
            logger.info("rollup page claimed by another worker")
            return read
        batch = _Batch()
        for change in results:
            doc = change.get("doc") or {}
            if not doc.get("_deleted") and not str(doc.get("_id", "")).startswith("_"):
                batch.add(doc)
        await _apply(ledger, batch)
        read += len(results)
        if len(results) < limit:
            break
    return read


async def _apply(ledger: Ledger, batch: _Batch) -> None:
    if batch.documents:  # count each document once, however often it is edited
        markers = [{"_id": f"counted:{d['_id']}", "type": "counted"} for d in batch.documents]
        result = await ledger.office.bulk_docs(markers)
        fresh = {str(r["id"]).removeprefix("counted:") for r in result if r.get("ok")}
        for doc in batch.documents:
            day = _day(doc.get("created_at"))
            if doc["_id"] in fresh and day:
                batch.counts[f"{doc['office']}:{day}"]["ready"] += 1
    await asyncio.gather(
        *(_bump(ledger, name, batch) for name in set(batch.counts) | set(batch.couriers)),
        *(_partners(ledger, office, mapping) for office, mapping in batch.partners.items()),
    )
    await _deliveries(ledger, batch)


async def _bump(ledger: Ledger, name: str, batch: _Batch) -> None:
    doc_id = f"rollup:{name}"
    for _ in range(20):
        doc = await ledger.office.get_or_none(doc_id) or {
            "_id": doc_id,
            "type": "rollup",
            "office": name.split(":")[0],
            "day": name.split(":")[1],
            "counts": {},
            "couriers": {},
        }
        for kind, n in batch.counts.get(name, {}).items():
            doc["counts"][kind] = doc["counts"].get(kind, 0) + n
        for courier, kinds in batch.couriers.get(name, {}).items():
            entry = doc["couriers"].setdefault(courier, {})
            for kind, n in kinds.items():
                entry[kind] = entry.get(kind, 0) + n
        try:
            await ledger.office.put(doc)
            return
        except CouchConflict:
            continue
    raise CouchError(409, "conflict", f"rollup {doc_id} kept changing; run the dashboard again")


async def _partners(ledger: Ledger, office: str, mapping: dict[str, str]) -> None:
    doc_id = f"rollup_partners:{office}"
    for _ in range(20):
        doc = await ledger.office.get_or_none(doc_id) or {
            "_id": doc_id,
            "type": "rollup_partners",
            "partners": {},
        }
        doc["partners"].update(mapping)
        try:
            await ledger.office.put(doc)
            return
        except CouchConflict:
            continue


async def _deliveries(ledger: Ledger, batch: _Batch) -> None:
    ids = [f"open_delivery:{d}" for d in {*batch.opened, *batch.closed}]
    if not ids:
        return
    current = await docs_by_ids(ledger.office, ids)
    writes: list[JSONDict] = []
    for document_id in {*batch.opened, *batch.closed}:
        doc_id = f"open_delivery:{document_id}"
        doc = current.get(doc_id) or {"_id": doc_id, "type": "open_delivery", "document_id": document_id}
        if document_id in batch.opened:
            opened = batch.opened[document_id]
            doc.update(office=opened["office"], picked_up_at=opened["picked_up_at"])
        if document_id in batch.closed:
            office, at = batch.closed[document_id]
            doc["office"] = office
            doc["closed_at"] = max(str(doc.get("closed_at", "")), at)
        doc["updated_at"] = now_iso()
        writes.append(doc)
    await ledger.office.bulk_docs(writes)


async def read_days(ledger: Ledger, office: str, days: list[str]) -> dict[str, JSONDict]:
    found = await docs_by_ids(ledger.office, [f"rollup:{office}:{day}" for day in days])
    return {str(doc["day"]): doc for doc in found.values()}


async def partners_of(ledger: Ledger, office: str) -> dict[str, str]:
    doc = await ledger.office.get_or_none(f"rollup_partners:{office}")
    return dict(doc["partners"]) if doc else {}


async def open_before(
    ledger: Ledger, office: str, since: str, cutoff: str, *, limit: int = 200
) -> list[tuple[str, str]]:
    """The oldest open deliveries picked up between `since` and `cutoff` (at most `limit`)."""
    rows = await ledger.office.view(
        "office", "open_deliveries", startkey=key([office, since]), endkey=key([office, cutoff]), limit=limit
    )
    return [(str(row["value"]), str(row["key"][1])) for row in rows["rows"]]
