"""Images stored on records (seal photos, complaint photos), streamed from CouchDB to staff.

The bytes go from the database to the browser chunk by chunk, so a page of thumbnails never holds every
image in the server's memory at once. Only image types the gateway accepts are served, with `nosniff`: an
attachment labelled anything else is refused rather than handed to a browser that might run it as a page.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Literal

from starlette.responses import Response, StreamingResponse

from server.errors import AppError
from sync.couch import CouchNotFound, Database, quote_id
from sync.types import JSONDict
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
    stack = contextlib.AsyncExitStack()
    try:
        upstream = await stack.enter_async_context(
            # identity: the Content-Length we pass on must be that of the bytes we send.
            db.client.stream(
                "GET", f"{db.doc_path(doc_id)}/{quote_id(name)}", headers={"Accept-Encoding": "identity"}
            )
        )
    except CouchNotFound as exc:
        await stack.aclose()
        raise AppError(404, "not_found", "Foto ini belum sampai di server (ponsel belum sinkron).") from exc
    except BaseException:
        await stack.aclose()
        raise

    async def chunks() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_bytes():
                yield chunk
        finally:
            await stack.aclose()

    headers = {
        "Cache-Control": "private, max-age=3600",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    if "content-length" in upstream.headers:
        headers["Content-Length"] = upstream.headers["content-length"]
    return StreamingResponse(chunks(), media_type=content_type, headers=headers)
