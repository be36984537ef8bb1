"""What a phone is sent of a record: a projection holding only what its user needs, not the stored record.

A courier carries an envelope to a door: they need the resident's name, address and phone, the kind of
document, its seal and its custody chain. They must not carry the resident's full NIK (a masked one lets
them check an identity card at the door) nor the receipt code, which is the resident's proof that the
envelope reached them. A van crew needs its schedule and its visits, not the full NIKs of the people it
recorded. Everything the gateway sends out of the records database (`_bulk_get`, document reads,
`open_revs`) goes through `project` here.

A projection keeps the stored revision's `_id` and `_rev`, so replication bookkeeping works, and says what
it is in `projection`. It can never be written back over the record: the gateway refuses any pushed record
that carries `projection` (`sync.validation`), couriers may not write documents and van crews may not
change a visit at all, so a pushed-back projection is refused and the stored record stays whole.

Handoffs keep their custody hash: a delivered handoff from before receipt codes were sealed may hold the
code in clear (`receipt_code`); its projection drops the code and carries the stored record's hash in
`custody_hash`, which the PWA uses for the next handoff's `prev_hash` instead of hashing what it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from records.custody import record_hash
from records.nik import mask_nik
from records.principal import Principal
from records.types import JSONDict

#: Name of the field that marks a projection; no record schema has it, and pushes carrying it are refused.
MARKER = "projection"

#: Replication fields kept on every projection (CouchDB's own bookkeeping).
_COUCH_FIELDS = ("_id", "_rev", "_revisions", "_conflicts", "_deleted", "_attachments")

#: The document fields a courier's phone holds, and the resident fields within. Besides the kind of document
#: only bookkeeping: `type` and `schema_version` say what the record is, `office` goes into the handoffs the
#: phone writes, `assignment` (their own) is how the phone knows the envelope is theirs. Not `delivery`, the
#: resident's choice of courier or self-pickup, which the phone has no use for.
COURIER_DOCUMENT_FIELDS = ("type", "schema_version", "office", "doc_kind", "assignment")
COURIER_RESIDENT_FIELDS = ("name", "address", "phone")


def _couch_fields(record: Mapping[str, object]) -> JSONDict:
    return {key: record[key] for key in _COUCH_FIELDS if key in record}


def courier_document(record: Mapping[str, object]) -> JSONDict:
    """A document as a courier's phone holds it: who, where, which kind; NIK masked, no receipt code."""
    projected = _couch_fields(record)
    projected.update({key: record[key] for key in COURIER_DOCUMENT_FIELDS if key in record})
    resident = record.get("resident")
    if isinstance(resident, Mapping):
        person: JSONDict = {key: resident[key] for key in COURIER_RESIDENT_FIELDS if key in resident}
        nik = resident.get("nik")
        if isinstance(nik, str):
            person["nik_masked"] = mask_nik(nik)
        projected["resident"] = person
    projected[MARKER] = "courier"
    return projected


def courier_handoff(record: Mapping[str, object]) -> JSONDict:
    """A handoff without a receipt code in clear; unchanged (not a projection) when it has none."""
    if "receipt_code" not in record:
        return dict(record)
    projected = {key: value for key, value in record.items() if key != "receipt_code"}
    projected["custody_hash"] = record_hash(record)
    projected["receipt_code_given"] = True
    projected[MARKER] = "courier"
    return projected


def van_visit(record: Mapping[str, object]) -> JSONDict:
    """A visit as the van's phone holds it once sent: the NIK masked."""
    projected = {key: value for key, value in record.items() if key != "resident_nik"}
    nik = record.get("resident_nik")
    if isinstance(nik, str):
        projected["resident_nik_masked"] = mask_nik(nik)
    projected[MARKER] = "van"
    return projected


Projector = Callable[[Mapping[str, object]], JSONDict]

#: (role, record type) -> projection. Read this table to know what a phone is sent; anything not listed
#: goes as stored (staff and admins read whole records: they work at the office, which holds them anyway).
PROJECTIONS: dict[tuple[str, str], Projector] = {
    ("courier", "document"): courier_document,
    ("courier", "handoff"): courier_handoff,
    ("van_operator", "visit"): van_visit,
}


def project(record: JSONDict, principal: Principal) -> JSONDict:
    """What `principal` is sent of `record` (which they may see: visibility is decided before)."""
    if record.get("_deleted"):
        return record
    projector = PROJECTIONS.get((principal.role, str(record.get("type"))))
    return projector(record) if projector else record
