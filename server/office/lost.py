"""Lost documents: the courier's liability, the reprint, a new seal and a new delivery, all in the timeline.

Recording a loss writes a `lost` handoff chained to the last one (unless the courier already reported it),
a `liability:<id>` record naming the courier and partner who held the envelope, and a `reprint_request`.
The reprint writes a `reprinted` handoff and then binds a new seal with a `sealed` handoff chained after
it, so the one custody chain tells the whole story; a new delivery is then a normal assignment.
"""

from __future__ import annotations

from server.office.intake import UNSIGNED_BY_OFFICE, IntakeError, next_seq, office_party, seal_document
from server.office.ledger import Ledger, new_id, now_iso
from server.office.timeline import load_timeline
from sync.custody import record_hash
from sync.principal import Principal
from sync.schemas import validate_record
from sync.types import JSONDict


class LostError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def record_lost(ledger: Ledger, principal: Principal, document: JSONDict, note: str) -> JSONDict:
    """Record a loss reported to the office; returns the liability record."""
    if len(note.strip()) < 5:
        raise LostError("Tulis kronologi singkat kehilangan (minimal 5 huruf), mis. nomor laporan polisi.")
    timeline = await load_timeline(ledger, document)
    last = timeline.last_handoff
    if last is None:
        raise LostError("Dokumen ini belum disegel, jadi belum pernah keluar dari kantor.")
    holder = last["to"] if last["kind"] != "lost" else last["from"]
    if last["kind"] != "lost":
        if holder.get("party") != "courier":
            raise LostError(
                "Dokumen tidak sedang dibawa kurir; catat kehilangan hanya untuk amplop di kurir."
            )
        handoff_id = f"handoff:{new_id()}"
        handoff: JSONDict = {
            "_id": handoff_id,
            "type": "handoff",
            "schema_version": 1,
            "office": document["office"],
            "created_at": now_iso(),
            "author": principal.user_id,
            "document_id": document["_id"],
            "seal_number_scanned": None,
            "seal_number_expected": last["seal_number_expected"],
            "seal_match": False,
            "kind": "lost",
            "from": holder,
            "to": office_party(str(document["office"])),
            "seal_condition": "missing",
            "device_time": now_iso(),
            "seq": await next_seq(ledger, principal.user_id, handoff_id),
            "photos": [],
            "prev_hash": record_hash(last),
            "unsigned_reason": UNSIGNED_BY_OFFICE,
            "note": note.strip()[:500],
        }
        errors = validate_record(handoff)
        if errors:
            raise LostError(f"Catatan kehilangan tidak valid ({errors[0]}); laporkan ke admin.")
        await ledger.records.put(handoff)
    assignment = document.get("assignment") or {}
    liability: JSONDict = {
        "_id": f"liability:{new_id()}",
        "type": "liability",
        "office": document["office"],
        "document_id": document["_id"],
        "courier": holder.get("id"),
        "partner": assignment.get("partner"),
        "seal_number": last["seal_number_expected"],
        "note": note.strip(),
        "author": principal.user_id,
        "created_at": now_iso(),
    }
    await ledger.office.put(liability)
    await ledger.office.put(
        {
            "_id": f"reprint_request:{new_id()}",
            "type": "reprint_request",
            "office": document["office"],
            "document_id": document["_id"],
            "liability_id": liability["_id"],
            "status": "requested",
            "author": principal.user_id,
            "created_at": now_iso(),
        }
    )
    return liability


async def record_reprint(
    ledger: Ledger, principal: Principal, document: JSONDict, seal_number: str, note: str
) -> JSONDict:
    """Void the old item and seal the reprint with a new seal; returns the new `sealed` handoff."""
    timeline = await load_timeline(ledger, document)
    last = timeline.last_handoff
    if last is None or last["kind"] not in ("lost", "returned"):
        raise LostError("Cetak ulang hanya untuk dokumen yang tercatat hilang atau dikembalikan.")
    office = str(document["office"])
    reprinted_id = f"handoff:{new_id()}"
    reprinted: JSONDict = {
        "_id": reprinted_id,
        "type": "handoff",
        "schema_version": 1,
        "office": office,
        "created_at": now_iso(),
        "author": principal.user_id,
        "document_id": document["_id"],
        "seal_number_scanned": None,
        "seal_number_expected": last["seal_number_expected"],
        "seal_match": False,
        "kind": "reprinted",
        "from": office_party(office),
        "to": office_party(office),
        "seal_condition": "not_checked",
        "device_time": now_iso(),
        "seq": await next_seq(ledger, principal.user_id, reprinted_id),
        "photos": [],
        "prev_hash": record_hash(last),
        "unsigned_reason": UNSIGNED_BY_OFFICE,
        "note": (note.strip() or "Dokumen lama dibatalkan dan dicetak ulang.")[:500],
    }
    if validate_record(reprinted):
        raise LostError("Catatan cetak ulang tidak valid; laporkan ke admin.")
    number = seal_number.strip().upper()
    if await ledger.records.get_or_none(f"seal:{office}:{number}") is not None:
        raise IntakeError(f"Segel {number} sudah pernah dipakai. Ambil segel baru dan pindai lagi.")
    await ledger.records.put(reprinted)
    return await seal_document(
        ledger, principal, document, number, office, prev_hash=record_hash(reprinted), kind="sealed"
    )
