"""The exceptions queue: what staff must follow up, each with the actions that close it.

An exception is a record that shows a problem by itself (from the `reports/exceptions` view), or a finding of
the background checks (`office/findings`). Closing one writes `resolution:<kind>:<record id>` in the office
ledger — the record itself is never edited — and the queue leaves out whatever has a resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

from records.principal import Principal
from records.types import JSONDict
from server.i18n import LABELS, N_, label
from server.i18n import gettext as _
from server.office.attachments import PhotoState, complaint_photo, complaint_photo_url
from server.office.delivery_checks import DELIVERY_KINDS, settle_if_resolved
from server.office.ledger import Ledger, create_once, docs_by_ids, key, now_iso
from store.couch import Database

#: Kind -> (Indonesian label, allowed actions as (value, label)).
KINDS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "seal_mismatch": (
        N_("Nomor segel tidak cocok"),
        (
            ("checked_ok", N_("Amplop diperiksa, isi benar")),
            ("resident_confirmed", N_("Penduduk mengonfirmasi terima")),
            ("reprint", N_("Batalkan dan cetak ulang")),
        ),
    ),
    "seal_unexpected": (
        N_("Segel bukan yang dipasang kantor"),
        (
            ("checked_ok", N_("Amplop diperiksa, isi benar")),
            ("resident_confirmed", N_("Penduduk mengonfirmasi terima")),
            ("reprint", N_("Batalkan dan cetak ulang")),
        ),
    ),
    "code_mismatch": (
        N_("Kode penerimaan tidak cocok"),
        (
            ("confirmed_by_phone", N_("Penduduk dihubungi: dokumen sudah diterima")),
            ("investigate", N_("Belum diterima: diselidiki bersama kurir")),
        ),
    ),
    "code_missing": (
        N_("Diserahkan tanpa kode penerimaan"),
        (
            ("confirmed_by_phone", N_("Penduduk dihubungi: dokumen sudah diterima")),
            ("investigate", N_("Belum diterima: diselidiki bersama kurir")),
        ),
    ),
    "seal_damaged": (
        N_("Segel rusak atau hilang"),
        (("checked_ok", N_("Amplop diperiksa, isi benar")), ("reprint", N_("Batalkan dan cetak ulang"))),
    ),
    "photo_missing": (
        N_("Foto segel tidak ada"),
        (
            ("accepted_without_photo", N_("Terima tanpa foto (beri alasan)")),
            ("asked_courier", N_("Kurir diminta mengirim foto")),
        ),
    ),
    "photo_not_arrived": (
        N_("Foto segel tidak pernah sampai"),
        (
            ("accepted_without_photo", N_("Terima tanpa foto (beri alasan)")),
            ("asked_courier", N_("Kurir diminta mengirim foto")),
        ),
    ),
    "photo_digest": (
        N_("Foto tidak sesuai sidiknya"),
        (
            ("photo_rejected", N_("Foto ditolak sebagai bukti")),
            ("asked_courier", N_("Kurir diminta menjelaskan")),
        ),
    ),
    "photo_unreadable": (
        N_("Foto tidak dapat dibuka"),
        (
            ("photo_rejected", N_("Foto ditolak sebagai bukti")),
            ("asked_courier", N_("Kurir diminta mengirim ulang")),
        ),
    ),
    "check_failed": (
        N_("Pemeriksaan otomatis gagal"),
        (("checked_ok", N_("Diperiksa manual, benar")), ("investigate", N_("Diselidiki"))),
    ),
    "photo_reused": (
        N_("Foto yang sama dipakai ulang"),
        (("courier_warned", N_("Kurir ditegur dan diperiksa")), ("false_alarm", N_("Bukan foto yang sama"))),
    ),
    "gps_far": (
        N_("Lokasi penyerahan jauh dari alamat"),
        (
            ("resident_confirmed", N_("Penduduk mengonfirmasi terima")),
            ("investigate", N_("Diselidiki bersama mitra")),
        ),
    ),
    "chain_broken": (
        N_("Rantai serah terima putus"),
        (("investigate", N_("Diselidiki")), ("explained", N_("Sudah dijelaskan"))),
    ),
    "unsigned": (
        N_("Serah terima tanpa tanda tangan"),
        (
            ("accepted_unsigned", N_("Diterima: alasan masuk akal")),
            ("investigate", N_("Diselidiki bersama kurir")),
        ),
    ),
    "signature_invalid": (
        N_("Tanda tangan tidak sah"),
        (("investigate", N_("Diselidiki")), ("explained", N_("Sudah dijelaskan"))),
    ),
    "refused": (N_("Catatan ditolak gateway"), (("explained", N_("Sudah ditindaklanjuti dengan pengirim")),)),
    "complaint": (
        N_("Pengaduan penduduk"),
        (("answered", N_("Sudah ditanggapi")), ("reprint", N_("Cetak ulang dan kirim lagi"))),
    ),
    "conflict": (N_("Konflik sinkronisasi"), ()),
}
#: The words for each kind and each action, for the pages that name them (the timeline, "more open for").
LABELS["exception"] = {kind: words for kind, (words, _actions) in KINDS.items()}
LABELS["settlement"] = {value: words for _words, actions in KINDS.values() for value, words in actions}
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
        return _(KINDS[self.kind][0])

    @property
    def actions(self) -> tuple[tuple[str, str], ...]:
        return tuple((value, _(words)) for value, words in KINDS[self.kind][1])


def _who(doc: JSONDict) -> str:
    """The name of who recorded a handoff, when the record carries it (its from/to party), else their id."""
    author = doc.get("author")
    for side in ("from", "to"):
        party = doc.get(side)
        if isinstance(party, dict) and party.get("id") == author and party.get("name"):
            return str(party["name"])
    return str(author or "-")


def _detail(kind: str, doc: JSONDict) -> str:
    if kind == "seal_mismatch":
        return _("Dipindai %(scanned)s, seharusnya %(expected)s.") % {
            "scanned": doc.get("seal_number_scanned") or "-",
            "expected": doc.get("seal_number_expected"),
        }
    if kind == "seal_damaged":
        return _("Segel %(condition)s saat %(event)s oleh %(who)s.") % {
            "condition": label("seal_condition", doc.get("seal_condition")),
            "event": label("handoff", doc.get("kind")).lower(),
            "who": _who(doc),
        }
    if kind == "photo_missing":
        return (
            _("Catatan tanpa foto segel.")
            if doc.get("type") == "handoff"
            else _("Foto belum sampai di server.")
        )
    if kind == "complaint":
        return f"{label('complaint', doc.get('kind'))}: {doc.get('description')}"
    if kind == "unsigned":
        return _("%(event)s oleh %(who)s tanpa passkey: %(reason)s") % {
            "event": label("handoff", doc.get("kind")),
            "who": _who(doc),
            "reason": doc.get("unsigned_reason"),
        }
    if kind == "refused" and doc.get("type") == "refusal_tally":
        return _tally_detail(doc)
    if kind == "refused":
        return _("%(what)s %(id)s dari %(user)s: %(reason)s") % {
            "what": label("record_type", doc.get("record_type")),
            "id": doc.get("record_id"),
            "user": doc.get("user"),
            "reason": doc.get("reason"),
        }
    if kind == "conflict":
        return _("%(n)s revisi bertentangan.") % {"n": len(doc.get("_conflicts") or [])}
    return ""


def _tally_detail(doc: JSONDict) -> str:
    """One user's refusals of one hour (sync/refusals.py): "23 catatan ditolak dari gojek.andi, 10:00-11:00"
    instead of 23 items, however much junk one device sends."""
    hour = str(doc.get("hour", ""))
    start = int(hour[11:13]) if hour[11:13].isdigit() else 0
    counts: JSONDict = doc["counts"] if isinstance(doc.get("counts"), dict) else {}
    codes = ", ".join(f"{code} {n}" for code, n in sorted(counts.items(), key=lambda item: -int(item[1])))
    return _(
        "%(total)s catatan ditolak dari %(user)s, %(day)s %(hours)s UTC (%(codes)s). "
        "%(stored)s pertama disimpan utuh untuk diperiksa."
    ) % {
        "total": doc.get("total", 0),
        "user": doc.get("user"),
        "day": hour[:10],
        "hours": f"{start:02d}:00-{(start + 1) % 24:02d}:00",
        "codes": codes,
        "stored": doc.get("stored", 0),
    }


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
        raise ResolutionError(_("Jenis pengecualian ini diselesaikan di halaman konflik, bukan di sini."))
    if action not in dict(KINDS[kind][1]):
        raise ResolutionError(_("Pilih salah satu tindakan yang tersedia."))
    if len(note.strip()) < 5:
        raise ResolutionError(_("Tulis catatan singkat (minimal 5 huruf) tentang apa yang Anda lakukan."))
    office, document_id = await _subject_office(ledger, kind, subject)
    if office is None or not principal.can_act_for_office(office):
        raise ResolutionError(_("Pengecualian ini tidak ditemukan di kantor Anda."))
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
        raise ResolutionError(_("Pengecualian ini sudah diselesaikan oleh petugas lain."))
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
