"""The exceptions queue: what staff must follow up, each with the actions that close it.

An exception is a record that shows a problem by itself (from the `reports/exceptions` view), or a finding of
the background checks (`office/findings`). Closing one writes `resolution:<kind>:<record id>` in the office
ledger — the record itself is never edited — and the queue leaves out whatever has a resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.office.ledger import Ledger, create_once, docs_by_ids, key, now_iso
from sync.principal import Principal
from sync.types import JSONDict

#: Kind -> (Indonesian label, allowed actions as (value, label)).
KINDS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "seal_mismatch": (
        "Nomor segel tidak cocok",
        (("checked_ok", "Amplop diperiksa, isi benar"), ("reprint", "Batalkan dan cetak ulang")),
    ),
    "seal_damaged": (
        "Segel rusak atau hilang",
        (("checked_ok", "Amplop diperiksa, isi benar"), ("reprint", "Batalkan dan cetak ulang")),
    ),
    "photo_missing": (
        "Foto segel tidak ada",
        (
            ("accepted_without_photo", "Terima tanpa foto (beri alasan)"),
            ("asked_courier", "Kurir diminta mengirim foto"),
        ),
    ),
    "photo_not_arrived": (
        "Foto segel tidak pernah sampai",
        (
            ("accepted_without_photo", "Terima tanpa foto (beri alasan)"),
            ("asked_courier", "Kurir diminta mengirim foto"),
        ),
    ),
    "photo_digest": (
        "Foto tidak sesuai sidiknya",
        (("photo_rejected", "Foto ditolak sebagai bukti"), ("asked_courier", "Kurir diminta menjelaskan")),
    ),
    "photo_reused": (
        "Foto yang sama dipakai ulang",
        (("courier_warned", "Kurir ditegur dan diperiksa"), ("false_alarm", "Bukan foto yang sama")),
    ),
    "gps_far": (
        "Lokasi penyerahan jauh dari alamat",
        (
            ("resident_confirmed", "Penduduk mengonfirmasi terima"),
            ("investigate", "Diselidiki bersama mitra"),
        ),
    ),
    "chain_broken": (
        "Rantai serah terima putus",
        (("investigate", "Diselidiki"), ("explained", "Sudah dijelaskan")),
    ),
    "unsigned": (
        "Serah terima tanpa tanda tangan",
        (("accepted_unsigned", "Diterima: alasan masuk akal"), ("investigate", "Diselidiki bersama kurir")),
    ),
    "signature_invalid": (
        "Tanda tangan tidak sah",
        (("investigate", "Diselidiki"), ("explained", "Sudah dijelaskan")),
    ),
    "refused": ("Catatan ditolak gateway", (("explained", "Sudah ditindaklanjuti dengan pengirim"),)),
    "complaint": (
        "Pengaduan penduduk",
        (("answered", "Sudah ditanggapi"), ("reprint", "Cetak ulang dan kirim lagi")),
    ),
    "conflict": ("Konflik sinkronisasi", ()),
}
RECORD_KINDS = (
    "seal_mismatch",
    "seal_damaged",
    "photo_missing",
    "unsigned",
    "complaint",
    "conflict",
    "refused",
)
FINDING_KINDS = (
    "photo_not_arrived",
    "photo_digest",
    "photo_reused",
    "gps_far",
    "chain_broken",
    "signature_invalid",
)


class ResolutionError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class QueueItem:
    kind: str
    subject: str  # the record the exception is about
    office: str
    time: str
    document_id: str | None
    detail: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.subject}"

    @property
    def label(self) -> str:
        return KINDS[self.kind][0]

    @property
    def actions(self) -> tuple[tuple[str, str], ...]:
        return KINDS[self.kind][1]


def _detail(kind: str, doc: JSONDict) -> str:
    if kind == "seal_mismatch":
        return (
            f"Dipindai {doc.get('seal_number_scanned') or '-'}, seharusnya {doc.get('seal_number_expected')}."
        )
    if kind == "seal_damaged":
        return f"Segel {doc.get('seal_condition')} saat {doc.get('kind')} oleh {doc.get('author')}."
    if kind == "photo_missing":
        return "Catatan tanpa foto segel." if doc.get("type") == "handoff" else "Foto belum sampai di server."
    if kind == "complaint":
        return f"{doc.get('kind')}: {doc.get('description')}"
    if kind == "unsigned":
        return f"{doc.get('kind')} oleh {doc.get('author')} tanpa passkey: {doc.get('unsigned_reason')}"
    if kind == "refused":
        return f"{doc.get('record_type')} {doc.get('record_id')} dari {doc.get('user')}: {doc.get('reason')}"
    if kind == "conflict":
        return f"{len(doc.get('_conflicts') or [])} revisi bertentangan."
    return ""


async def list_queue(ledger: Ledger, office: str, *, limit: int = 200) -> list[QueueItem]:
    """Open exceptions of one office, newest first within each kind."""
    items: list[QueueItem] = []
    for kind in RECORD_KINDS:
        rows = await ledger.records.view(
            "reports",
            "exceptions",
            startkey=key([office, kind, {}]),
            endkey=key([office, kind]),
            descending=True,
            reduce=False,
            include_docs=True,
            conflicts=True,
            limit=limit,
        )
        for row in rows["rows"]:
            doc = row.get("doc") or {}
            document_id = doc.get("document_id") if doc.get("type") != "document" else doc.get("_id")
            if doc.get("type") == "refusal":
                document_id = (doc.get("record") or {}).get("document_id")
            items.append(
                QueueItem(kind, str(row["id"]), office, str(row["key"][2]), document_id, _detail(kind, doc))
            )
    for kind in FINDING_KINDS:
        rows = await ledger.office.view(
            "office",
            "findings",
            startkey=key([office, kind, {}]),
            endkey=key([office, kind]),
            descending=True,
            reduce=False,
            include_docs=True,
            limit=limit,
        )
        for row in rows["rows"]:
            doc = row.get("doc") or {}
            items.append(
                QueueItem(
                    kind,
                    str(doc["subject"]),
                    office,
                    str(doc["created_at"]),
                    doc.get("document_id"),
                    str(doc.get("detail", "")),
                )
            )
    resolved = await docs_by_ids(ledger.office, [f"resolution:{item.key}" for item in items])
    return [item for item in items if f"resolution:{item.key}" not in resolved]


async def resolve(
    ledger: Ledger, principal: Principal, kind: str, subject: str, action: str, note: str
) -> JSONDict:
    """Close one exception with an action and a note; refuses unknown actions and other offices' records."""
    if kind not in KINDS or kind == "conflict":
        raise ResolutionError("Jenis pengecualian ini diselesaikan di halaman konflik, bukan di sini.")
    if action not in dict(KINDS[kind][1]):
        raise ResolutionError("Pilih salah satu tindakan yang tersedia.")
    if len(note.strip()) < 5:
        raise ResolutionError("Tulis catatan singkat (minimal 5 huruf) tentang apa yang Anda lakukan.")
    office, document_id = await _subject_office(ledger, kind, subject)
    if office is None or not principal.can_act_for_office(office):
        raise ResolutionError("Pengecualian ini tidak ditemukan di kantor Anda.")
    resolution: JSONDict = {
        "_id": f"resolution:{kind}:{subject}",
        "type": "resolution",
        "kind": kind,
        "subject": subject,
        "action": action,
        "note": note.strip(),
        "office": office,
        "author": principal.user_id,
        "created_at": now_iso(),
    }
    if document_id:
        resolution["document_id"] = document_id
    if not await create_once(ledger.office, resolution):
        raise ResolutionError("Pengecualian ini sudah diselesaikan oleh petugas lain.")
    return resolution


async def _subject_office(ledger: Ledger, kind: str, subject: str) -> tuple[str | None, str | None]:
    if kind in FINDING_KINDS:
        finding = await ledger.office.get_or_none(f"finding:{kind}:{subject}")
        if finding is None:
            return None, None
        return str(finding["office"]), finding.get("document_id")
    doc = await ledger.records.get_or_none(subject)
    if doc is None:
        return None, None
    return str(doc.get("office")), doc.get("document_id")
