"""Lost documents: the courier's liability, the reprint, a new seal and a new delivery, all in the timeline.

Recording a loss writes a `lost` handoff chained to the last one (unless the courier already reported it),
a `liability:<id>` record naming the courier and partner who held the envelope, and a `reprint_request`.
The reprint writes a `reprinted` handoff and then binds a new seal with a `sealed` handoff chained after
it, so the one custody chain tells the whole story; a new delivery is then a normal assignment.
"""

from __future__ import annotations

from records.custody import record_hash
from records.principal import Principal
from records.types import JSONDict
from server.i18n import gettext as _
from server.office.intake import IntakeError, office_handoff, office_party, seal_document
from server.office.ledger import Ledger, new_id, now_iso
from server.office.timeline import load_timeline


class LostError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def record_lost(ledger: Ledger, principal: Principal, document: JSONDict, note: str) -> JSONDict:
    """Record a loss reported to the office; returns the liability record."""
    if len(note.strip()) < 5:
        raise LostError(_("Tulis kronologi singkat kehilangan (minimal 5 huruf), mis. nomor laporan polisi."))
    timeline = await load_timeline(ledger, document)
    last = timeline.last_handoff
    if last is None:
        raise LostError(_("Dokumen ini belum disegel, jadi belum pernah keluar dari kantor."))
    holder = last["to"] if last["kind"] != "lost" else last["from"]
    if last["kind"] != "lost":
        if holder.get("party") != "courier":
            raise LostError(
                _("Dokumen tidak sedang dibawa kurir; catat kehilangan hanya untuk amplop di kurir.")
            )
        handoff = await office_handoff(
            ledger,
            principal,
            document,
            kind="lost",
            parties=(holder, office_party(str(document["office"]))),
            scanned=None,
            expected=last["seal_number_expected"],
            condition="missing",
            prev_hash=record_hash(last),
            note=note.strip(),
        )
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
        raise LostError(_("Cetak ulang hanya untuk dokumen yang tercatat hilang atau dikembalikan."))
    office = str(document["office"])
    reprinted = await office_handoff(
        ledger,
        principal,
        document,
        kind="reprinted",
        parties=(office_party(office), office_party(office)),
        scanned=None,
        expected=last["seal_number_expected"],
        condition="not_checked",
        prev_hash=record_hash(last),
        note=note.strip() or "Dokumen lama dibatalkan dan dicetak ulang.",
    )
    number = seal_number.strip().upper()
    if await ledger.records.get_or_none(f"seal:{office}:{number}") is not None:
        raise IntakeError(
            _("Segel %(number)s sudah pernah dipakai. Ambil segel baru dan pindai lagi.") % {"number": number}
        )
    await ledger.records.put(reprinted)
    return await seal_document(
        ledger, principal, document, number, office, prev_hash=record_hash(reprinted), kind="sealed"
    )
