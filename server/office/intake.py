"""Intake: finished documents enter custody — registered, sealed, and assigned to a courier.

Registration comes from the desk form or a CSV export of the office's print system; each row is checked with
the same schema the gateway uses, and rejected rows come back with their reasons so the desk can fix them.
Binding a seal writes the seal record and the document's first custody event (`sealed`, no previous hash),
recorded by the staff member; the server cannot sign with their passkey, so it says why it is unsigned.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from records.principal import Principal
from records.schemas import RecordError, validate_record
from records.types import JSONDict
from server.i18n import gettext as _
from server.office.ledger import Ledger, create_once, docs_by_ids, new_id, now_iso, records_of_document
from server.problems import problem_line, reason
from store.couch import CouchConflict, CouchNotFound

RECEIPT_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
UNSIGNED_BY_OFFICE = "dicatat oleh petugas kantor di meja layanan (tanpa passkey)"
#: CSV columns, in the order the desk template lists them; `lat`/`lon`/`delivery` may be empty.
CSV_COLUMNS = (
    "doc_kind",
    "name",
    "nik",
    "phone",
    "street",
    "rt",
    "rw",
    "kelurahan",
    "kecamatan",
    "city",
    "province",
    "postal_code",
    "lat",
    "lon",
    "delivery",
)
PARTNERS = ("gojek", "grab", "pos_indonesia", "maxim", "office")


class IntakeError(Exception):
    """An intake step that cannot be done; `reason` is shown to the staff member as is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class ImportReport:
    """The outcome of a CSV import: rows written, and rows refused with their line number and reasons."""

    accepted: list[JSONDict] = field(default_factory=list)
    rejected: list[tuple[int, list[str]]] = field(default_factory=list)


def receipt_code() -> str:
    return "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(6))


def _number(raw: str) -> float | str:
    try:
        return float(raw)
    except ValueError:
        return raw  # left as text so the schema names the field


def document_from_fields(
    fields: Mapping[str, str], office: str, author: str
) -> tuple[JSONDict, list[RecordError]]:
    """Build a document record from flat form/CSV fields and check it against the schema."""
    value = {key: (fields.get(key) or "").strip() for key in CSV_COLUMNS}
    address: JSONDict = {
        key: value[key]
        for key in ("street", "rt", "rw", "kelurahan", "kecamatan", "city", "province", "postal_code")
    }
    if value["lat"] or value["lon"]:
        address["lat"] = _number(value["lat"])
        address["lon"] = _number(value["lon"])
    doc: JSONDict = {
        "_id": f"document:{new_id()}",
        "type": "document",
        "schema_version": 1,
        "office": office,
        "created_at": now_iso(),
        "author": author,
        "doc_kind": value["doc_kind"],
        "resident": {"name": value["name"], "nik": value["nik"], "address": address, "phone": value["phone"]},
        "receipt_code": receipt_code(),
        "delivery": value["delivery"] or "undecided",
    }
    return doc, validate_record(doc)


def parse_csv(text: str, office: str, author: str) -> ImportReport:
    """Check every row of a CSV export; nothing is written here."""
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [column for column in CSV_COLUMNS[:12] if column not in (reader.fieldnames or [])]
    if missing:
        raise IntakeError(
            _("Kolom CSV kurang: %(columns)s. Unduh contoh CSV di halaman ini dan ikuti urutannya.")
            % {"columns": ", ".join(missing)}
        )
    for line, row in enumerate(reader, start=2):
        doc, errors = document_from_fields(row, office, author)
        if errors:
            report.rejected.append((line, [problem_line(e) if e.field else reason(e) for e in errors]))
        else:
            report.accepted.append(doc)
    return report


async def register_documents(ledger: Ledger, docs: list[JSONDict]) -> None:
    if docs:
        await ledger.records.bulk_docs(docs)


async def office_document(ledger: Ledger, principal: Principal, document_id: str) -> JSONDict:
    """The document, if it exists and the principal may act for its office; otherwise a 'not found' error.

    Another office's document is reported as not found, so its existence is not revealed.
    """
    doc = await ledger.records.get_or_none(document_id) if document_id.startswith("document:") else None
    if doc is None or doc.get("type") != "document" or not principal.can_act_for_office(str(doc["office"])):
        raise IntakeError(_("Dokumen tidak ditemukan di kantor Anda. Periksa nomornya."))
    return doc


async def next_seq(ledger: Ledger, author: str, handoff_id: str) -> int:
    """The author's next handoff sequence number, claimed the way the sync gateway claims pushed ones.

    A counter in the office ledger proposes a number; creating `seqclaim:<author>:<seq>` in the receipts
    database (where the gateway claims them too) makes it this handoff's own, so a number a phone already
    used is never shared.
    """
    counter_id = f"seq:{author}"
    for _attempt in range(50):
        doc = await ledger.office.get_or_none(counter_id) or {"_id": counter_id, "type": "seq", "value": 0}
        doc["value"] = int(doc["value"]) + 1
        try:
            await ledger.office.put(doc)
        except CouchConflict:
            continue
        claim = {
            "_id": f"seqclaim:{author}:{doc['value']}",
            "type": "seq_claim",
            "handoff_id": handoff_id,
            "claimed_at": now_iso(),
        }
        if await create_once(ledger.receipts, claim):
            return int(doc["value"])
    raise IntakeError(_("Sistem sedang sibuk; coba lagi sebentar lagi."))


def office_party(office: str) -> JSONDict:
    return {"party": "office", "id": office}


async def bind_seal(ledger: Ledger, principal: Principal, document_id: str, seal_number: str) -> JSONDict:
    """Write the seal record and the `sealed` handoff; returns the handoff.

    The seal id is derived from its number, so CouchDB itself refuses a seal already used at this office.
    """
    document = await office_document(ledger, principal, document_id)
    number = seal_number.strip().upper()
    office = str(document["office"])
    existing = await sealed_number(ledger, document_id)
    if existing:
        raise IntakeError(
            _("Dokumen ini sudah disegel dengan segel %(seal)s. Untuk segel baru, catat cetak ulang.")
            % {"seal": existing}
        )
    return await seal_document(ledger, principal, document, number, office, prev_hash=None, kind="sealed")


async def seal_document(
    ledger: Ledger,
    principal: Principal,
    document: JSONDict,
    number: str,
    office: str,
    *,
    prev_hash: str | None,
    kind: str,
    note: str | None = None,
) -> JSONDict:
    now = now_iso()
    seal: JSONDict = {
        "_id": f"seal:{office}:{number}",
        "type": "seal",
        "schema_version": 1,
        "office": office,
        "created_at": now,
        "author": principal.user_id,
        "number": number,
        "document_id": document["_id"],
        "bound_at": now,
    }
    errors = validate_record(seal)
    if errors:
        raise IntakeError(
            _("Nomor segel %(number)r tidak valid: 2 huruf besar lalu 6-10 angka, mis. BP00012345.")
            % {"number": number}
        )
    if not await create_once(ledger.records, seal):
        raise IntakeError(
            _("Segel %(number)s sudah pernah dipakai. Ambil segel baru dan pindai lagi.") % {"number": number}
        )
    handoff = await office_handoff(
        ledger,
        principal,
        document,
        kind=kind,
        parties=(office_party(office), office_party(office)),
        scanned=number,
        expected=number,
        condition="intact",
        prev_hash=prev_hash,
        note=note,
    )
    await ledger.records.put(handoff)
    return handoff


async def office_handoff(
    ledger: Ledger,
    principal: Principal,
    document: JSONDict,
    *,
    kind: str,
    parties: tuple[JSONDict, JSONDict],
    scanned: str | None,
    expected: str,
    condition: str,
    prev_hash: str | None,
    note: str | None = None,
) -> JSONDict:
    """A handoff that staff record on the server rather than on a phone (sealing at the desk, a loss
    reported to the office, a reprint): numbered in the author's sequence, unsigned with the desk's reason,
    checked against the schema; the caller stores it."""
    now = now_iso()
    handoff_id = f"handoff:{new_id()}"
    giver, taker = parties
    handoff: JSONDict = {
        "_id": handoff_id,
        "type": "handoff",
        "schema_version": 1,
        "office": document["office"],
        "created_at": now,
        "author": principal.user_id,
        "document_id": document["_id"],
        "seal_number_scanned": scanned,
        "seal_number_expected": expected,
        "seal_match": scanned is not None and scanned == expected,
        "kind": kind,
        "from": giver,
        "to": taker,
        "seal_condition": condition,
        "device_time": now,
        "seq": await next_seq(ledger, principal.user_id, handoff_id),
        "photos": [],
        "prev_hash": prev_hash,
        "unsigned_reason": UNSIGNED_BY_OFFICE,
    }
    if note:
        handoff["note"] = note[:500]
    errors = validate_record(handoff)
    if errors:  # a programming error, not user input: say what to report
        raise IntakeError(
            _("Catatan serah terima tidak valid (%(errors)s); laporkan ke admin.") % {"errors": errors[0]}
        )
    return handoff


async def sealed_number(ledger: Ledger, document_id: str) -> str | None:
    """The seal number currently expected for a document (the latest seal bound to it), if any."""
    number = None
    for doc in await records_of_document(ledger, document_id):
        if doc.get("type") == "seal":
            number = str(doc["number"])
    return number


async def assign(
    ledger: Ledger,
    principal: Principal,
    document_ids: list[str],
    courier: str,
    partner: str,
    batch: str | None,
    *,
    office: str | None = None,
) -> list[str]:
    """Assign documents to a courier (and batch); returns the ids changed. Refuses all if one is invalid.

    The pages pass a courier checked by `server.office.assignees` (a real, active courier of `office`, with
    the partner from their own record); `office` then also refuses documents of any other office, so an
    admin's page for one office cannot hand another office's documents to its couriers.
    """
    if partner not in PARTNERS:
        raise IntakeError(
            _("Mitra %(partner)r tidak dikenal; pilih salah satu: %(known)s.")
            % {"partner": partner, "known": ", ".join(PARTNERS)}
        )
    found = await docs_by_ids(ledger.records, document_ids)
    updated: list[JSONDict] = []
    for doc_id in document_ids:
        doc = found.get(doc_id)
        if (
            doc is None
            or doc.get("type") != "document"
            or not principal.can_act_for_office(str(doc["office"]))
            or (office is not None and doc["office"] != office)
        ):
            raise IntakeError(
                _("Dokumen %(doc_id)s tidak ditemukan di kantor Anda; tidak ada yang diubah.")
                % {"doc_id": doc_id}
            )
        assignment: JSONDict = {"courier": courier.strip(), "partner": partner, "assigned_at": now_iso()}
        if batch:
            assignment["batch"] = batch.strip()
        changed = {**doc, "assignment": assignment}
        if changed.get("delivery") == "undecided":
            changed["delivery"] = "courier"
        errors = validate_record(changed)
        if errors:
            raise IntakeError(
                _("Penugasan tidak valid: %(errors)s. Tidak ada yang diubah.") % {"errors": errors[0]}
            )
        updated.append(changed)
    results = await ledger.records.bulk_docs(updated)
    failed = [r for r in results if r.get("error")]
    if failed:
        raise IntakeError(
            _("Sebagian dokumen berubah di tempat lain saat ini; muat ulang halaman dan coba lagi.")
        )
    return [str(doc["_id"]) for doc in updated]


async def choose_delivery(ledger: Ledger, document_id: str, choice: str) -> JSONDict:
    """The resident's own choice: self-pickup or courier delivery (the office never forces either)."""
    if choice not in ("courier", "self_pickup"):
        raise IntakeError(_("Pilihan tidak dikenal: pilih diantar kurir atau ambil sendiri."))
    try:
        doc = await ledger.records.get(document_id)
    except CouchNotFound as exc:
        raise IntakeError(_("Dokumen tidak ditemukan.")) from exc
    doc["delivery"] = choice
    await ledger.records.put(doc)
    return doc
