"""The cards of the exceptions queue: for each open item, the resident, the document kind, the seal and the
courier, read from its records in a few requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from records.nik import mask_nik
from records.types import JSONDict
from server.i18n import gettext as _
from server.local_time import happened_at, instant, zone_for_code
from server.office.attachments import PhotoState, complaint_photo, complaint_photo_url
from server.office.exception_kinds import FINDING_KINDS, KINDS
from server.office.finding_texts import finding_text
from server.office.item_details import item_detail
from server.office.ledger import Ledger, view_keys
from server.office.open_items import Keyed, OpenRow
from server.office.people import Person, name_of
from store.couch import Database


@dataclass
class QueueItem(Keyed):
    """One open exception, as a card names it."""

    kind: str
    subject: str  # the record the exception is about
    office: str
    time: str
    document_id: str | None
    detail: str
    #: A complaint's photo: staff judge a "broken seal" by seeing it, not by reading that one was sent.
    photo: PhotoState = None
    resident_name: str | None = None
    #: The resident's NIK, masked: the queue never shows a full one.
    nik_masked: str | None = None
    doc_kind: str | None = None
    seal: str | None = None
    courier: str | None = None
    courier_name: str | None = None
    partner: str | None = None

    @property
    def photo_url(self) -> str:
        return complaint_photo_url(self.subject)

    @property
    def label(self) -> str:
        return _(KINDS[self.kind][0])

    @property
    def actions(self) -> tuple[tuple[str, str], ...]:
        return tuple((value, _(words)) for value, words in KINDS[self.kind][1])


async def records_by_id(db: Database, ids: Iterable[str], **params: str | int | bool) -> dict[str, JSONDict]:
    """Documents by id in one request per thousand; missing and deleted ones are left out."""
    wanted = sorted(set(ids))
    found: dict[str, JSONDict] = {}
    for start in range(0, len(wanted), 1000):
        for row in await db.rows_for_keys(wanted[start : start + 1000], include_docs=True, **params):
            doc = row.get("doc")
            if doc:
                found[str(doc["_id"])] = doc
    return found


async def describe(
    ledger: Ledger, office: str, rows: list[OpenRow], people: Mapping[str, Person], zone: str | None = None
) -> list[QueueItem]:
    """The cards of `rows`: their records, documents, receipts and findings in three parallel requests (a
    fourth for the seals of documents whose record does not carry one)."""
    record_ids = {r.subject for r in rows} | {r.document_id for r in rows if r.document_id}
    receipt_ids = {f"receipt:{r.subject}" for r in rows if r.subject.startswith("handoff:")}
    records, findings, receipts = await asyncio.gather(
        records_by_id(ledger.records, record_ids, conflicts=True),
        records_by_id(ledger.office, [r.source_id for r in rows if r.kind in FINDING_KINDS]),
        records_by_id(ledger.receipts, receipt_ids),
    )
    records = {**records, **receipts}  # receipt ids never collide with record ids
    zone = zone or zone_for_code(office)
    items = [_item(office, row, records, findings.get(row.source_id), people, zone) for row in rows]
    unsealed = sorted({i.document_id for i in items if i.document_id and not i.seal})
    if unsealed:
        seals = await _current_seals(ledger, unsealed)
        for item in items:
            if not item.seal and item.document_id:
                item.seal = seals.get(item.document_id)
    return items


async def _current_seals(ledger: Ledger, document_ids: list[str]) -> dict[str, str]:
    """The seal last bound to each document (`seal:<office>:<number>`, the number read from the id)."""
    latest: dict[str, tuple[str, str]] = {}
    for row in await view_keys(ledger.records, "records", "seals_by_document", document_ids):
        bound, number = str(row.get("value") or ""), str(row["id"]).rsplit(":", 1)[-1]
        if row["key"] not in latest or instant(bound) >= instant(latest[row["key"]][0]):
            latest[str(row["key"])] = (bound, number)
    return {document_id: number for document_id, (_bound, number) in latest.items()}


def _item(
    office: str,
    row: OpenRow,
    records: Mapping[str, JSONDict],
    finding: JSONDict | None,
    people: Mapping[str, Person],
    zone: str,
) -> QueueItem:
    subject = records.get(row.subject) or {}
    document_id = row.document_id or document_of(subject)
    document = records.get(document_id or "") or {}
    if document.get("type") != "document":
        document = {}
    assignment = document.get("assignment") or {}
    courier = row.courier or assignment.get("courier")
    person = people.get(courier or "")
    receipt = records.get(f"receipt:{row.subject}") or {}
    resident = document.get("resident") or {}
    if row.kind in FINDING_KINDS:
        detail = finding_text(finding) if finding else ""
    else:
        detail = item_detail(row.kind, subject, people, zone)
    return QueueItem(
        kind=row.kind,
        subject=row.subject,
        office=office,
        time=str(happened_at(row.time, receipt.get("received_at"))),
        document_id=document_id,
        detail=detail,
        photo=complaint_photo(subject) if row.kind == "complaint" else None,
        resident_name=resident.get("name"),
        nik_masked=mask_nik(str(resident["nik"])) if resident.get("nik") else None,
        doc_kind=document.get("doc_kind"),
        seal=_seal_of(subject),
        courier=courier,
        # Who the courier is now (the office's user record), else the name the record gives them.
        courier_name=(person.name if person else name_of(courier, subject, people)) if courier else None,
        partner=(person.partner if person and person.partner else assignment.get("partner")),
    )


def document_of(record: JSONDict) -> str | None:
    if record.get("type") == "document":
        return str(record["_id"])
    if record.get("type") == "refusal":
        return (record.get("record") or {}).get("document_id")
    value = record.get("document_id")
    return str(value) if value else None


def _seal_of(record: JSONDict) -> str | None:
    if record.get("type") == "refusal":
        record = record.get("record") or {}
    value = record.get("seal_number_expected")
    return str(value) if value else None
