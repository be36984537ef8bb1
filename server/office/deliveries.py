"""Open deliveries: envelopes picked up and not yet delivered, returned, lost or reprinted, kept as
`open_delivery:<document>` documents in the office ledger, so "overdue" is a range over the few envelopes on
the road rather than a join of every pickup with every closing handoff.

They are folded in from the records' `_changes` feed. On a CouchDB cluster that feed is not totally ordered,
may repeat rows, and may start again from an earlier point after a node fails, so every update here is
idempotent and order-free: a pickup time and a closing time are each kept as the latest seen, and an
envelope is open while its latest pickup is later than its latest closing. A page of changes is applied
first and the checkpoint moved after it: a crash in between repeats the page, which changes nothing.

(Counts for the dashboard are not kept here: CouchDB answers the `reports` reduce views from its B-tree,
exactly, in a few milliseconds; see dashboard.py and docs/performance.md.)
"""

from __future__ import annotations

import logging

from records.types import JSONDict
from server.office.ledger import Ledger, docs_by_ids, key, now_iso
from store.couch import CouchConflict

logger = logging.getLogger(__name__)

CHECKPOINT_ID = "checkpoint:open_deliveries"
CLOSING_KINDS = frozenset({"delivered", "returned", "lost", "reprinted"})


def _later(a: object, b: object) -> str:
    return max(str(a or ""), str(b or ""))


class _Page:
    """The pickups and closings of one page of changes, by document (latest time of each)."""

    def __init__(self) -> None:
        self.opened: dict[str, tuple[str, str]] = {}
        self.closed: dict[str, tuple[str, str]] = {}

    def add(self, doc: JSONDict) -> None:
        office, kind, at = doc.get("office"), doc.get("kind"), doc.get("device_time")
        if doc.get("type") != "handoff" or not isinstance(office, str) or not isinstance(at, str):
            return
        document_id = str(doc.get("document_id"))
        target = self.opened if kind == "picked_up" else self.closed if kind in CLOSING_KINDS else None
        if target is not None and at > target.get(document_id, ("", ""))[1]:
            target[document_id] = (office, at)

    def merge_into(self, document_id: str, doc: JSONDict) -> JSONDict:
        merged = dict(doc)
        for field_name, source in (("picked_up_at", self.opened), ("closed_at", self.closed)):
            if document_id in source:
                office, at = source[document_id]
                merged["office"] = office
                merged[field_name] = _later(merged.get(field_name), at)
        merged["updated_at"] = now_iso()
        return merged

    @property
    def document_ids(self) -> set[str]:
        return {*self.opened, *self.closed}


async def update_open_deliveries(ledger: Ledger, *, limit: int = 5000, max_batches: int = 1) -> int:
    """Fold up to `max_batches` pages of changes into the open deliveries; returns how many were read."""
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
        page = _Page()
        for change in results:
            doc = change.get("doc") or {}
            if not doc.get("_deleted"):
                page.add(doc)
        await _apply(ledger, page)
        checkpoint["since"] = changes.get("last_seq", since)  # opaque: stored and sent back, never compared
        try:
            await ledger.office.put(checkpoint)
        except CouchConflict:
            logger.info("open deliveries: another worker moved the checkpoint; it goes on from there")
            return read + len(results)
        read += len(results)
        if len(results) < limit:
            break
    return read


async def _apply(ledger: Ledger, page: _Page) -> None:
    """Write the page's updates, merging again where another worker wrote the same envelope meanwhile."""
    pending = sorted(page.document_ids)
    for _ in range(10):
        if not pending:
            return
        current = await docs_by_ids(ledger.office, [f"open_delivery:{d}" for d in pending])
        writes = [
            page.merge_into(
                document_id,
                current.get(f"open_delivery:{document_id}")
                or {
                    "_id": f"open_delivery:{document_id}",
                    "type": "open_delivery",
                    "document_id": document_id,
                },
            )
            for document_id in pending
        ]
        result = await ledger.office.bulk_docs(writes)
        pending = [str(row["id"]).removeprefix("open_delivery:") for row in result if row.get("error")]
    raise CouchConflict(409, "conflict", "open deliveries kept changing; the next round folds them again")


async def open_before(
    ledger: Ledger, office: str, since: str, cutoff: str, *, limit: int = 200
) -> list[tuple[str, str]]:
    """The oldest open deliveries picked up between `since` and `cutoff` (at most `limit`)."""
    rows = await ledger.office.view(
        "office", "open_deliveries", startkey=key([office, since]), endkey=key([office, cutoff]), limit=limit
    )
    return [(str(row["value"]), str(row["key"][1])) for row in rows["rows"]]
