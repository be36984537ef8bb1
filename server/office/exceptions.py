"""The exceptions queue: what staff must follow up, each with the actions that close it.

An exception is a record that shows a problem by itself (from the `reports/exceptions` view), or a finding of
the background checks (`office/findings`). Closing one writes `resolution:<kind>:<record id>` in the office
ledger — the record itself is never edited — and the queue leaves out whatever has a resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

from records.principal import Principal
from records.types import JSONDict
from server.office.attachments import PhotoState, complaint_photo, complaint_photo_url
from server.office.delivery_checks import DELIVERY_KINDS, settle_if_resolved
from server.office.ledger import Ledger, create_once, docs_by_ids, key, now_iso
from store.couch import Database

#: Kind -> (Indonesian label, allowed actions as (value, label)).
KINDS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "seal_mismatch": (
        "Nomor segel tidak cocok",
        (
            ("checked_ok", "Amplop diperiksa, isi benar"),
            ("resident_confirmed", "Penduduk mengonfirmasi terima"),
            ("reprint", "Batalkan dan cetak ulang"),
        ),
    ),
    "seal_unexpected": (
        "Segel bukan yang dipasang kantor",
        (
            ("checked_ok", "Amplop diperiksa, isi benar"),
            ("resident_confirmed", "Penduduk mengonfirmasi terima"),
            ("reprint", "Batalkan dan cetak ulang"),
        ),
    ),
    "code_mismatch": (
        "Kode penerimaan tidak cocok",
        (
            ("confirmed_by_phone", "Penduduk dihubungi: dokumen sudah diterima"),
            ("investigate", "Belum diterima: diselidiki bersama kurir"),
        ),
    ),
    "code_missing": (
        "Diserahkan tanpa kode penerimaan",
        (
            ("confirmed_by_phone", "Penduduk dihubungi: dokumen sudah diterima"),
            ("investigate", "Belum diterima: diselidiki bersama kurir"),
        ),
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
    "photo_unreadable": (
        "Foto tidak dapat dibuka",
        (("photo_rejected", "Foto ditolak sebagai bukti"), ("asked_courier", "Kurir diminta mengirim ulang")),
    ),
    "check_failed": (
        "Pemeriksaan otomatis gagal",
        (("checked_ok", "Diperiksa manual, benar"), ("investigate", "Diselidiki")),
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
    "code_mismatch",
    "code_missing",
    "seal_unexpected",
    "photo_not_arrived",
    "photo_digest",
    "photo_unreadable",
    "photo_reused",
    "gps_far",
    "chain_broken",
    "signature_invalid",
    "check_failed",
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
    #: A complaint's photo: staff judge a "broken seal" by seeing it, not by reading that one was sent.
    photo: PhotoState = None

    @property
    def photo_url(self) -> str:
        return complaint_photo_url(self.subject)

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
    if kind == "refused" and doc.get("type") == "refusal_tally":
        return _tally_detail(doc)
    if kind == "refused":
        return f"{doc.get('record_type')} {doc.get('record_id')} dari {doc.get('user')}: {doc.get('reason')}"
    if kind == "conflict":
        return f"{len(doc.get('_conflicts') or [])} revisi bertentangan."
    return ""


def _tally_detail(doc: JSONDict) -> str:
    """One user's refusals of one hour (sync/refusals.py): "23 catatan ditolak dari gojek.andi, 10:00-11:00"
    instead of 23 items, however much junk one device sends."""
    hour = str(doc.get("hour", ""))
    start = int(hour[11:13]) if hour[11:13].isdigit() else 0
    counts: JSONDict = doc["counts"] if isinstance(doc.get("counts"), dict) else {}
    codes = ", ".join(f"{code} {n}" for code, n in sorted(counts.items(), key=lambda item: -int(item[1])))
    return (
        f"{doc.get('total', 0)} catatan ditolak dari {doc.get('user')}, {hour[:10]} "
        f"{start:02d}:00-{(start + 1) % 24:02d}:00 UTC ({codes}). "
        f"{doc.get('stored', 0)} pertama disimpan utuh untuk diperiksa."
    )


#: Rows read per view request while the queue pages on past resolved items.
PAGE = 200
#: At most this many rows are read per kind and page load; older open items show once newer ones close.
MAX_SCANNED = 5000


@dataclass
class Queue:
    """Open exceptions, and the kinds whose list stopped at the limit (more are open than shown)."""

    items: list[QueueItem]
    more: set[str]


async def list_queue(ledger: Ledger, office: str, *, limit: int = 200) -> list[QueueItem]:
    """Open exceptions of one office, newest first within each kind (at most `limit` per kind)."""
    return (await open_queue(ledger, office, limit=limit)).items


async def open_queue(ledger: Ledger, office: str, *, limit: int = 200) -> Queue:
    """Open exceptions of one office, newest first within each kind, paging on past resolved ones.

    The views list every exception ever raised; resolutions live in the office ledger. Reading only the
    newest rows would hide an old open item behind a page of resolved ones, so each kind is read page by
    page (keys end in the record id, so a page resumes exactly where the last one stopped) until `limit`
    open items are found, the kind ends, or `MAX_SCANNED` rows were read.
    """
    queue = Queue(items=[], more=set())
    for kind in RECORD_KINDS:
        found, more = await _open_of_kind(
            ledger, ledger.records, "reports", "exceptions", office, kind, limit
        )
        for row in found:
            doc = row.get("doc") or {}
            document_id = doc.get("document_id") if doc.get("type") != "document" else doc.get("_id")
            if doc.get("type") == "refusal":
                document_id = (doc.get("record") or {}).get("document_id")
            queue.items.append(
                QueueItem(
                    kind,
                    str(row["id"]),
                    office,
                    str(row["key"][2]),
                    document_id,
                    _detail(kind, doc),
                    complaint_photo(doc) if kind == "complaint" else None,
                )
            )
        if more:
            queue.more.add(kind)
    for kind in FINDING_KINDS:
        found, more = await _open_of_kind(ledger, ledger.office, "office", "findings", office, kind, limit)
        for row in found:
            doc = row.get("doc") or {}
            queue.items.append(
                QueueItem(
                    kind,
                    str(doc["subject"]),
                    office,
                    str(doc["created_at"]),
                    doc.get("document_id"),
                    str(doc.get("detail", "")),
                )
            )
        if more:
            queue.more.add(kind)
    return queue


async def _open_of_kind(
    ledger: Ledger, db: Database, ddoc: str, view: str, office: str, kind: str, limit: int
) -> tuple[list[JSONDict], bool]:
    """Rows of one kind without a resolution, newest first; True when more may be open than returned."""
    found: list[JSONDict] = []
    startkey: list[object] = [office, kind, {}]
    scanned = 0
    params: dict[str, str | int | bool] = {"reduce": False, "include_docs": True, "descending": True}
    if db is ledger.records:
        params["conflicts"] = True
    while True:
        rows = (
            await db.view(
                ddoc,
                view,
                startkey=key(startkey),
                endkey=key([office, kind]),
                limit=PAGE,
                skip=1 if scanned else 0,
                **params,
            )
        )["rows"]
        scanned += len(rows)
        # A record's exception is about the record itself; a finding names the record it is about.
        subjects = [
            str(row["id"]) if db is ledger.records else str((row.get("doc") or {}).get("subject"))
            for row in rows
        ]
        resolved = await docs_by_ids(ledger.office, [f"resolution:{kind}:{subject}" for subject in subjects])
        found.extend(
            row
            for row, subject in zip(rows, subjects, strict=True)
            if f"resolution:{kind}:{subject}" not in resolved
        )
        if len(found) >= limit:
            return found[:limit], True
        if len(rows) < PAGE:
            return found, False
        if scanned >= MAX_SCANNED:
            return found, True
        startkey = rows[-1]["key"]


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
    if kind in DELIVERY_KINDS:
        await settle_if_resolved(ledger, subject)
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
