"""Typed views of the six record types, as `schemas/*.schema.json` define them.

A record still travels as the JSON object CouchDB holds (`JSONDict`); these TypedDicts say, at the edges
where code reads one (the gateway's push path, the office pages), which fields it has and of what type, so
mypy catches a misspelt field or a string read as a number. They describe a record that passed its schema:
code that reads what a phone pushed before validation must still treat it as an unknown object.
`tests/unit/test_shapes.py` compares every TypedDict here with its JSON Schema, so the two cannot drift.

Fields the schema requires are `Required`; the rest (CouchDB's `_rev`, `_attachments`... and optional
record fields) may be absent. Nested objects get their own TypedDicts where code reads into them; CouchDB's
own bookkeeping objects stay `JSONDict`.
"""

# No `from __future__ import annotations` here: TypedDict reads `Required[...]` from the evaluated
# annotations, and on Python 3.11 a string annotation would make every field look optional.
from collections.abc import Mapping
from typing import Any, Literal, Required, TypedDict

from records.types import JSONDict

# ---- parts shared by several records (common.schema.json) ---------------------------------------------


class Place(TypedDict, total=False):
    """Where something happened, by the device's GPS."""

    lat: Required[float]
    lon: Required[float]
    accuracy_m: float


class ReceiptProof(TypedDict):
    """A receipt code sealed on the phone to the server's key (`records.receipt_proof`)."""

    alg: Literal["ECDH-ES+A256GCM"]
    kid: str
    epk: str
    iv: str
    ct: str


# ---- document -------------------------------------------------------------------------------------------


class Address(TypedDict, total=False):
    street: Required[str]
    rt: Required[str]
    rw: Required[str]
    kelurahan: Required[str]
    kecamatan: Required[str]
    city: Required[str]
    province: Required[str]
    postal_code: Required[str]
    lat: float
    lon: float


class Resident(TypedDict):
    name: str
    nik: str
    address: Address
    phone: str


Partner = Literal["gojek", "grab", "pos_indonesia", "maxim", "office"]


class Assignment(TypedDict, total=False):
    courier: Required[str]
    partner: Required[Partner]
    batch: str
    assigned_at: Required[str]


class Document(TypedDict, total=False):
    """An identity document to deliver (`document:<id>`), registered by office staff."""

    _id: Required[str]
    _rev: str
    _deleted: bool
    _attachments: JSONDict
    _revisions: JSONDict
    _conflicts: list[str]
    type: Required[Literal["document"]]
    schema_version: Required[Literal[1]]
    office: Required[str]
    created_at: Required[str]
    author: Required[str]
    doc_kind: Required[Literal["ektp", "kia", "akta_kelahiran", "kk", "surat_pindah"]]
    resident: Required[Resident]
    assignment: Assignment
    receipt_code: Required[str]
    delivery: Required[Literal["courier", "self_pickup", "undecided"]]


# ---- seal -----------------------------------------------------------------------------------------------


class Seal(TypedDict, total=False):
    """A numbered seal bound to a document's envelope (`seal:<office>:<number>`)."""

    _id: Required[str]
    _rev: str
    _deleted: bool
    _attachments: JSONDict
    _revisions: JSONDict
    _conflicts: list[str]
    type: Required[Literal["seal"]]
    schema_version: Required[Literal[1]]
    office: Required[str]
    created_at: Required[str]
    author: Required[str]
    number: Required[str]
    document_id: Required[str]
    bound_at: Required[str]


# ---- handoff --------------------------------------------------------------------------------------------


class Party(TypedDict, total=False):
    """One side of a handoff."""

    party: Required[Literal["office", "courier", "resident", "representative"]]
    id: str
    name: str


class Representative(TypedDict):
    name: str
    relation: str


class PasskeySignature(TypedDict, total=False):
    """A WebAuthn assertion over the handoff's custody hash, all fields base64url."""

    credential_id: Required[str]
    authenticator_data: Required[str]
    client_data_json: Required[str]
    signature: Required[str]
    user_handle: str


HandoffKind = Literal["sealed", "picked_up", "delivered", "failed_attempt", "returned", "lost", "reprinted"]

#: A change of custody (`handoff:<id>`). Written with the functional syntax: `from` is a Python keyword.
Handoff = TypedDict(
    "Handoff",
    {
        "_id": Required[str],
        "_rev": str,
        "_deleted": bool,
        "_attachments": JSONDict,
        "_revisions": JSONDict,
        "_conflicts": list[str],
        "type": Required[Literal["handoff"]],
        "schema_version": Required[Literal[1]],
        "office": Required[str],
        "created_at": Required[str],
        "author": Required[str],
        "document_id": Required[str],
        "seal_number_scanned": Required[str | None],
        "seal_number_expected": Required[str],
        "seal_match": Required[bool],
        "kind": Required[HandoffKind],
        "from": Required[Party],
        "to": Required[Party],
        "seal_condition": Required[Literal["intact", "damaged", "missing", "not_checked"]],
        "failure_reason": Literal["not_at_home", "address_not_found", "refused", "damaged", "other"],
        "receipt_code": str,
        "receipt_proof": ReceiptProof,
        "representative": Representative,
        "place": Place,
        "device_time": Required[str],
        "seq": Required[int],
        "photos": Required[list[str]],
        "prev_hash": Required[str | None],
        "signature": PasskeySignature,
        "unsigned_reason": str,
        "note": str,
    },
    total=False,
)


# ---- photo ----------------------------------------------------------------------------------------------


class Photo(TypedDict, total=False):
    """A photo proving a seal's state at a handoff (`photo:<id>`), its image an attachment."""

    _id: Required[str]
    _rev: str
    _deleted: bool
    _attachments: JSONDict
    _revisions: JSONDict
    _conflicts: list[str]
    type: Required[Literal["photo"]]
    schema_version: Required[Literal[1]]
    office: Required[str]
    created_at: Required[str]
    author: Required[str]
    handoff_id: Required[str]
    document_id: Required[str]
    attachment: Required[str]
    sha256: Required[str]
    content_type: Required[Literal["image/jpeg", "image/webp"]]
    size: Required[int]
    captured_at: Required[str]
    place: Place
    width: int
    height: int


# ---- visit ----------------------------------------------------------------------------------------------


class Health(TypedDict):
    operator_temperature_c: float
    applicant_temperature_c: float
    equipment_disinfected: bool
    gloves_and_masks: bool
    hand_sanitiser: bool


CaptureStatus = Literal["captured", "failed", "not_attempted"]


class Capture(TypedDict, total=False):
    status: Required[CaptureStatus]
    reason: str


class FingerprintCapture(TypedDict, total=False):
    status: Required[CaptureStatus]
    reason: str
    fingers_captured: Required[int]


class Captures(TypedDict):
    fingerprints: FingerprintCapture
    iris: Capture
    face: Capture
    signature: Capture


class Visit(TypedDict, total=False):
    """A resident's recording at a mobile van stop (`visit:<id>`): outcomes only, never biometrics."""

    _id: Required[str]
    _rev: str
    _deleted: bool
    _attachments: JSONDict
    _revisions: JSONDict
    _conflicts: list[str]
    type: Required[Literal["visit"]]
    schema_version: Required[Literal[1]]
    office: Required[str]
    created_at: Required[str]
    author: Required[str]
    van: Required[str]
    operators: Required[list[str]]
    stop_id: str
    resident_nik: Required[str]
    resident_name: Required[str]
    health: Required[Health]
    emergency_reason: str
    captures: Required[Captures]
    capture_device_serial: Required[str]
    outcome: Required[Literal["recorded", "failed", "revisit_needed"]]
    device_time: Required[str]


# ---- complaint ------------------------------------------------------------------------------------------


class Complaint(TypedDict, total=False):
    """A complaint about a document (`complaint:<id>`), from the resident page, the desk or the phone."""

    _id: Required[str]
    _rev: str
    _deleted: bool
    _attachments: JSONDict
    _revisions: JSONDict
    _conflicts: list[str]
    type: Required[Literal["complaint"]]
    schema_version: Required[Literal[1]]
    office: Required[str]
    created_at: Required[str]
    author: Required[str]
    document_id: Required[str]
    kind: Required[Literal["seal_broken", "not_received", "wrong_document", "other"]]
    description: Required[str]
    photo_attachment: str
    channel: Required[Literal["resident_page", "office_desk", "phone"]]


#: Any record a phone or the office writes, by its `type`.
Record = Document | Seal | Handoff | Photo | Visit | Complaint

#: The TypedDict of each record type, for code (and the drift test) that goes from a type name to its shape.
SHAPES: dict[str, type] = {
    "document": Document,
    "seal": Seal,
    "handoff": Handoff,
    "photo": Photo,
    "visit": Visit,
    "complaint": Complaint,
}


class NotARecordOfType(ValueError):
    """A stored object read as a record type it is not: a bug in the caller, not bad input."""


def _typed(doc: Mapping[str, Any], record_type: str) -> Any:
    if doc.get("type") != record_type:
        raise NotARecordOfType(f"{doc.get('_id')!r} is a {doc.get('type')!r}, not a {record_type}")
    return doc


# The edge: a record that passed its schema (one the gateway accepted, or one read back from the database,
# where the gateway and the office's own writes put only valid records) is read as its typed view once its
# type is confirmed.


def as_document(doc: Mapping[str, Any]) -> Document:
    typed: Document = _typed(doc, "document")
    return typed


def as_seal(doc: Mapping[str, Any]) -> Seal:
    typed: Seal = _typed(doc, "seal")
    return typed


def as_handoff(doc: Mapping[str, Any]) -> Handoff:
    typed: Handoff = _typed(doc, "handoff")
    return typed
