"""Images stored on records (seal photos, complaint photos), streamed from CouchDB to staff.

The bytes go from the database to the browser chunk by chunk, so a page of thumbnails never holds every
image in the server's memory at once. Only image types the gateway accepts are served, with `nosniff`: an
attachment labelled anything else is refused rather than handed to a browser that might run it as a page.
"""

from __future__ import annotations

from typing import Literal

from starlette.responses import Response, StreamingResponse

from records.types import JSONDict
from server.errors import AppError
from store.couch import CouchNotFound, Database, open_attachment
from sync.validation import IMAGE_TYPES

#: Whether a complaint's photo is held by the server, named but not arrived yet, or absent.
PhotoState = Literal["held", "awaited"] | None


def complaint_photo(complaint: JSONDict) -> PhotoState:
    """ "held" when the complaint's named photo is stored with it, "awaited" when only named, else None.

    A complaint from a phone may reach the server before its image (a stub that did not sync yet).
    """
    name = complaint.get("photo_attachment")
    if not name:
        return None
    return "held" if str(name) in (complaint.get("_attachments") or {}) else "awaited"


def complaint_photo_url(complaint_id: str) -> str:
    return f"/office/complaints/{complaint_id}/photo"


async def stream_image(db: Database, doc_id: str, name: str, content_type: str) -> Response:
    """Stream attachment `name` of `doc_id` as `content_type`; 404 when it is not stored or not an image."""
    if content_type not in IMAGE_TYPES:
        raise AppError(404, "not_found", "Lampiran ini bukan foto JPEG atau WebP, jadi tidak ditampilkan.")
    try:
        attachment = await open_attachment(db, doc_id, name)
    except CouchNotFound as exc:
        raise AppError(404, "not_found", "Foto ini belum sampai di server (ponsel belum sinkron).") from exc
    headers = {
        "Cache-Control": "private, max-age=3600",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    if attachment.content_length is not None:
        headers["Content-Length"] = attachment.content_length
    return StreamingResponse(attachment.chunks, media_type=content_type, headers=headers)
