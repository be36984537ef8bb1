"""Refused revisions kept for office staff, bounded per user and hour, so junk cannot flood the database.

Every refusal is answered to the phone (`forbidden` with its reason, whatever happens here). What is stored
is bounded: per user and clock hour (UTC) one `refusal_tally:<user>:<hour>` document counts every refusal
by code, and only the first `WHOLE_PER_HOUR` refusals are kept whole as `refusal:<record id>:<rev>` (the
reason and the record without image bytes, trimmed to `MAX_RECORD_BYTES`). The tally is what the office's
exceptions queue shows: one item per user and hour, however many refusals it counts.

The tally is updated first, with CouchDB's revision check, and says how many whole refusals this push may
still add, so two pushes at once never store more than the bound between them. On a cluster the revision
check alone is not enough (`Database.put_exclusive`): pushes in one process take turns at the tally
(`Database.one_writer`), and two instances counting one user's refusals in the same moment may, rarely,
miscount by one push.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Mapping
from typing import Any

from records.principal import Principal
from records.types import JSONDict
from store.couch import CouchConflict, Database
from sync.replication import now_iso
from sync.validation import Refusal

logger = logging.getLogger(__name__)

#: Refusals per user and hour stored whole; beyond, only counted.
WHOLE_PER_HOUR = 20
#: A stored refused record is at most this long as JSON; longer ones keep only their short fields.
MAX_RECORD_BYTES = 2048
#: Longest stored (and answered) reason, and longest kept text field of a trimmed record.
MAX_REASON_CHARS = 600
MAX_FIELD_CHARS = 200
#: Fields kept of a record that is too long even with its long fields dropped.
_ESSENTIAL = ("type", "office", "author", "document_id", "handoff_id", "kind", "seq", "created_at")
_TALLY_ATTEMPTS = 10


def tally_id(user: str, refused_at: str) -> str:
    return f"refusal_tally:{user}:{refused_at[:13]}"


def trim_reason(reason: str) -> str:
    return reason if len(reason) <= MAX_REASON_CHARS else reason[: MAX_REASON_CHARS - 1] + "…"


def trimmed_record(doc: Mapping[str, object]) -> tuple[JSONDict, bool]:
    """The refused record as stored for staff (no image bytes, no history), and whether it was cut."""
    body: JSONDict = {
        key.lstrip("_"): value
        for key, value in doc.items()
        if key not in ("_attachments", "_revisions", "_rev")
    }
    if len(json.dumps(body, ensure_ascii=False)) <= MAX_RECORD_BYTES:
        return body, False
    short: JSONDict = {
        key: value
        for key, value in body.items()
        if isinstance(value, (bool, int, float)) or (isinstance(value, str) and len(value) <= MAX_FIELD_CHARS)
    }
    if len(json.dumps(short, ensure_ascii=False)) > MAX_RECORD_BYTES:
        short = {key: short[key] for key in _ESSENTIAL if key in short}
    return short, True


def _record_type(doc: Mapping[str, object]) -> str:
    doc_id = doc.get("_id")
    return str(doc_id).split(":", 1)[0][:40] if isinstance(doc_id, str) else "unknown"


async def _count(db: Database, principal: Principal, codes: list[str], refused_at: str) -> int:
    """Add this push's refusals to the user's tally for the hour; return how many may be stored whole."""
    doc_id = tally_id(principal.user_id, refused_at)
    async with db.one_writer(doc_id):
        for attempt in range(_TALLY_ATTEMPTS):
            tally: dict[str, Any] = await db.get_or_none(doc_id) or {
                "_id": doc_id,
                "type": "refusal_tally",
                "office": principal.office,
                "user": principal.user_id,
                "hour": refused_at[:13],
                "first_refused_at": refused_at,
                "total": 0,
                "stored": 0,
                "counts": {},
            }
            whole = max(0, min(WHOLE_PER_HOUR - int(tally.get("stored", 0)), len(codes)))
            counts = dict(tally.get("counts") or {})
            for code in codes:
                counts[code] = int(counts.get(code, 0)) + 1
            tally.update(
                counts=counts,
                total=int(tally.get("total", 0)) + len(codes),
                stored=int(tally.get("stored", 0)) + whole,
                last_refused_at=refused_at,
            )
            try:
                await db.put_exclusive(tally)
                return whole
            except CouchConflict:
                await asyncio.sleep(random.uniform(0.005, 0.03) * (attempt + 1))
    logger.warning("refusal tally %s busy: %d refusals answered but not stored", doc_id, len(codes))
    return 0


async def write_refusals(
    db: Database, principal: Principal, docs: list[JSONDict], refusals: Mapping[int, Refusal]
) -> None:
    """Count every refusal of this push; keep the first ones of the user's hour whole (module docstring)."""
    if not refusals:
        return
    refused_at = now_iso()
    ordered = sorted(refusals.items())
    whole = await _count(db, principal, [refusal.code for _, refusal in ordered], refused_at)
    records = []
    for index, refusal in ordered[:whole]:
        doc = docs[index]
        doc_id = str(doc["_id"])[:200] if isinstance(doc.get("_id"), str) else "unknown"
        rev = str(doc["_rev"])[:80] if isinstance(doc.get("_rev"), str) else "norev"
        record, cut = trimmed_record(doc)
        entry: JSONDict = {
            "_id": f"refusal:{doc_id}:{rev}"[:300],
            "type": "refusal",
            "tally": tally_id(principal.user_id, refused_at),
            "record_id": doc_id,
            "record_type": _record_type(doc),
            "rev": rev,
            "office": principal.office,
            "user": principal.user_id,
            "device_id": principal.device_id,
            "code": refusal.code,
            "reason": trim_reason(refusal.reason),
            # The reason's msgid and values: an office page says it in its reader's language.
            "message": refusal.message,
            "message_args": {name: trim_reason(value) for name, value in refusal.args.items()},
            "refused_at": refused_at,
            "record": record,
        }
        if cut:
            entry["record_trimmed"] = True
        records.append(entry)
    if not records:
        return
    result = await db.bulk_docs(records)
    for item in result:
        if item.get("error") and item.get("error") != "conflict":
            logger.warning("could not store refusal %s: %s", item.get("id"), item.get("error"))
