"""Attachment PUT: the one way to add a seal photo's image to a photo record that arrived without it.

Replication normally carries the image inline in `_bulk_docs`; this route serves a client that sends the
small record first and the image later on its own. The record itself never changes: the image must be the
one the record names (attachment name, type, size and SHA-256), bytes of that type within the pixel budget
(`records.images`, read from the header only), and only a record still waiting for its
image may receive one.
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.requests import Request

from records.principal import Principal
from records.texts import in_both
from records.types import JSONDict
from store.couch import CouchConflict, CouchNotFound, Database
from store.records import RecordsStore
from sync.errors import GatewayError, bad_request, forbidden, not_found
from sync.replication import now_iso
from sync.validation import IMAGE_TYPES, MAX_IMAGE_BYTES, check_id, check_image_bytes


async def put_photo_attachment(
    db: Database,
    principal: Principal,
    doc_id: str,
    name: str,
    request: Request,
    *,
    rev: str | None,
    settings: Any,
    receipts: Database,
) -> JSONDict:
    if check_id(doc_id) or not rev:
        raise bad_request("PUT an image to /sync/records/<photo id>/<attachment>?rev=<current rev>.")
    try:
        doc = await db.get(doc_id)
    except CouchNotFound as exc:
        raise not_found() from exc
    if doc.get("type") != "photo" or doc.get("author") != principal.user_id:
        # A record the principal did not write looks the same as one that does not exist.
        raise not_found()
    if doc.get("_attachments"):
        raise forbidden(in_both("Foto ini sudah tersimpan dan tidak boleh diganti."))
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if (
        name != doc.get("attachment")
        or content_type not in IMAGE_TYPES
        or content_type != doc.get("content_type")
    ):
        raise forbidden(in_both("Nama atau jenis foto tidak sesuai catatannya."))
    data = bytearray()
    async for chunk in request.stream():
        data.extend(chunk)
        if len(data) > MAX_IMAGE_BYTES:
            raise GatewayError(413, "too_large", in_both("Foto lebih dari 5 MB."))
    if hashlib.sha256(data).hexdigest() != doc.get("sha256") or len(data) != doc.get("size"):
        raise forbidden(
            in_both("Sidik (SHA-256) atau ukuran foto tidak cocok dengan catatannya; ambil ulang.")
        )
    refusal = check_image_bytes(bytes(data), content_type)
    if refusal:
        raise forbidden(refusal.reason)
    try:
        result = await RecordsStore(db).put_photo(doc_id, name, rev, bytes(data), content_type)
    except CouchConflict as exc:
        raise GatewayError(409, "conflict", "Document update conflict.") from exc
    receipt_id = f"receipt:{doc_id}"
    for _ in range(3):
        receipt = await receipts.get_or_none(receipt_id) or {
            "_id": receipt_id,
            "type": "receipt",
            "record_id": doc_id,
        }
        receipt.update(photo="verified", photo_received_at=now_iso(), rev=result.get("rev"))
        try:
            await receipts.put(receipt)
            break
        except CouchConflict:
            continue
    return {"ok": True, "id": doc_id, "rev": result.get("rev")}
