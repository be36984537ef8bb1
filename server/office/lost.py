"""Lost documents: the courier's liability, the reprint, a new seal and a new delivery, all in the timeline.

Recording a loss writes a `lost` handoff chained to the last one (unless the courier already reported it),
a `liability:<id>` record naming the courier and partner who held the envelope, and a `reprint_request`.
The reprint writes a `reprinted` handoff and then binds a new seal with a `sealed` handoff chained after
it, so the one custody chain tells the whole story; a new delivery is then a normal assignment.

A loss a courier reported from the phone reaches the exceptions queue, where `settle_loss` records the same
liability (or finds the one recorded at the desk) and, when staff have the new seal at hand, the reprint.
"""

from __future__ import annotations

import re

from records.custody import record_hash
from records.principal import Principal
from records.types import JSONDict
from server.i18n import N_
from server.i18n import gettext as _
from server.office.intake import IntakeError, office_handoff, office_party, seal_document
from server.office.ledger import Ledger, create_once, new_id, now_iso
from server.office.timeline import load_timeline

#: A seal number as printed on the seals: two capital letters, then 6-10 digits.
SEAL_NUMBER = re.compile(r"^[A-Z]{2}[0-9]{6,10}$")
SEAL_FORMAT_REASON = N_("Nomor segel baru: 2 huruf lalu 6–10 angka, mis. BP00012345. Pindai segelnya lagi.")


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
    return await _write_liability(
        ledger,
        principal,
        document,
        courier=holder.get("id"),
        seal_number=last["seal_number_expected"],
        note=note,
    )


async def _write_liability(
    ledger: Ledger,
    principal: Principal,
    document: JSONDict,
    *,
    courier: object,
    seal_number: object,
    note: str,
    liability_id: str | None = None,
    reprint_status: str = "requested",
) -> JSONDict:
    """The courier's liability for the envelope sealed with `seal_number`, and the reprint it calls for.
    With a fixed `liability_id` a second call (a retry, another officer at the same moment) finds the
    first one's record instead of writing another."""
    assignment = document.get("assignment") or {}
    liability: JSONDict = {
        "_id": liability_id or f"liability:{new_id()}",
        "type": "liability",
        "office": document["office"],
        "document_id": document["_id"],
        "courier": courier,
        "partner": assignment.get("partner"),
        "seal_number": seal_number,
        "note": note.strip(),
        "author": principal.user_id,
        "created_at": now_iso(),
    }
    if not await create_once(ledger.office, liability):
        existing: JSONDict = await ledger.office.get(str(liability["_id"]))
        return existing
    await ledger.office.put(
        {
            "_id": f"reprint_request:{new_id()}",
            "type": "reprint_request",
            "office": document["office"],
            "document_id": document["_id"],
            "liability_id": liability["_id"],
            "status": reprint_status,
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
    number = seal_number.strip().upper().replace(" ", "")
    if not SEAL_NUMBER.match(number):
        raise LostError(_(SEAL_FORMAT_REASON))
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
    if await ledger.records.get_or_none(f"seal:{office}:{number}") is not None:
        raise IntakeError(
            _("Segel %(number)s sudah pernah dipakai. Ambil segel baru dan pindai lagi.") % {"number": number}
        )
    await ledger.records.put(reprinted)
    return await seal_document(
        ledger, principal, document, number, office, prev_hash=record_hash(reprinted), kind="sealed"
    )


async def settle_loss(
    ledger: Ledger, principal: Principal, handoff: JSONDict, action: str, note: str, seal_number: str
) -> JSONDict:
    """Settle the loss `handoff` from the exceptions queue; returns what its resolution records of it.

    Always the courier's liability: the one already recorded for this envelope (at the desk), else a new one
    named after the handoff, so a retry finds it. With "lost_reprinted" also the reprint, sealed with
    `seal_number`. Everything a reprint could refuse (the seal's format, a seal already used, a document
    no longer lost) is checked before anything is written.
    """
    document = await ledger.records.get_or_none(str(handoff["document_id"]))
    if document is None or document.get("type") != "document":
        raise LostError(_("Dokumen dari laporan hilang ini tidak ditemukan; laporkan ke admin."))
    timeline = await load_timeline(ledger, document)
    number = seal_number.strip().upper().replace(" ", "")
    if action == "lost_reprinted":
        if not SEAL_NUMBER.match(number):
            raise LostError(_(SEAL_FORMAT_REASON))
        if await ledger.records.get_or_none(f"seal:{document['office']}:{number}") is not None:
            raise LostError(
                _("Segel %(number)s sudah pernah dipakai. Ambil segel baru dan pindai lagi.")
                % {"number": number}
            )
        last = timeline.last_handoff
        if last is None or last.get("kind") not in ("lost", "returned"):
            raise LostError(
                _(
                    "Dokumen ini tidak lagi tercatat hilang (sudah dicetak ulang?); "
                    "pilih “cetak ulang nanti” untuk mencatat tanggung jawab saja."
                )
            )
    holder = (
        handoff.get("from") if (handoff.get("from") or {}).get("party") == "courier" else handoff.get("to")
    )
    courier = (holder or {}).get("id")
    seal = handoff.get("seal_number_expected")
    liability = next(
        (
            e
            for e in timeline.office_entries
            if e.get("type") == "liability" and e.get("seal_number") == seal and e.get("courier") == courier
        ),
        None,
    ) or await _write_liability(
        ledger,
        principal,
        document,
        courier=courier,
        seal_number=seal,
        note=note,
        liability_id=f"liability:{str(handoff['_id']).removeprefix('handoff:')}",
        reprint_status="done" if action == "lost_reprinted" else "requested",
    )
    settled: JSONDict = {
        "liability_id": liability["_id"],
        "courier": liability.get("courier"),
        "partner": liability.get("partner"),
    }
    if action == "lost_reprinted":
        await record_reprint(ledger, principal, document, number, note)
        settled["new_seal"] = number
    return settled
