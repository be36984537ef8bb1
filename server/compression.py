"""Gzip for the text answers (JSON from `/sync` and `/auth`, the schemas, pages), for browsers that accept it.

Why: on a slow phone link the replication's JSON is most of the bytes before the first document shows (a
`_changes` page of 50 rows, a `_bulk_get` of 40 records); it shrinks several times over. An allow-list, not
Starlette's exclude-list `GZipMiddleware`: photo attachments (`image/jpeg`, streamed with the Content-Length
whose bytes the phone's digest checks) and anything else not named here pass untouched, as do answers that
already carry a Content-Encoding (the build's `.gz` bundles), partial content and small bodies. Streamed
answers are compressed chunk by chunk with a sync flush, so each chunk reaches the client when sent.
"""

from __future__ import annotations

import zlib

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COMPRESSIBLE = frozenset(
    {
        "application/json",
        "application/schema+json",
        "application/manifest+json",
        "application/javascript",
        "text/javascript",
        "text/html",
        "text/css",
        "text/csv",
        "text/plain",
        "image/svg+xml",
    }
)
MINIMUM_SIZE = 1024  # below this the gzip header and a lost Content-Length are not worth it
LEVEL = 6  # zlib's default: nearly level 9's size on JSON at a fraction of the CPU


class CompressionMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "HEAD" or not _accepts_gzip(scope):
            await self.app(scope, receive, send)
            return
        await _GzipResponder(send)(self.app, scope, receive)


def _accepts_gzip(scope: Scope) -> bool:
    for part in Headers(scope=scope).get("accept-encoding", "").lower().split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


class _GzipResponder:
    """Holds back the response start until the first body chunk shows whether compressing is worth it."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.start: Message | None = None
        self.compressor: zlib._Compress | None = None
        self.passthrough = False

    async def __call__(self, app: ASGIApp, scope: Scope, receive: Receive) -> None:
        await app(scope, receive, self.send_message)

    async def send_message(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = Headers(raw=message.get("headers", []))
            media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
            self.passthrough = (
                media_type not in COMPRESSIBLE
                or "content-encoding" in headers
                or message["status"] in (204, 206, 304)
            )
            if self.passthrough:
                await self.send(message)
            else:
                self.start = message
            return
        if self.passthrough or message["type"] != "http.response.body":
            if self.start is not None:  # e.g. a pathsend answer: sent as is
                await self.send(self.start)
                self.start = None
            await self.send(message)
            return
        body: bytes = message.get("body", b"")
        more = bool(message.get("more_body", False))
        if self.start is not None:
            start, self.start = self.start, None
            headers = MutableHeaders(raw=start.setdefault("headers", []))
            headers.add_vary_header("Accept-Encoding")
            if len(body) < MINIMUM_SIZE and not more:
                self.passthrough = True
                await self.send(start)
                await self.send(message)
                return
            self.compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
            headers["Content-Encoding"] = "gzip"
            etag = headers.get("etag")
            if etag and not etag.startswith("W/"):
                headers["ETag"] = f"W/{etag}"  # the gzipped bytes are not the ones the strong tag named
            compressed = self._compress(body, more)
            if more:
                del headers["Content-Length"]
            else:
                headers["Content-Length"] = str(len(compressed))
            await self.send(start)
            await self.send({"type": "http.response.body", "body": compressed, "more_body": more})
            return
        await self.send({"type": "http.response.body", "body": self._compress(body, more), "more_body": more})

    def _compress(self, body: bytes, more: bool) -> bytes:
        assert self.compressor is not None
        out = self.compressor.compress(body)
        return out + self.compressor.flush(zlib.Z_SYNC_FLUSH if more else zlib.Z_FINISH)
