"""CSRF protection: a state-changing request that rides on our cookies must come from our own origin.

Browsers send `Origin` on every cross-origin POST/PUT/DELETE (and `Sec-Fetch-Site`), so a forged request
from another site carrying the victim's session cookie is refused here before any handler runs. Requests
authenticated by `Authorization: Bearer` carry no ambient credential and are not affected. HTML forms
additionally carry a token (`sessions.csrf_token`) checked by their handlers.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from server.errors import render_error
from server.i18n import N_
from server.identity.sessions import PRELOGIN_COOKIE, SESSION_COOKIE
from server.logs import loggable_path

logger = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CSRFMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        if _cross_site_with_cookies(request):
            logger.warning(
                "cross-origin %s %s with session cookie refused",
                request.method,
                loggable_path(request.url.path),
            )
            response = render_error(
                request,
                403,
                "forbidden",
                N_("Permintaan dari situs lain ditolak. Buka Segel langsung lalu coba lagi."),
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _cross_site_with_cookies(request: Request) -> bool:
    if request.headers.get("authorization", "")[:7].lower() == "bearer ":
        return False
    if SESSION_COOKIE not in request.cookies and PRELOGIN_COOKIE not in request.cookies:
        return False
    origin = request.headers.get("origin")
    if origin is not None:
        return bool(origin.rstrip("/") != request.app.state.settings.origin)
    return request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none")
