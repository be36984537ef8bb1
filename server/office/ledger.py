"""Where office pages read and write: the synced records and the office's own ledger database.

Records (documents, seals, handoffs, photos, complaints, visits) live in `<prefix>_records`, the database the
sync gateway serves. What the office writes *about* records — findings, resolutions, handovers, liabilities,
resident links, notifications — lives in `<prefix>_office`, which the gateway never exposes. Both are
append-mostly: office code creates new documents and never edits history.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from records.shapes import Seal, as_seal
from records.types import JSONDict
from server.settings import Settings
from store.couch import CouchClient, CouchConflict, Database

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

#: The office's local clock for timestamps the office writes (WITA); offices elsewhere keep their offset in
#: records from their own devices, and days are compared by each record's own local date.
OFFICE_TZ = timezone(timedelta(hours=8), "WITA")


@dataclass(frozen=True)
class Ledger:
    """The databases an office page needs, bound to one request's settings: the records, the gateway's
    receipts of them, and the office's own ledger."""

    records: Database
    office: Database
    receipts: Database

    @classmethod
    def of(cls, couch: CouchClient, settings: Settings) -> Ledger:
        return cls(
            couch.db(settings.records_db), couch.db(settings.office_db), couch.db(settings.receipts_db)
        )


def new_id() -> str:
    """A ULID-shaped id (26 Crockford characters, sortable by time) for records the office creates."""
    stamp = int(time.time() * 1000)
    chars = []
    for _ in range(10):
        chars.append(_CROCKFORD[stamp % 32])
        stamp //= 32
    return "".join(reversed(chars)) + "".join(secrets.choice(_CROCKFORD) for _ in range(16))


def now_iso(moment: datetime | None = None) -> str:
    """RFC 3339 with seconds and the office offset, as the record schemas want."""
    return (moment or datetime.now(OFFICE_TZ)).astimezone(OFFICE_TZ).isoformat(timespec="seconds")


async def create_once(db: Database, doc: JSONDict) -> bool:
    """Create `doc`; False when a document with its id already exists (the action was already taken)."""
    try:
        await db.put(doc)
    except CouchConflict:
        return False
    return True


async def docs_by_ids(db: Database, ids: list[str]) -> dict[str, JSONDict]:
    """Fetch many documents in one request; missing ones are left out."""
    if not ids:
        return {}
    found: dict[str, JSONDict] = {}
    for row in await db.rows_for_keys(ids, include_docs=True):
        doc = row.get("doc")
        if doc:
            found[str(doc["_id"])] = doc
    return found


def key(value: object) -> str:
    """A view key as CouchDB wants it in a query string: compact JSON."""
    return json.dumps(value, separators=(",", ":"))


async def view_keys(db: Database, ddoc: str, view: str, keys: Sequence[object]) -> list[JSONDict]:
    """The rows of a view for several exact keys, in one request (POST with `keys`)."""
    return await db.view_keys(ddoc, view, keys)


async def records_of_document(ledger: Ledger, document_id: str) -> list[JSONDict]:
    """Every record tied to one document (seals, handoffs, photos, complaints), from the reports view."""
    rows = await ledger.records.view(
        "reports",
        "by_document",
        startkey=key([document_id, 1]),
        endkey=key([document_id, 1, {}]),
        include_docs=True,
    )
    return [row["doc"] for row in rows["rows"] if row.get("doc")]


async def seals_of_document(ledger: Ledger, document_id: str) -> list[Seal]:
    """The seals bound to one document (`records/seals_by_document`), without the rest of its history."""
    rows = await ledger.records.view("records", "seals_by_document", key=key(document_id), include_docs=True)
    return [as_seal(row["doc"]) for row in rows["rows"] if row.get("doc")]


async def present_ids(db: Database, ids: Sequence[str]) -> set[str]:
    """The ids among `ids` that `db` holds and has not deleted, a thousand per request (no bodies read)."""
    wanted = sorted(set(ids))
    found: set[str] = set()
    for start in range(0, len(wanted), 1000):
        for row in await db.rows_for_keys(wanted[start : start + 1000]):
            if "id" in row and not (row.get("value") or {}).get("deleted"):
                found.add(str(row["id"]))
    return found
