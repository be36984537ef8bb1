"""Static assets of the PWA, with cache headers that keep installed phones current.

Files whose name carries a content hash (`app.3f9a1c2e.js`, written by the build) never change, so they are
cached for a year; everything else must be revalidated (cheap: an ETag answer), so a new deploy is seen at
once and the service worker decides what is used offline.

The service worker itself is generated from `pwa/static/sw.js` with the build's file lists and a version
filled in. The version covers every byte the app shell is made of (bundles, styles, schemas, the worker's own
code), so any change to them installs a new worker, which precaches the new shell and offers a reload.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
from functools import lru_cache
from pathlib import Path

from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from records.schemas import SCHEMA_DIR
from server.resources import STATIC_DIR, TEMPLATES_DIR
from server.templating import asset_manifest

# Our build writes 12 hex digits; esbuild's chunk names carry 8 capital base32 characters.
_HASHED = re.compile(r"\.([0-9a-f]{8,}|[A-Z0-9]{8})\.[a-z0-9]+$")
_BUILD_SLOT = re.compile(r"/\* BUILD \*/.*?/\* END BUILD \*/", re.S)

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

#: Unhashed files of the app shell: the page, styles, icons, manifest and the schemas the PWA validates with.
SHELL_FILES: dict[str, Path] = {
    "/static/css/segel.css": STATIC_DIR / "css" / "segel.css",
    "/static/css/app.css": STATIC_DIR / "css" / "app.css",
    "/manifest.webmanifest": STATIC_DIR / "manifest.webmanifest",
    "/static/icons/icon-192.png": STATIC_DIR / "icons" / "icon-192.png",
    "/static/icons/icon-512.png": STATIC_DIR / "icons" / "icon-512.png",
    **{
        f"/schemas/{name}.schema.json": SCHEMA_DIR / f"{name}.schema.json"
        for name in ("common", "handoff", "photo", "visit")
    },
}
SHELL_PAGES = ("/app",)


class CachedStaticFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await self._precompressed(path, scope) or await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = IMMUTABLE if _HASHED.search(path) else REVALIDATE
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    async def _precompressed(self, path: str, scope: Scope) -> Response | None:
        """The build's `.gz` copy of a bundle or wasm, for browsers that accept gzip (3x fewer bytes)."""
        accepts = Headers(scope=scope).get("accept-encoding", "")
        if "gzip" not in accepts or path.endswith(".gz") or not _HASHED.search(path):
            return None
        full, stat = self.lookup_path(path + ".gz")
        if stat is None or not full:
            return None
        media_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        if path.endswith(".wasm"):
            media_type = "application/wasm"
        response = FileResponse(full, stat_result=stat, media_type=media_type)
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Vary"] = "Accept-Encoding"
        return response


def _fingerprint() -> tuple[object, ...]:
    """Changes whenever a file the worker depends on changes (mtime and size are enough to notice)."""
    files = [
        STATIC_DIR / "sw.js",
        STATIC_DIR / "dist" / "asset-manifest.json",
        TEMPLATES_DIR,
        *SHELL_FILES.values(),
    ]
    return tuple((str(path), path.stat().st_mtime_ns, path.stat().st_size) for path in files if path.exists())


@lru_cache(maxsize=4)
def _service_worker(fingerprint: tuple[object, ...]) -> str:
    manifest = asset_manifest()
    shell = [*SHELL_PAGES, *SHELL_FILES, *_string_list(manifest.get("precache"))]
    lazy = _string_list(manifest.get("lazy"))
    digest = hashlib.sha256(str(manifest.get("version")).encode())
    source = (STATIC_DIR / "sw.js").read_text()
    digest.update(source.encode())
    for template in sorted(TEMPLATES_DIR.glob("*.html")):
        digest.update(template.read_bytes())
    for path in SHELL_FILES.values():
        digest.update(path.read_bytes())
    build = {"version": digest.hexdigest()[:12], "shell": shell, "lazy": lazy}
    return _BUILD_SLOT.sub(lambda _: json.dumps(build), source, count=1)


def _string_list(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def service_worker_source() -> str:
    """The worker's JavaScript with this build's version and precache list filled in."""
    return _service_worker(_fingerprint())


def service_worker_response() -> Response:
    """The service worker must come from the site root to control every page, and must never be cached."""
    return Response(
        service_worker_source(),
        media_type="text/javascript",
        headers={"Cache-Control": REVALIDATE, "Service-Worker-Allowed": "/"},
    )


def manifest_response() -> Response:
    response = FileResponse(STATIC_DIR / "manifest.webmanifest", media_type="application/manifest+json")
    response.headers["Cache-Control"] = REVALIDATE
    return response
