"""The notification outbox: messages to residents are written first, sent after, and never lost in between.

Each message is a `notification:<id>` document in the office ledger. Pages only `enqueue` (status
`pending`); `segel worker` calls `deliver_pending`, which takes each due message through:

    pending --claim--> sending (lease_until) --sent--> sent
                          |  \\--failed, tries left--> pending (next_attempt_at, backed off)
                          |   \\--failed, no tries left--> dead (a dead letter on the exceptions page)
                          \\--lease passed (the worker died)--> claimed again by the next round

A claim is a revision-checked write, so two workers never hold one message; a lease that passes hands the
message to the next round, so none stays `sending` forever. Messages of one document go out in the order of
their events: while an earlier one waits (backed off, or claimed by another worker), the later ones wait.
Staff resend a dead letter (`resend`), which makes it pending with fresh tries.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from records.types import JSONDict
from server.office.config import OfficeConfig
from server.office.ledger import Ledger, key, new_id, now_iso
from server.office.message_catalogue import render_message
from server.office.senders import Message, Sender, SendError
from store.couch import CouchConflict

logger = logging.getLogger(__name__)

#: Rows of each status read per round; a round sends at most `deliver_pending(limit=...)` of them.
_SCAN = 500
#: Dead letters listed on an office's exceptions page.
DEAD_LETTERS_SHOWN = 50


class OutboxError(Exception):
    """A resend that cannot be done; `status` and `reason` are what the page answers."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass(frozen=True)
class RetryPolicy:
    lease_s: float = 120
    max_attempts: int = 6
    backoff_s: float = 30

    @classmethod
    def of(cls, config: OfficeConfig) -> RetryPolicy:
        return cls(config.outbox_lease_s, max(config.outbox_max_attempts, 1), config.outbox_backoff_s)

    def next_try(self, attempts: int, now: datetime) -> datetime:
        return now + timedelta(seconds=self.backoff_s * 2 ** max(attempts - 1, 0))


#: Who holds a claim, for the operator reading a stuck message (host and process, nothing secret).
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


def _utc(moment: str | None) -> str:
    """An RFC 3339 time as UTC text, so times written with different offsets sort as they happened."""
    try:
        parsed = datetime.fromisoformat(moment) if moment else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        parsed = datetime.now(UTC)
    return parsed.astimezone(UTC).isoformat(timespec="milliseconds")


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


async def enqueue(
    ledger: Ledger,
    kind: str,
    document: JSONDict,
    link: str,
    *,
    message_id: str | None = None,
    event_at: str | None = None,
    event_seq: int = 0,
    when: str = "",
) -> JSONDict:
    """Write a pending message; with `message_id`, a second call for the same event is a no-op.

    Messages go out in the order of the events they tell of (`event_at`, e.g. a handoff's time), not the
    order they were queued in: the office checks read a changes feed that, on CouchDB, does not keep the
    order records were written in, and a resident must not hear "delivered" before "on its way". Events of
    the same second keep their custody order (`event_seq`, the handoff's sequence number).
    """
    resident = document["resident"]
    text = render_message(
        kind,
        doc_kind=str(document["doc_kind"]),
        name=str(resident["name"]),
        link=link,
        receipt_code=str(document.get("receipt_code", "")),
        when=when,
    )
    message: JSONDict = {
        "_id": message_id or f"notification:{new_id()}",
        "type": "notification",
        "kind": kind,
        "office": document["office"],
        "document_id": document["_id"],
        "to": resident["phone"],
        "text": text,
        "status": "pending",
        "attempts": 0,
        "created_at": now_iso(),
        "event_at": _utc(event_at),
        "event_seq": event_seq,
        "queued_us": time.time_ns() // 1000,  # then queueing order, finer than seconds (exact in JS numbers)
    }
    try:
        message["_rev"] = await ledger.office.put(message)
    except CouchConflict:  # already queued for this event
        return await ledger.office.get(str(message["_id"]))
    return message


async def _rows(ledger: Ledger, status: str, limit: int = _SCAN) -> list[JSONDict]:
    rows = await ledger.office.view(
        "office", "outbox", startkey=key([status]), endkey=key([status, {}]), include_docs=True, limit=limit
    )
    return [row["doc"] for row in rows["rows"] if row.get("doc")]


def _order(doc: JSONDict) -> tuple[str, int, int]:
    return str(doc.get("event_at", "")), int(doc.get("event_seq", 0)), int(doc.get("queued_us", 0))


def _due(doc: JSONDict, now: datetime) -> bool:
    """Pending and past its backoff, or claimed by a worker whose lease has passed."""
    stamp = _stamp(now)
    if doc.get("status") == "sending":
        return str(doc.get("lease_until", "")) <= stamp
    return str(doc.get("next_attempt_at", "")) <= stamp


async def claim(ledger: Ledger, doc: JSONDict, policy: RetryPolicy, now: datetime) -> bool:
    """Take the message for one attempt (False: another worker took it first). Counts the attempt now, so
    a worker that dies mid-send has used one of the message's tries."""
    doc["status"] = "sending"
    doc["attempts"] = int(doc.get("attempts", 0)) + 1
    doc["lease_until"] = _stamp(now + timedelta(seconds=policy.lease_s))
    doc["claimed_by"] = WORKER_ID
    try:
        doc["_rev"] = await ledger.office.put(doc)
    except CouchConflict:
        return False
    return True


async def _record(ledger: Ledger, doc: JSONDict) -> None:
    """Write the outcome; if the claim was taken over meanwhile (lease passed), the newer state is kept
    unless this worker's outcome is `sent`, which must not be lost (it would be sent yet again)."""
    try:
        await ledger.office.put(doc)
    except CouchConflict:
        if doc["status"] != "sent":
            return
        latest = await ledger.office.get(str(doc["_id"]))
        if latest.get("status") != "sent":
            await ledger.office.put({**doc, "_rev": latest["_rev"]})


async def _attempt(ledger: Ledger, doc: JSONDict, sender: Sender, policy: RetryPolicy) -> bool:
    message = Message(str(doc["_id"]), str(doc["to"]), str(doc["text"]), str(doc["kind"]))
    for field in ("lease_until", "claimed_by"):
        doc.pop(field, None)
    try:
        await sender.send(message)
    except Exception as exc:  # any sender failure: keep the message, try again later or give up
        reason = exc.reason if isinstance(exc, SendError) else type(exc).__name__
        doc["last_error"] = reason
        now = datetime.now(UTC)
        if int(doc["attempts"]) >= policy.max_attempts:
            doc["status"] = "dead"
            doc["dead_at"] = _stamp(now)
            logger.warning(
                "message %s is a dead letter after %s tries: %s", doc["_id"], doc["attempts"], reason
            )
        else:
            doc["status"] = "pending"
            doc["next_attempt_at"] = _stamp(policy.next_try(int(doc["attempts"]), now))
            logger.info("message %s not sent (try %s): %s", doc["_id"], doc["attempts"], reason)
        await _record(ledger, doc)
        return False
    doc["status"] = "sent"
    doc["sent_at"] = now_iso()
    doc.pop("next_attempt_at", None)
    await _record(ledger, doc)
    return True


async def deliver_pending(
    ledger: Ledger, sender: Sender, *, limit: int = 100, policy: RetryPolicy | None = None
) -> int:
    """Send the due messages in event order; returns how many were sent. Safe to run in several workers."""
    policy = policy or RetryPolicy()
    now = datetime.now(UTC)
    waiting = await _rows(ledger, "sending") + await _rows(ledger, "pending")
    held: set[str] = set()  # documents with an earlier message not out yet: theirs wait too
    sent = 0
    for doc in sorted(waiting, key=_order):
        document = str(doc.get("document_id", ""))
        if document in held or not _due(doc, now):
            held.add(document)
            continue
        if not await claim(ledger, doc, policy, datetime.now(UTC)) or not await _attempt(
            ledger, doc, sender, policy
        ):
            held.add(document)
            continue
        sent += 1
        if sent >= limit:
            break
    return sent


async def dead_letters(ledger: Ledger, office: str) -> list[JSONDict]:
    """The office's messages that ran out of tries, newest event first (at most `DEAD_LETTERS_SHOWN`).

    Read from the `outbox` view's `dead` rows and filtered by office here (the view has no office key):
    dead letters are few, and a page reads at most `_SCAN` of them."""
    mine = [doc for doc in await _rows(ledger, "dead") if doc.get("office") == office]
    return sorted(mine, key=_order, reverse=True)[:DEAD_LETTERS_SHOWN]


async def resend(ledger: Ledger, message_id: str, office: str, by: str) -> JSONDict:
    """Make a dead letter of `office` pending again with fresh tries. Another office's message answers as a
    missing one does, so its id tells nothing."""
    doc = await ledger.office.get_or_none(message_id) if message_id.startswith("notification:") else None
    if doc is None or doc.get("office") != office:
        raise OutboxError(404, "Pesan tidak ditemukan. Muat ulang halaman pengecualian.")
    if doc.get("status") != "dead":
        raise OutboxError(409, "Pesan ini tidak gagal (sedang atau sudah dikirim). Muat ulang halaman.")
    doc.update(status="pending", attempts=0, resent_at=now_iso(), resent_by=by)
    for field in ("next_attempt_at", "dead_at"):
        doc.pop(field, None)
    try:
        doc["_rev"] = await ledger.office.put(doc)
    except CouchConflict as exc:
        raise OutboxError(409, "Pesan ini baru saja diubah petugas lain. Muat ulang halaman.") from exc
    return doc
