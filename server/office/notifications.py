"""The notification outbox: messages to residents are written first, sent after, and never lost in between.

Each message is a `notification:<id>` document in the office ledger with status `pending`; `deliver_pending`
hands pending ones to a `Sender` and marks them `sent` (or `failed` with the reason, to be retried). The
default sender appends to a file under the data directory, so a deployment without an SMS contract still
works; an SMS or WhatsApp gateway is a class with one `send` method.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from server.office.ledger import Ledger, key, new_id, now_iso
from sync.couch import CouchConflict
from sync.types import JSONDict

TEMPLATES = {
    "document_ready": (
        "Disdukcapil: dokumen {doc_kind} atas nama {name} sudah selesai. Pilih diantar kurir atau "
        "ambil sendiri, dan lihat statusnya di {link} . Kode penerimaan: {receipt_code} (berikan hanya "
        "kepada kurir saat amplop diterima)."
    ),
    "out_for_delivery": (
        "Disdukcapil: dokumen {doc_kind} atas nama {name} sedang diantar kurir. Status: {link}"
    ),
    "delivered": (
        "Disdukcapil: kurir mencatat dokumen {doc_kind} atas nama {name} sudah diterima. Mohon konfirmasi, "
        "atau laporkan bila belum Anda terima: {link}"
    ),
    "complaint_received": (
        "Disdukcapil: pengaduan Anda tentang dokumen {doc_kind} sudah kami terima. {link}"
    ),
}


@dataclass(frozen=True)
class Message:
    id: str
    to: str
    text: str
    kind: str


class Sender(Protocol):
    """Sends one message or raises; an SMS/WhatsApp adapter implements just this."""

    async def send(self, message: Message) -> None: ...


class LogFileSender:
    """Appends each message as one JSON line to `<data_dir>/outbox.log` (the default, no gateway needed)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / "outbox.log"

    async def send(self, message: Message) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = {
            "id": message.id,
            "to": message.to,
            "kind": message.kind,
            "text": message.text,
            "at": now_iso(),
        }
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")


def _utc(moment: str | None) -> str:
    """An RFC 3339 time as UTC text, so times written with different offsets sort as they happened."""
    try:
        parsed = datetime.fromisoformat(moment) if moment else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        parsed = datetime.now(UTC)
    return parsed.astimezone(UTC).isoformat(timespec="milliseconds")


async def enqueue(
    ledger: Ledger,
    kind: str,
    document: JSONDict,
    link: str,
    *,
    message_id: str | None = None,
    event_at: str | None = None,
    event_seq: int = 0,
) -> JSONDict:
    """Write a pending message; with `message_id`, a second call for the same event is a no-op.

    Messages go out in the order of the events they tell of (`event_at`, e.g. a handoff's time), not the
    order they were queued in: the office checks read a changes feed that, on CouchDB, does not keep the
    order records were written in, and a resident must not hear "delivered" before "on its way". Events of
    the same second keep their custody order (`event_seq`, the handoff's sequence number).
    """
    resident = document["resident"]
    text = TEMPLATES[kind].format(
        doc_kind=document["doc_kind"].upper().replace("_", " "),
        name=resident["name"],
        link=link,
        receipt_code=document.get("receipt_code", ""),
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


async def deliver_pending(ledger: Ledger, sender: Sender, *, limit: int = 100) -> int:
    """Send pending messages in order; returns how many were sent. Safe to run from several workers."""
    rows = await ledger.office.view(
        "office",
        "outbox",
        startkey=key(["pending"]),
        endkey=key(["pending", {}]),
        include_docs=True,
        limit=limit,
    )
    sent = 0
    for row in rows["rows"]:
        doc = row["doc"]
        doc["status"] = "sending"
        try:
            doc["_rev"] = await ledger.office.put(doc)  # claim it: a second worker gets a conflict
        except CouchConflict:
            continue
        message = Message(str(doc["_id"]), str(doc["to"]), str(doc["text"]), str(doc["kind"]))
        try:
            await sender.send(message)
        except Exception as exc:  # any sender failure: keep the message for the next run
            doc["status"] = "pending"
            doc["attempts"] = int(doc.get("attempts", 0)) + 1
            doc["last_error"] = type(exc).__name__
        else:
            doc["status"] = "sent"
            doc["sent_at"] = now_iso()
            sent += 1
        await ledger.office.put(doc)
    return sent
