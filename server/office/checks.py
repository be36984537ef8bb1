"""Background checks that need more than one record: photo digests and reuse, GPS distance, chain links.

They read the records' `_changes` feed (and the receipts database's, for signatures that did not verify)
from checkpoints kept in the office ledger, so each record is checked once, and write
`finding:<kind>:<subject>` documents (created once, never edited). The exceptions queue
lists findings next to the exceptions a record shows by itself.

Each record costs a bounded number of reads, whatever the length of its document's history: a handoff's
link is checked against its neighbours (`chain_links`), a delivery reads the document and its seals (whose
index each round keeps current, see `RARELY_READ_VIEWS`), the photos a handoff awaits are looked up by id.
A record whose check fails (a photo that cannot be opened, or any other error that is the record's own)
becomes an exception for staff (`photo_unreadable`, `check_failed`) and the checks go on with the next
one: one poison record never stops them. Only the database being unreachable or answering with an error
stops a round, before its checkpoint moves.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
from dataclasses import dataclass

import imagehash
from PIL import Image, UnidentifiedImageError

from records.images import ImageError, check_dimensions, read_header
from records.receipt_proof import ReceiptKey
from records.shapes import Document, Handoff, Seal, as_document, as_handoff
from records.types import JSONDict
from server.local_time import happened_at, local_time, zone_for_code
from server.office.awaited_photos import close_on_arrival, note_awaited, present_ids
from server.office.chain_links import broken_link
from server.office.config import OfficeConfig
from server.office.delivery_checks import check_delivery
from server.office.finding_texts import word_finding
from server.office.ledger import Ledger, create_once, now_iso, seals_of_document, view_keys
from server.office.notifications import enqueue
from server.residents.links import issue_link
from store.couch import CouchError, CouchNotFound, CouchUnavailable, Database
from store.records import RecordsStore

logger = logging.getLogger(__name__)

CHECKPOINT_ID = "checkpoint:checks"
#: Where the checks of the receipts database's changes have got to (a feed of its own).
RECEIPTS_CHECKPOINT_ID = "checkpoint:receipt_checks"
#: Two seal photos whose perceptual hashes differ in at most this many of 64 bits show the same picture.
PHASH_MAX_DISTANCE = 6
#: Handoff kinds the resident hears about, and the message they get.
NOTIFIED_KINDS = {"picked_up": "out_for_delivery", "delivered": "delivered"}
EARTH_RADIUS_M = 6_371_000.0
#: Records views a round reads only now and then (a delivery's seals), refreshed once a round: PouchDB Server
#: keeps one index per view and brings it up to date when it is read, so a view unread while a long history
#: was written made the next delivery's check index all of it (4.3 s of a 5.7 s round after 1,000 handoffs).
RARELY_READ_VIEWS = (("records", "seals_by_document"),)


@dataclass(frozen=True)
class CheckRun:
    """One round of checks. `checked` counts the records and the gateway's receipts read this round:
    callers loop while it is not zero, so a full page of receipts alone also asks for another round."""

    checked: int
    findings: int


async def _notify(ledger: Ledger, handoff: JSONDict, origin: str) -> None:
    message_id = f"notification:{handoff['kind']}:{handoff['_id']}"
    if await ledger.office.get_or_none(message_id) is not None:
        return
    document = await ledger.records.get_or_none(str(handoff["document_id"]))
    if document is None or document.get("type") != "document":
        return
    token = await issue_link(ledger, document)
    # The time the resident reads: the server's receipt of the handoff, in the office's zone (its
    # province's: the worker reads no identity record), so a phone's wrong clock never reaches a message.
    receipt = await ledger.receipts.get_or_none(f"receipt:{handoff['_id']}") or {}
    when = local_time(
        happened_at(handoff.get("device_time"), receipt.get("received_at")),
        zone_for_code(str(document["office"])),
    )
    await enqueue(
        ledger,
        NOTIFIED_KINDS[str(handoff["kind"])],
        document,
        f"{origin}/r/{token}",
        message_id=message_id,
        event_at=str(handoff.get("device_time") or ""),
        event_seq=int(handoff.get("seq") or 0),
        when=when,
    )


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres; good to a few metres at city scale."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


async def _finding(
    ledger: Ledger,
    kind: str,
    subject: str,
    office: str,
    document_id: str | None,
    args: dict[str, object] | None = None,
) -> bool:
    """Write the finding once: what was found as data (`detail_args`, worded when shown, in the reader's
    language: finding_texts.py), and the Indonesian sentence as it reads now (`detail`)."""
    args = args or {}
    doc: JSONDict = {
        "_id": f"finding:{kind}:{subject}",
        "type": "finding",
        "kind": kind,
        "subject": subject,
        "office": office,
        "detail": word_finding(kind, args),
        "detail_args": args,
        "created_at": now_iso(),
    }
    if document_id:
        doc["document_id"] = document_id
    return await create_once(ledger.office, doc)


async def run_checks(
    ledger: Ledger,
    config: OfficeConfig,
    *,
    limit: int = 2000,
    origin: str | None = None,
    receipt_key: ReceiptKey | None = None,
) -> CheckRun:
    """Check the records changed since the last run (at most `limit`), then the gateway's new receipts (a
    signature that did not verify); call again to continue.

    With `origin` (the site's address), residents are also told when their envelope leaves with a courier
    and when it is recorded as delivered. `receipt_key` opens the receipt codes couriers sealed at the door
    (without it, sealed codes count as unreadable).
    """
    checkpoint, changes = await _changes_since(ledger, ledger.records, CHECKPOINT_ID, limit)
    checked = findings = 0
    for doc in changes:
        checked += 1
        findings += await _check_one(ledger, config, doc, receipt_key)
        if origin and doc.get("type") == "handoff" and doc.get("kind") in NOTIFIED_KINDS:
            await _notify(ledger, doc, origin)
    if checked:
        for ddoc, view in RARELY_READ_VIEWS:  # limit=0: only the index update of this round's records
            await ledger.records.view(ddoc, view, limit=0)
    await _save_checkpoint(ledger, checkpoint)
    receipts_checkpoint, receipts = await _changes_since(
        ledger, ledger.receipts, RECEIPTS_CHECKPOINT_ID, limit
    )
    for doc in receipts:
        findings += await _check_receipt(ledger, doc)
    await _save_checkpoint(ledger, receipts_checkpoint)
    return CheckRun(checked=checked + len(receipts), findings=findings)


async def _changes_since(
    ledger: Ledger, db: Database, checkpoint_id: str, limit: int
) -> tuple[JSONDict, list[JSONDict]]:
    """The checkpoint (its `since` moved to the end of the page) and the documents changed after it, design
    documents and deletions left out."""
    checkpoint = await ledger.office.get_or_none(checkpoint_id) or {
        "_id": checkpoint_id,
        "type": "checkpoint",
    }
    since = checkpoint.get("since", "0")
    changes = await db.changes(since=since, include_docs=True, limit=limit, conflicts=True)
    docs = [
        doc
        for change in changes.get("results", [])
        if (doc := change.get("doc") or {})
        and not doc.get("_deleted")
        and not str(doc.get("_id", "")).startswith("_design/")
    ]
    checkpoint["since"] = changes.get("last_seq", since)  # opaque: stored and sent back, never compared
    return checkpoint, docs


async def _save_checkpoint(ledger: Ledger, checkpoint: JSONDict) -> None:
    try:
        await ledger.office.put(checkpoint)
    except CouchError as exc:  # another request ran the checks at the same time; findings are idempotent
        logger.info("checks checkpoint not saved (%s)", exc.error)


async def _check_one(
    ledger: Ledger, config: OfficeConfig, doc: JSONDict, receipt_key: ReceiptKey | None
) -> int:
    """`check_record`, with a failure that belongs to the record set aside as a `check_failed` finding."""
    try:
        return await check_record(ledger, config, doc, receipt_key)
    except (CouchError, CouchUnavailable):
        raise  # the database, not the record: the round stops and the same records are read again
    except Exception as exc:  # any bug or bad field of one record must not stop every check
        logger.exception("office check of %s failed; set aside for staff", doc.get("_id"))
        return int(
            await _finding(
                ledger,
                "check_failed",
                str(doc.get("_id")),
                str(doc.get("office", "")),
                doc.get("document_id") if isinstance(doc.get("document_id"), str) else None,
                {"error": type(exc).__name__},
            )
        )


async def check_record(
    ledger: Ledger, config: OfficeConfig, doc: JSONDict, receipt_key: ReceiptKey | None = None
) -> int:
    kind = doc.get("type")
    if kind == "photo":
        return await _check_photo(ledger, doc)
    if kind == "handoff":
        return await _check_handoff(ledger, config, as_handoff(doc), receipt_key)
    return 0


async def _check_receipt(ledger: Ledger, receipt: JSONDict) -> int:
    """A receipt (receipts database) whose passkey signature did not verify becomes a finding for staff."""
    if not str(receipt.get("_id", "")).startswith("receipt:") or not _signature_invalid(receipt):
        return 0
    subject = str(receipt.get("record_id") or str(receipt["_id"])[len("receipt:") :])
    return int(
        await _finding(
            ledger, "signature_invalid", subject, str(receipt.get("office", "")), receipt.get("document_id")
        )
    )


def _signature_invalid(receipt: JSONDict) -> bool:
    """The gateway's receipt says the passkey signature did not verify."""
    signature = receipt.get("signature")
    status = signature.get("status") if isinstance(signature, dict) else None
    return status == "invalid" or receipt.get("signature_valid") is False


async def _check_photo(ledger: Ledger, photo: JSONDict) -> int:
    """A seal photo's image, once it arrived: its digest, whether it opens, and whether it was used before."""
    await close_on_arrival(ledger, photo)
    data = await _photo_bytes(ledger, photo)
    if data is None:
        return 0
    office, document_id, photo_id = str(photo["office"]), str(photo["document_id"]), str(photo["_id"])
    count = 0
    if hashlib.sha256(data).hexdigest() != photo.get("sha256"):
        count += await _finding(
            ledger,
            "photo_digest",
            photo_id,
            office,
            document_id,
        )
    try:
        phash = _phash(data, str(photo.get("content_type") or ""))
    except ImageError as exc:
        return count + await _finding(
            ledger,
            "photo_unreadable",
            photo_id,
            office,
            document_id,
            {"problem": exc.code, **({"width": exc.size[0], "height": exc.size[1]} if exc.size else {})},
        )
    await _record_phash(ledger, photo, phash)
    return count + await _flag_reuses(ledger, photo, phash)


async def _photo_bytes(ledger: Ledger, photo: JSONDict) -> bytes | None:
    """The image of a photo record, or None while it has not arrived (listed as photo_missing meanwhile)."""
    name = str(photo.get("attachment"))
    if name not in (photo.get("_attachments") or {}):
        return None  # still waiting for its image: listed as photo_missing by the exceptions view
    try:
        return await RecordsStore(ledger.records).photo_bytes(str(photo["_id"]), name)
    except CouchNotFound:
        return None


async def _record_phash(ledger: Ledger, photo: JSONDict, phash: str) -> None:
    """Keep the photo's perceptual hash (`photo_check:`), which later photos are compared with."""
    office, document_id, photo_id = str(photo["office"]), str(photo["document_id"]), str(photo["_id"])
    await create_once(
        ledger.office,
        {
            "_id": f"photo_check:{photo_id}",
            "type": "photo_check",
            "office": office,
            "photo_id": photo_id,
            "document_id": document_id,
            "phash": phash,
            "captured_at": str(photo.get("captured_at") or ""),
            "created_at": now_iso(),
        },
    )


async def _flag_reuses(ledger: Ledger, photo: JSONDict, phash: str) -> int:
    """A finding for each document whose seal photo shows the same picture as an earlier one of another."""
    office, document_id, photo_id = str(photo["office"]), str(photo["document_id"]), str(photo["_id"])
    count = 0
    mine = SimilarPhoto(document_id, photo_id, str(photo.get("captured_at") or ""))
    for reused, earlier in _reuses(mine, await _similar_photos(ledger, office, phash)):
        count += await _finding(
            ledger,
            "photo_reused",
            reused.photo_id,
            office,
            reused.document_id,
            {"documents": earlier},
        )
    return count


def _phash(data: bytes, content_type: str) -> str:
    """The perceptual hash of a photo, decoded only once its header shows it is the type its record
    declares and within the pixel budget (`records.images`); raises `ImageError` for anything else."""
    read_header(data, content_type or None)
    try:
        with Image.open(io.BytesIO(data)) as image:  # reads the header only, like ours: checked again
            check_dimensions(*image.size)
            return str(imagehash.phash(image))
    except ImageError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ImageError("image_type", f"isi gambar rusak ({type(exc).__name__}).") from exc


async def _check_delivery(
    ledger: Ledger,
    handoff: Handoff,
    document: Document,
    seals: list[Seal],
    receipt_key: ReceiptKey | None,
) -> int:
    """The last link: the resident's code and the bound seal, judged once (`delivery_checks`)."""
    verdict = await check_delivery(ledger, handoff, document, seals, receipt_key)
    office, document_id, handoff_id = str(handoff["office"]), str(handoff["document_id"]), str(handoff["_id"])
    count = 0
    if verdict.code in ("mismatch", "unreadable"):
        count += await _finding(
            ledger,
            "code_mismatch",
            handoff_id,
            office,
            document_id,
            {"code": verdict.code},
        )
    if verdict.code == "missing":
        count += await _finding(
            ledger,
            "code_missing",
            handoff_id,
            office,
            document_id,
        )
    if verdict.seal != "matched" and handoff.get("seal_match") is True:
        count += await _finding(
            ledger,
            "seal_unexpected",
            handoff_id,
            office,
            document_id,
            {"scanned": verdict.seal_scanned or "-", "expected": verdict.seal_expected or "-"},
        )
    return count


@dataclass(frozen=True)
class SimilarPhoto:
    document_id: str
    photo_id: str
    captured_at: str

    @property
    def order(self) -> tuple[str, str]:
        """When it was taken, then its id, so that equal times still give one order."""
        return (self.captured_at, self.photo_id)


def _reuses(mine: SimilarPhoto, similar: list[SimilarPhoto]) -> list[tuple[SimilarPhoto, str]]:
    """Which photos are reuses: of the same picture on different documents, every one but the earliest.

    Decided by when each was taken, not by which the checks read first, so the verdict is the same
    whatever order the (on a cluster, unordered) changes feed brings them in.
    """
    others = [photo for photo in similar if photo.document_id != mine.document_id]
    if not others:
        return []
    pictures = [mine, *others]
    first = min(pictures, key=lambda photo: photo.order)
    return [
        (photo, ", ".join(sorted({p.document_id for p in pictures} - {photo.document_id})))
        for photo in pictures
        if photo.document_id != first.document_id
    ]


async def _similar_photos(ledger: Ledger, office: str, phash: str) -> list[SimilarPhoto]:
    """Seal photos of the office that show the same picture: perceptual hashes within
    `PHASH_MAX_DISTANCE` bits."""
    keys = [[office, band, phash[band * 2 : band * 2 + 2]] for band in range(8)]
    rows = await view_keys(ledger.office, "office", "photos_by_phash", keys)
    mine = int(phash, 16)
    found: dict[str, SimilarPhoto] = {}
    for row in rows:
        document_id, other, *rest = row["value"]
        if bin(mine ^ int(str(other), 16)).count("1") > PHASH_MAX_DISTANCE:
            continue
        photo_id = str(rest[0]) if rest else f"photo_check:{row['id']}"
        captured = str(rest[1]) if len(rest) > 1 else ""
        found[photo_id] = SimilarPhoto(str(document_id), photo_id, captured)
    return list(found.values())


async def _check_handoff(
    ledger: Ledger, config: OfficeConfig, handoff: Handoff, receipt_key: ReceiptKey | None
) -> int:
    office, document_id = str(handoff["office"]), str(handoff["document_id"])
    count = 0
    place = handoff.get("place")
    document: JSONDict = {}
    if handoff.get("kind") == "delivered":
        document = await ledger.records.get_or_none(document_id) or {}
    if document:
        seals = await seals_of_document(ledger, document_id)
        count += await _check_delivery(ledger, handoff, as_document(document), seals, receipt_key)
    if handoff.get("kind") == "delivered" and isinstance(place, dict):
        address = (document.get("resident") or {}).get("address") or {}
        if "lat" in address and "lon" in address:
            distance = haversine_m(
                float(place["lat"]), float(place["lon"]), float(address["lat"]), float(address["lon"])
            )
            if distance > config.gps_far_m:
                count += await _finding(
                    ledger,
                    "gps_far",
                    str(handoff["_id"]),
                    office,
                    document_id,
                    {"distance_m": round(distance), "limit_m": config.gps_far_m},
                )
    named = [str(photo_id) for photo_id in handoff.get("photos") or []]
    await note_awaited(ledger, config, handoff, await present_ids(ledger, named))
    broken = await broken_link(ledger, handoff)
    if broken:
        count += await _finding(
            ledger,
            "chain_broken",
            str(handoff["_id"]),
            office,
            document_id,
            {"reason": broken.reason, **broken.args},
        )
    return count
