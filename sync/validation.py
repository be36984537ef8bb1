"""What may be pushed: the write rules of the sync gateway, as pure functions over one pushed revision.

A phone pushes with `_bulk_docs` and `new_edits=false`, so every revision arrives with its `_rev` and
history. `check_record` decides, from the revision, the principal and what the database already holds
(gathered by `sync/replication.py`), whether it is refused, and why in words a courier can act on.

Order matters: an exact revision the database already holds is always accepted (it is a retry after a
lost answer; refusing it would show a courier a refusal for a record that is safely stored), before any
rule that depends on today's assignments.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Literal

from records.images import ImageError, read_header
from records.principal import Principal
from records.schemas import RECORD_TYPES, RecordError, validate_record
from records.texts import in_both
from sync.projection import MARKER

#: Which record types each role may write.
WRITABLE_TYPES: dict[str, frozenset[str]] = {
    "courier": frozenset({"handoff", "photo"}),
    "van_operator": frozenset({"visit"}),
    "staff": frozenset({"document", "seal", "handoff", "photo", "complaint"}),
    "admin": frozenset(RECORD_TYPES),
}
#: Record types a client may read by id (the van schedule is pulled, never pushed).
READABLE_TYPES = frozenset({*RECORD_TYPES, "stop"})
#: Records that are written once and never changed or deleted (custody evidence).
APPEND_ONLY_TYPES = frozenset({"handoff", "visit", "photo"})
#: Records that may carry an image attachment, and which one.
IMAGE_TYPES = frozenset({"image/jpeg", "image/webp"})
MAX_IMAGE_BYTES = 5 * 1024 * 1024

_ID = re.compile(r"^(?P<type>[a-z]+):[A-Za-z0-9_:-]{1,128}$")
_REV = re.compile(r"^(?P<pos>[1-9][0-9]{0,8})-(?P<hash>[0-9a-zA-Z]{1,64})$")
_ATTACHMENT_NAME = re.compile(r"^[a-z0-9_-]{1,40}\.(jpg|webp)$")
_NOT_HASHED = frozenset({"_rev", "_revisions", "_attachments", "_conflicts"})

PhotoStatus = Literal["waiting", "verified", "none"]


@dataclass(frozen=True)
class Refusal:
    """Why one pushed revision is refused: `code` for machines and staff filters, `reason` for people (in
    both languages: the phone shows it as it is). `message` and `args` are the reason's msgid and values,
    kept with a stored refusal so an office page can say it in its reader's language."""

    code: str
    reason: str
    message: str = ""
    args: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredState:
    """What the database holds for the id of a pushed revision."""

    exists: bool = False
    #: The pushed revision itself is already stored (a retry).
    rev_known: bool = False
    #: The current winning revision (attachments as stubs), when the id exists.
    current: Mapping[str, object] | None = None
    #: The other leaf revisions of the record (its conflicting branches), each of which may still win.
    branches: tuple[Mapping[str, object], ...] = ()
    #: The id exists, but its winning revision is a deletion (a tombstone): it may not be revived.
    removed: bool = False


def _refuse(code: str, message: str, **args: str) -> Refusal:
    """A refusal with its reason from the catalogue (`message` is the Indonesian msgid, records/texts.py)."""
    return Refusal(code, in_both(message, **args), message, args)


def check_id(doc_id: object, types: Collection[str] = RECORD_TYPES) -> Refusal | None:
    """Only record ids of the given types pass: no `_design/`, `_local/`, path tricks or unknown prefixes.

    Writes allow the record types with a schema; reads also allow pulled-only types (`READABLE_TYPES`).
    """
    if not isinstance(doc_id, str):
        return _refuse("invalid_id", "Id catatan tidak ada.")
    match = _ID.match(doc_id)
    if match is None or match["type"] not in types:
        return _refuse(
            "invalid_id",
            "Id catatan tidak diizinkan; perbarui aplikasi lalu coba lagi.",
        )
    return None


def check_revision(doc: Mapping[str, object]) -> Refusal | None:
    """A replicated revision must carry a well-formed `_rev` that agrees with its `_revisions` history."""
    rev = doc.get("_rev")
    match = _REV.match(rev) if isinstance(rev, str) else None
    if match is None:
        return _refuse("invalid_rev", "Revisi catatan tidak valid.")
    revisions = doc.get("_revisions")
    if revisions is None:
        return None
    if not isinstance(revisions, Mapping):
        return _refuse("invalid_rev", "Riwayat revisi tidak valid.")
    ids, start = revisions.get("ids"), revisions.get("start")
    if not (isinstance(ids, list) and ids and isinstance(start, int) and isinstance(ids[0], str)):
        return _refuse("invalid_rev", "Riwayat revisi tidak valid.")
    if f"{start}-{ids[0]}" != rev:
        return _refuse("invalid_rev", "Riwayat revisi tidak cocok.")
    return None


def revision_history(doc: Mapping[str, object]) -> list[str]:
    """Every revision id in the pushed history, newest first."""
    revisions = doc.get("_revisions")
    if not isinstance(revisions, Mapping):
        rev = doc.get("_rev")
        return [rev] if isinstance(rev, str) else []
    start, ids = revisions.get("start"), revisions.get("ids")
    if not isinstance(start, int) or not isinstance(ids, list):
        return []
    return [f"{start - index}-{rev_hash}" for index, rev_hash in enumerate(ids)]


def check_record(
    doc: Mapping[str, object],
    principal: Principal,
    *,
    stored: StoredState,
    linked_document: Mapping[str, object] | None = None,
    seq_taken: bool = False,
    schema_errors: list[RecordError] | None = None,
) -> Refusal | None:
    """Refuse `doc` or let it through (None); attachments are checked apart by `check_attachments`.

    `schema_errors` is `validate_record(doc)` when the caller already has it (the gateway validates while
    its database reads are in flight).
    """
    refusal = check_id(doc.get("_id")) or check_revision(doc)
    if refusal or stored.rev_known:
        return refusal  # a revision the database holds is a retry: accepted whatever changed since
    return (
        _check_content(doc, schema_errors)
        or _check_writer(doc, principal)
        or _check_stored(doc, principal, stored)
        or _check_assignment(doc, principal, linked_document)
        or _check_history(doc, stored, seq_taken=seq_taken)
    )


def _check_content(doc: Mapping[str, object], schema_errors: list[RecordError] | None) -> Refusal | None:
    """What the revision is: no reduced copy from the server, no deletion, and valid by its schema."""
    if MARKER in doc:
        return _refuse(
            "projection",
            "Ini salinan ringkas dari server, bukan catatan asli; catatan di server tidak diubah.",
        )
    if doc.get("_deleted"):
        return _refuse(
            "deleted",
            "Catatan tidak boleh dihapus; minta kantor untuk memperbaikinya.",
        )
    errors = validate_record(doc) if schema_errors is None else schema_errors
    if errors:
        details = "; ".join(str(error) for error in errors[:3])
        return _refuse("invalid", "Data tidak lengkap atau salah: %(details)s.", details=details)
    return None


def _check_writer(doc: Mapping[str, object], principal: Principal) -> Refusal | None:
    """Who writes it: a role that may write this type, as the author it names, for an office of theirs."""
    record_type = str(doc["type"])
    if record_type not in WRITABLE_TYPES.get(principal.role, frozenset()):
        return _refuse(
            "role",
            "Peran Anda tidak boleh membuat catatan jenis ini (%(type)s).",
            type=record_type,
        )
    if doc.get("author") != principal.user_id:
        return _refuse(
            "author",
            "Catatan ini atas nama pengguna lain; masuk dengan akun Anda sendiri.",
        )
    if not principal.can_act_for_office(str(doc.get("office"))):
        return _refuse(
            "office",
            "Catatan ini milik kantor lain.",
        )
    return None


def _check_assignment(
    doc: Mapping[str, object], principal: Principal, linked_document: Mapping[str, object] | None
) -> Refusal | None:
    """Today's work: a courier writes only for a document assigned to them, a van operator for their van."""
    if principal.role == "courier" and not _assigned_to(linked_document, principal.user_id):
        return _refuse(
            "not_assigned",
            "Dokumen ini tidak (lagi) ditugaskan kepada Anda; hubungi kantor.",
        )
    if doc.get("type") == "visit" and principal.role == "van_operator" and doc.get("van") != principal.van:
        return _refuse("van", "Kunjungan ini milik mobil keliling lain.")
    return None


def _check_history(doc: Mapping[str, object], stored: StoredState, *, seq_taken: bool) -> Refusal | None:
    """Custody evidence is written once: no second revision of it, no reused handoff sequence number."""
    record_type = doc.get("type")
    if record_type in APPEND_ONLY_TYPES and stored.exists and not _adds_photo_only(doc, stored):
        return _refuse(
            "append_only",
            "Catatan ini sudah tersimpan dan tidak boleh diubah; buat catatan baru bila perlu.",
        )
    if record_type == "handoff" and seq_taken:
        return _refuse(
            "replay",
            "Nomor urut serah terima ini sudah dipakai; catatan ini tampak seperti ulangan.",
        )
    return None


def _check_stored(doc: Mapping[str, object], principal: Principal, stored: StoredState) -> Refusal | None:
    """A new revision of a stored record is judged by what is stored, not only by what it claims.

    With `new_edits=false` a client chooses its `_rev` and history, so a made-up revision can win over every
    stored one: the winner and every conflicting branch must be of an office the user acts for, and of the
    same office and type as the pushed revision (a record never moves to another office).
    """
    if stored.removed and stored.current is None:
        return _refuse(
            "removed",
            "Catatan ini sudah dihapus di server dan tidak bisa dihidupkan lagi; hubungi kantor.",
        )
    held = ([stored.current] if stored.current is not None else []) + list(stored.branches)
    for revision in held:
        office = revision.get("office")
        if not principal.can_act_for_office(office if isinstance(office, str) else None):
            return _refuse(
                "office",
                "Catatan ini milik kantor lain.",
            )
        if office != doc.get("office") or revision.get("type") != doc.get("type"):
            return _refuse(
                "office_move",
                "Catatan tidak boleh dipindah ke kantor lain atau diubah jenisnya.",
            )
    return None


def check_links(
    doc: Mapping[str, object],
    document: Mapping[str, object] | None,
    handoff: Mapping[str, object] | None,
) -> Refusal | None:
    """A seal, handoff or photo belongs to a document that exists, of the record's own office; a photo's
    handoff, when the server has it, is of the same office and document.

    `document` and `handoff` are what the database holds (or what this batch stores before them). A photo
    may reach the server before its handoff (the phone pushes photos from their own outbox), so a handoff
    not yet stored is not a refusal; one of another office or document is.
    """
    if doc.get("type") not in ("seal", "handoff", "photo"):
        return None
    if (
        document is None
        or document.get("type") != "document"
        or document.get("_deleted")
        or document.get("_id") != doc.get("document_id")
    ):
        return _refuse(
            "no_document",
            "Dokumen untuk catatan ini tidak ada di server; sinkronkan dokumennya dulu atau hubungi kantor.",
        )
    if document.get("office") != doc.get("office"):
        return _refuse(
            "link_office",
            "Dokumen untuk catatan ini milik kantor lain.",
        )
    if (
        doc.get("type") == "photo"
        and handoff is not None
        and (
            handoff.get("type") != "handoff"
            or handoff.get("office") != doc.get("office")
            or handoff.get("document_id") != doc.get("document_id")
        )
    ):
        return _refuse(
            "link_office",
            "Serah terima untuk foto ini milik kantor atau dokumen lain.",
        )
    return None


def assignee_refusal(courier: object) -> Refusal:
    """A document assigned to someone who may not carry it: not an active courier (or, with partner "office",
    staff) of the document's office, or with another partner than their own."""
    return _refuse(
        "assignee",
        "Penugasan ke %(courier)r tidak sah: bukan kurir aktif kantor ini dengan mitra tersebut; "
        "pilih kurir dari daftar.",
        courier=str(courier)[:64],
    )


def _assigned_to(document: Mapping[str, object] | None, user_id: str) -> bool:
    if document is None or document.get("type") != "document" or document.get("_deleted"):
        return False
    assignment = document.get("assignment")
    return isinstance(assignment, Mapping) and assignment.get("courier") == user_id


def _adds_photo_only(doc: Mapping[str, object], stored: StoredState) -> bool:
    """The one change allowed to a stored photo record: adding its image, which arrived later."""
    current = stored.current
    if doc.get("type") != "photo" or current is None or current.get("_attachments"):
        return False
    if not doc.get("_attachments") or current.get("_rev") not in revision_history(doc):
        return False
    return _body(doc) == _body(current)


def _body(doc: Mapping[str, object]) -> dict[str, object]:
    return {key: value for key, value in doc.items() if key not in _NOT_HASHED}


def check_attachments(doc: Mapping[str, object], stored: StoredState) -> tuple[Refusal | None, PhotoStatus]:
    """Check the attachments of a pushed revision; say whether a photo record still waits for its image.

    Photos carry exactly their one image (JPEG or WebP, at most 5 MB and `records.images.MAX_IMAGE_PIXELS`,
    the bytes of the declared type) whose SHA-256 equals the record's `sha256`; a complaint may carry its
    supporting image (the same type and size rules); nothing else carries attachments. A stub (an
    attachment sent by digest only) passes only when the database already holds that attachment.
    """
    attachments = doc.get("_attachments") or {}
    record_type = doc.get("type")
    if not isinstance(attachments, Mapping):
        return _refuse("attachment", "Lampiran tidak valid."), "none"
    if record_type == "photo":
        wanted = doc.get("attachment")
        if not attachments:
            return None, "waiting"
        allowed: set[object] = {wanted}
    elif record_type == "complaint" and doc.get("photo_attachment"):
        allowed = {doc.get("photo_attachment")}
    else:
        allowed = set()
    for name, attachment in attachments.items():
        if (
            name not in allowed
            or not _ATTACHMENT_NAME.match(str(name))
            or not isinstance(attachment, Mapping)
        ):
            return _refuse(
                "attachment",
                "Lampiran %(name)r tidak diizinkan pada catatan ini; hanya foto catatan itu sendiri.",
                name=str(name)[:60],
            ), "none"
        refusal = _check_image(doc, str(name), attachment, stored)
        if refusal:
            return refusal, "none"
    return None, "verified" if record_type == "photo" else "none"


def _check_image(
    doc: Mapping[str, object], name: str, attachment: Mapping[str, object], stored: StoredState
) -> Refusal | None:
    content_type = attachment.get("content_type")
    if content_type not in IMAGE_TYPES or (
        doc.get("type") == "photo" and content_type != doc.get("content_type")
    ):
        return _refuse(
            "attachment_type",
            "Foto harus berformat JPEG atau WebP sesuai catatannya.",
        )
    if attachment.get("stub"):
        current = stored.current or {}
        held = current.get("_attachments")
        held_one = held.get(name) if isinstance(held, Mapping) else None
        if isinstance(held_one, Mapping) and held_one.get("digest") == attachment.get("digest"):
            return None
        return _refuse(
            "attachment_missing",
            "Foto belum terkirim; sinkronkan lagi.",
        )
    data = attachment.get("data")
    if not isinstance(data, str) or len(data) > (MAX_IMAGE_BYTES * 4) // 3 + 4:
        return _refuse(
            "attachment_size",
            "Foto terlalu besar (maksimal 5 MB); ambil ulang dengan ukuran lebih kecil.",
        )
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return _refuse("attachment", "Data foto rusak; ambil foto lagi.")
    if not raw or len(raw) > MAX_IMAGE_BYTES:
        return _refuse(
            "attachment_size",
            "Foto kosong atau lebih dari 5 MB.",
        )
    refusal = check_image_bytes(raw, str(content_type))
    if refusal:
        return refusal
    if doc.get("type") == "photo":
        if hashlib.sha256(raw).hexdigest() != doc.get("sha256"):
            return _refuse(
                "digest",
                "Sidik (SHA-256) foto tidak cocok dengan catatannya; foto mungkin rusak, ambil ulang.",
            )
        if len(raw) != doc.get("size"):
            return _refuse(
                "size_mismatch",
                "Ukuran foto tidak cocok dengan catatannya.",
            )
    return None


def check_image_bytes(raw: bytes, content_type: str) -> Refusal | None:
    """The bytes are an image of the declared type, within the pixel budget, read from the header only (a
    few-hundred-byte JPEG can claim 30000x30000 pixels, which would take gigabytes to decode)."""
    try:
        read_header(raw, content_type)
    except ImageError as exc:
        return Refusal(exc.code, exc.reason, exc.message, exc.values)
    return None
