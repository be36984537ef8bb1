"""Seal photos that a handoff names but the server never received: waited for, then put before staff.

The PWA sends a handoff first and its seal photos after it (records never wait for photos, see docs/pwa.md),
so for a while a handoff names photos the server does not hold. When the checks meet such a handoff they note
it as `awaited:<handoff id>` in the office ledger. Each worker round then drops the notes whose photos have
arrived and turns the ones older than `SEGEL_PHOTO_WAIT_HOURS` into a `photo_not_arrived` finding for the
exceptions queue: a phone that broke, was wiped or stayed offline has lost the courier's proof, and staff
must ask for it or accept the handoff without it. A photo that still arrives after that closes the finding
with a resolution written by the system, so nobody chases a photo that is already there.

Every step is create-once or delete-by-revision, so a round cut off half-way (or two processes running the
same round) leaves nothing twice and nothing lost: the next round finishes it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from records.shapes import Handoff
from records.types import JSONDict
from server.office.config import OfficeConfig
from server.office.finding_texts import word_finding
from server.office.ledger import Ledger, create_once, now_iso
from server.office.open_items import raised_at
from store.couch import CouchConflict, CouchNotFound
from store.records import RecordsStore

logger = logging.getLogger(__name__)

PREFIX = "awaited:"
KIND = "photo_not_arrived"
#: Who wrote a resolution that no person wrote (a photo that arrived after all).
SYSTEM_AUTHOR = "segel"


@dataclass(frozen=True)
class AwaitedRound:
    arrived: int
    flagged: int


async def note_awaited(
    ledger: Ledger, config: OfficeConfig, handoff: Handoff, photos_present: Iterable[str]
) -> bool:
    """Note a handoff whose named photos are not all on the server yet; True when a note was created."""
    named = [str(photo_id) for photo_id in handoff.get("photos") or []]
    missing = sorted(set(named) - set(photos_present))
    if not missing:
        return False
    noted = datetime.now(UTC)
    return await create_once(
        ledger.office,
        {
            "_id": f"{PREFIX}{handoff['_id']}",
            "type": "awaited_photos",
            "handoff_id": handoff["_id"],
            "office": handoff["office"],
            "document_id": handoff.get("document_id"),
            "author": handoff.get("author"),
            "photos": named,
            "noted_at": _iso(noted),
            "due_at": _iso(noted + timedelta(hours=config.photo_wait_hours)),
        },
    )


async def settle_awaited(
    ledger: Ledger, config: OfficeConfig, *, now: datetime | None = None, limit: int = 1000
) -> AwaitedRound:
    """One round over the notes: drop those whose photos arrived, flag those past their due time."""
    moment = now or datetime.now(UTC)
    rows = await ledger.office.all_docs(
        startkey=f'"{PREFIX}"', endkey=f'"{PREFIX}\ufff0"', include_docs=True, limit=limit
    )
    notes = [row["doc"] for row in rows.get("rows", []) if isinstance(row.get("doc"), dict)]
    if not notes:
        return AwaitedRound(0, 0)
    present = await present_ids(ledger, [photo for note in notes for photo in note.get("photos", [])])
    arrived = flagged = 0
    for note in notes:
        missing = [photo for photo in note.get("photos", []) if photo not in present]
        if not missing:
            arrived += await _drop(ledger, note)
            continue
        if str(note.get("due_at", "")) > _iso(moment):
            continue
        args = {"photos": len(missing), "author": note.get("author") or "", "hours": config.photo_wait_hours}
        flagged += await create_once(
            ledger.office,
            {
                "_id": f"finding:{KIND}:{note['handoff_id']}",
                "type": "finding",
                "kind": KIND,
                "subject": note["handoff_id"],
                "office": note["office"],
                "document_id": note.get("document_id"),
                "photos": missing,
                "detail": word_finding(KIND, args),
                "detail_args": args,
                "created_at": now_iso(),
            },
        )
        await _drop(ledger, note)  # the finding carries it on; a late photo closes that (close_on_arrival)
    return AwaitedRound(arrived, flagged)


async def close_on_arrival(ledger: Ledger, photo: JSONDict) -> bool:
    """A photo arrived after its handoff was flagged: close the finding; True when this call closed it."""
    handoff_id = photo.get("handoff_id")
    if not isinstance(handoff_id, str):
        return False
    finding = await ledger.office.get_or_none(f"finding:{KIND}:{handoff_id}")
    if finding is None:
        return False
    present = await present_ids(ledger, finding.get("photos", []))
    if any(photo_id not in present for photo_id in finding.get("photos", [])):
        return False
    resolution: JSONDict = {
        "_id": f"resolution:{KIND}:{handoff_id}",
        "type": "resolution",
        "kind": KIND,
        "subject": handoff_id,
        "action": "arrived_late",
        "note": f"Foto sampai di server {now_iso()}, setelah batas waktu; tidak perlu ditindaklanjuti.",
        "office": finding["office"],
        "author": SYSTEM_AUTHOR,
        "created_at": now_iso(),
    }
    if finding.get("document_id"):
        resolution["document_id"] = finding["document_id"]
    if raised := await raised_at(ledger, KIND, finding):
        resolution["raised_at"] = raised
    return await create_once(ledger.office, resolution)


async def present_ids(ledger: Ledger, photo_ids: list[str]) -> set[str]:
    """The ids among `photo_ids` that the records database holds (not deleted), in one request."""
    return await RecordsStore(ledger.records).present(photo_ids)


async def _drop(ledger: Ledger, note: JSONDict) -> int:
    try:
        await ledger.office.delete(str(note["_id"]), str(note["_rev"]))
    except (CouchConflict, CouchNotFound):
        return 0  # another round dropped (or re-noted) it
    return 1


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
