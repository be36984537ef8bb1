"""One error type for the server and one renderer for it.

Pages get an HTML page in Bahasa Indonesia (with English below); API and sync routes get JSON in CouchDB's
own `{"error", "reason"}` shape, which PouchDB understands and our PWA shows to the user.
"""

from __future__ import annotations

import logging
from urllib.parse import quote, urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from server.i18n import N_
from server.i18n import gettext as _
from server.logs import loggable_path
from server.templating import templates

logger = logging.getLogger(__name__)

#: Paths under these prefixes are machine APIs: errors there are JSON, never HTML.
JSON_PREFIXES = ("/api/", "/sync/", "/healthz", "/schemas/", "/auth/")


class AppError(Exception):
    """An error meant for the person or program that made the request.

    `error` is a short machine word (CouchDB style: `bad_request`, `forbidden`, `not_found`), `reason` a
    sentence that says what went wrong and what to do next.
    """

    def __init__(self, status: int, error: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.error = error
        self.reason = reason


def wants_json(request: Request) -> bool:
    if request.url.path.startswith(JSON_PREFIXES):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


_TITLES = {
    400: N_("Permintaan tidak valid"),
    401: N_("Silakan masuk dulu"),
    403: N_("Tidak diizinkan"),
    404: N_("Halaman tidak ditemukan"),
    405: N_("Metode tidak diizinkan"),
    413: N_("Data terlalu besar"),
    429: N_("Terlalu banyak percobaan"),
    500: N_("Terjadi kesalahan di server"),
    503: N_("Layanan sedang tidak tersedia"),
}


def login_redirect(request: Request) -> Response:
    """A signed-out visit to a page that needs a session: to the login page (303), which brings the browser
    back here afterwards, instead of a dead-end 401 page.

    A form posted after the session ended comes back to the page the form was on (its same-site Referer),
    not to the POST address, which cannot be opened.
    """
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method not in ("GET", "HEAD"):
        referer = urlsplit(request.headers.get("referer", ""))
        same_site = referer.netloc == request.url.netloc and referer.path.startswith("/")
        target = referer.path + (f"?{referer.query}" if referer.query else "") if same_site else ""
    if not target or target.startswith("/auth/login"):
        return RedirectResponse("/auth/login", status_code=303)
    return RedirectResponse(f"/auth/login?next={quote(target, safe='/')}", status_code=303)


def render_error(request: Request, status: int, error: str, reason: str) -> Response:
    reason = _(reason)  # reasons are catalogue msgids (marked N_ where raised), or already translated
    if wants_json(request):
        return JSONResponse({"error": error, "reason": reason}, status_code=status)
    if status == 401:
        return login_redirect(request)
    return error_page(request, status, reason)


def error_page(request: Request, status: int, reason: str) -> Response:
    """The error as a page in the request's language, whatever the path (the identity pages under /auth/
    use it directly, since errors there are JSON for the passkey ceremonies)."""
    title = _TITLES.get(status, _TITLES[500] if status >= 500 else _TITLES[400])
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "title": _(title), "reason": _(reason)},
        status_code=status,
    )


async def handle_app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return render_error(request, exc.status, exc.error, exc.reason)


_HTTP_WORDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "too_many_requests",
}
_HTTP_REASONS = {
    404: N_("Alamat ini tidak ada. Periksa tautannya atau kembali ke beranda."),
    405: N_("Alamat ini tidak menerima metode tersebut."),
}


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    word = _HTTP_WORDS.get(exc.status_code, "error")
    reason = _HTTP_REASONS.get(exc.status_code) or str(exc.detail)
    return render_error(request, exc.status_code, word, reason)


async def handle_server_error(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, loggable_path(request.url.path))
    return render_error(
        request,
        500,
        "internal_error",
        N_(
            "Terjadi kesalahan di server; data Anda tidak hilang. Coba lagi sebentar lagi, dan hubungi "
            "kantor jika berulang."
        ),
    )
