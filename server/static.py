"""Static assets of the PWA, with cache headers that keep installed phones current.

Files whose name carries a content hash (`app.3f9a1c2e.js`, written by the build) never change, so they are
cached for a year; everything else must be revalidated (cheap: an ETag answer), so a new deploy is seen at
once and the service worker decides what is used offline.
"""

from __future__ import annotations

import re

from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from server.settings import REPO_ROOT

STATIC_DIR = REPO_ROOT / "pwa" / "static"
_HASHED = re.compile(r"\.[0-9a-f]{8,}\.[a-z0-9]+$")

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


class CachedStaticFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = IMMUTABLE if _HASHED.search(path) else REVALIDATE
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def service_worker_response() -> Response:
    """The service worker must come from the site root to control every page, and must never be cached."""
    response = FileResponse(STATIC_DIR / "sw.js", media_type="text/javascript")
    response.headers["Cache-Control"] = REVALIDATE
    response.headers["Service-Worker-Allowed"] = "/"
    return response


def manifest_response() -> Response:
    response = FileResponse(STATIC_DIR / "manifest.webmanifest", media_type="application/manifest+json")
    response.headers["Cache-Control"] = REVALIDATE
    return response
