"""Closing assignments whose custody ended, so a delivered document leaves the courier's phone.

A courier sees a document while its `assignment` names them (`sync/visibility.py`), and the PWA drops a
record only once the gateway says it left their scope. The gateway has no clock, so the office ends the
assignment: when a document's latest handoff is `delivered`, `returned` or `lost` and older than
`SEGEL_CLOSE_AFTER_HOURS`, a new revision of the document without `assignment` is written. The courier's
next pull no longer sees it, and the purge endpoint names it with its seals, handoffs and photos.

When custody ended: the gateway's receipt time (`receipt:<handoff id>`, `received_at`) for a handoff that
came through the gateway, else the handoff's device time (desk handoffs the office writes itself). A phone
that was offline for two days still leaves its courier the whole grace period after the delivery arrives.

Which documents to look at, by two clocks. Device: `reports/custody_ended` (records database) has a row
per terminal handoff by device time, in UTC; a round reads the rows between its checkpoint and "now minus
the grace". Server: the receipts database's own `_changes` feed from its checkpoint, a page at a time;
receipts of handoffs that arrived before "now minus the grace" are candidates, and the checkpoint moves on
only up to the first one that did not, so that one is read again until it is old enough (on a cluster,
whose feed lists the shards' changes interleaved rather than in arrival order, candidates after it in the
page are taken at once and read again until the checkpoint passes them). The receipts database has no view:
a view there indexed each receipt and seq claim a push writes, about a tenth of the database work of a push
on PouchDB Server (docs/performance.md, "Database work of a push"). The first round after an upgrade works
through the backlog a few pages at a time. A row only names a candidate: the decision always reads the
document and its latest handoff afresh.

Safe to repeat and to run in two app instances at once: the document is written with the revision that was
read, so a conflict (staff reassigned it, another worker closed it) means read again and decide again, never
overwrite; the ledger entry `closure:<document id>:<handoff id>` is created once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from records.schemas import validate_record
from records.types import JSONDict
from server.office.config import OfficeConfig
from server.office.ledger import Ledger, create_once, docs_by_ids, key, now_iso, records_of_document
from server.office.timeline import order_handoffs
from store.couch import CouchConflict, CouchError

logger = logging.getLogger(__name__)

CHECKPOINT_ID = "checkpoint:closure"
#: Handoff kinds after which nobody carries the envelope any more.
TERMINAL_KINDS = frozenset({"delivered", "returned", "lost"})
#: Re-reads of one document after write conflicts before the round gives up (the next round tries again).
RETRIES = 5
#: Documents decided at the same time.
PARALLEL = 8


@dataclass(frozen=True)
class ClosureRun:
    read: int
    closed: int


@dataclass(frozen=True)
class CustodyEnd:
    """The latest handoff of a document, when it is terminal, and when custody ended by each clock."""

    handoff: JSONDict
    ended_at: datetime  # receipt time if the gateway received it, else device time
    earliest: datetime  # the earlier of the two: an assignment made after this is a new one


def utc_key(moment: datetime) -> str:
    """A time as the view emits it (JavaScript `toISOString`): UTC, milliseconds, `Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _aware(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _received_at(receipt: JSONDict | None) -> datetime | None:
    """When the gateway stored the record, from its receipt (None without a receipt)."""
    return _aware(receipt.get("received_at")) if receipt else None


async def close_ended_assignments(
    ledger: Ledger,
    config: OfficeConfig,
    *,
    now: datetime | None = None,
    page: int = 200,
    max_pages: int = 5,
) -> ClosureRun:
    """End the assignments of documents whose custody ended more than `close_after_hours` ago.

    Reads at most `max_pages` pages of `page` rows per clock (view rows by device time, then changes of the
    receipts database); call again to continue a backlog.
    """
    if config.close_after_hours <= 0:
        return ClosureRun(0, 0)
    cutoff = utc_key((now or datetime.now(UTC)) - timedelta(hours=config.close_after_hours))
    checkpoint = await ledger.office.get_or_none(CHECKPOINT_ID) or {
        "_id": CHECKPOINT_ID,
        "type": "checkpoint",
    }
    # `after.server` was a view position of an earlier version; the receipts are now followed by their feed.
    positions: dict[str, list[object]] = {
        clock: position for clock, position in (checkpoint.get("after") or {}).items() if clock == "device"
    }
    read = closed = 0
    for _ in range(max_pages):
        rows = await _device_rows(ledger, positions.get("device"), cutoff, page)
        if not rows:
            break
        read += len(rows)
        closed += await _decide_all(ledger, await _device_candidates(ledger, rows), cutoff)
        positions["device"] = rows[-1]["key"]
        checkpoint["after"] = positions
        if not await _save(ledger, checkpoint):
            return ClosureRun(read, closed)
        if len(rows) < page:
            break
    for _ in range(max_pages):
        arrivals = await _arrivals(ledger, checkpoint.get("receipts_since", "0"), cutoff, page)
        read += len(arrivals.handoff_ids)
        closed += await _decide_all(ledger, await _server_candidates(ledger, arrivals.handoff_ids), cutoff)
        if arrivals.since != checkpoint.get("receipts_since", "0"):
            checkpoint["receipts_since"] = arrivals.since
            if not await _save(ledger, checkpoint):
                return ClosureRun(read, closed)
        if not arrivals.more:
            break
    if closed:
        logger.info("closed %d assignments whose custody ended", closed)
    return ClosureRun(read, closed)


async def _save(ledger: Ledger, checkpoint: JSONDict) -> bool:
    """Store the closure checkpoint; False if another worker moved it (it reads the same rows now, and every
    decision is repeatable, so this round stops)."""
    try:
        checkpoint["_rev"] = await ledger.office.put(checkpoint)
    except CouchConflict:
        logger.info("closure checkpoint moved by another worker; stopping this round")
        return False
    return True


async def _device_rows(ledger: Ledger, after: list[object] | None, cutoff: str, page: int) -> list[JSONDict]:
    """The next device-clock rows up to the cutoff, after the checkpoint's row (which is left out)."""
    result = await ledger.records.view(
        "reports",
        "custody_ended",
        startkey=key(after or ["device"]),
        endkey=key(["device", cutoff, {}]),
        limit=page + 1,
    )
    rows: list[JSONDict] = result.get("rows", [])
    if after is not None and rows and rows[0]["key"] == after:
        rows = rows[1:]
    return rows[:page]


@dataclass(frozen=True)
class _Arrivals:
    """What one page of the receipts feed gave: handoffs that arrived before the cutoff, where the next
    round goes on from (an opaque `since`), and whether to read on at once."""

    handoff_ids: list[str]
    since: object
    more: bool


async def _arrivals(ledger: Ledger, since: object, cutoff: str, page: int) -> _Arrivals:
    """The handoff receipts of one page of the receipts feed after `since` that arrived before the cutoff.

    The position moves on only up to the first receipt of a handoff that is not old enough yet, so that one
    is read again until it is. Old enough ones after it in the page are taken now all the same (a cluster
    lists its shards' changes interleaved, not in arrival order), and again by the next rounds until the
    position passes them: every decision is repeatable, so that costs reads, never a second closure.
    """
    changes = await ledger.receipts.changes(
        since=since if isinstance(since, (str, int)) else "0", include_docs=True, limit=page
    )
    results: list[JSONDict] = changes.get("results", [])
    handoff_ids: list[str] = []
    position, waiting = since, False
    for change in results:
        doc = change.get("doc") or {}
        arrived = None
        if doc.get("type") == "receipt" and doc.get("record_type") == "handoff" and doc.get("record_id"):
            arrived = _received_at(doc)
        if arrived is not None and utc_key(arrived) > cutoff:
            waiting = True
        elif arrived is not None:
            handoff_ids.append(str(doc["record_id"]))
        if not waiting:
            position = change.get("seq", position)  # opaque: stored and sent back, never compared
    return _Arrivals(handoff_ids, position, more=not waiting and len(results) >= page)


async def _device_candidates(ledger: Ledger, rows: list[JSONDict]) -> list[str]:
    """The documents the device-clock rows name, for handoffs the gateway never received (received ones
    are judged by their receipt's arrival)."""
    receipts = await docs_by_ids(ledger.receipts, [f"receipt:{row['key'][2]}" for row in rows])
    ids = [
        str(row["value"])
        for row in rows
        if row.get("value") and _received_at(receipts.get(f"receipt:{row['key'][2]}")) is None
    ]
    return list(dict.fromkeys(ids))


async def _server_candidates(ledger: Ledger, handoff_ids: list[str]) -> list[str]:
    """The documents of those received handoffs that are terminal (a receipt does not know the kind)."""
    if not handoff_ids:
        return []
    handoffs = await docs_by_ids(ledger.records, handoff_ids)
    ids = [
        str(doc["document_id"])
        for doc in handoffs.values()
        if doc.get("type") == "handoff" and doc.get("kind") in TERMINAL_KINDS and doc.get("document_id")
    ]
    return list(dict.fromkeys(ids))


async def _decide_all(ledger: Ledger, document_ids: list[str], cutoff: str) -> int:
    limit = asyncio.Semaphore(PARALLEL)

    async def decide(document_id: str) -> bool:
        async with limit:
            return await close_if_ended(ledger, document_id, cutoff)

    return sum(await asyncio.gather(*(decide(d) for d in document_ids)))


async def custody_end(ledger: Ledger, document_id: str) -> CustodyEnd | None:
    """The document's latest handoff (chain order) if it is terminal, with when custody ended."""
    handoffs = [d for d in await records_of_document(ledger, document_id) if d.get("type") == "handoff"]
    if not handoffs:
        return None
    last = order_handoffs(handoffs)[-1]
    if last.get("kind") not in TERMINAL_KINDS:
        return None
    device = _aware(last.get("device_time"))
    server = _received_at(await ledger.receipts.get_or_none(f"receipt:{last['_id']}"))
    ended = server or device
    if ended is None:
        return None
    return CustodyEnd(last, ended, min(t for t in (device, server) if t is not None))


async def close_if_ended(ledger: Ledger, document_id: str, cutoff: str) -> bool:
    """Write the document without its assignment if its custody ended before `cutoff` (a `utc_key`).

    Kept: no assignment, latest handoff not terminal (a failed attempt, a new pickup), custody ended after
    the cutoff, or an assignment made after custody ended (the document was reassigned). True if closed.
    """
    for _ in range(RETRIES):
        document = await ledger.records.get_or_none(document_id)
        if document is None or document.get("type") != "document":
            return False
        assignment = document.get("assignment")
        if not isinstance(assignment, dict):
            return False
        end = await custody_end(ledger, document_id)
        if end is None or utc_key(end.ended_at) > cutoff:
            return False
        assigned_at = _aware(assignment.get("assigned_at"))
        if assigned_at is None or assigned_at > end.earliest:
            return False
        closed = {name: value for name, value in document.items() if name != "assignment"}
        errors = validate_record(closed)
        if errors:
            logger.warning("document %s not closed: %s", document_id, errors[0])
            return False
        try:
            rev = await ledger.records.put(closed)
        except CouchConflict:  # changed since it was read: decide again on the new revision
            continue
        await create_once(ledger.office, _closure_entry(document, assignment, end, rev))
        return True
    raise CouchError(409, "conflict", f"document {document_id} kept changing; the next round decides again")


def _closure_entry(document: JSONDict, assignment: JSONDict, end: CustodyEnd, rev: str) -> JSONDict:
    """What the office ledger keeps: which custody end closed which courier's assignment, and when."""
    handoff_id = str(end.handoff["_id"])
    return {
        "_id": f"closure:{document['_id']}:{handoff_id}",
        "type": "closure",
        "office": document.get("office"),
        "document_id": document["_id"],
        "handoff_id": handoff_id,
        "kind": end.handoff.get("kind"),
        "courier": assignment.get("courier"),
        "partner": assignment.get("partner"),
        "assigned_at": assignment.get("assigned_at"),
        "custody_ended_at": end.ended_at.isoformat(),
        "document_rev": rev,
        "created_at": now_iso(),
    }
