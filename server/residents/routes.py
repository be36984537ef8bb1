"""The residents' page: no login, an unguessable link, rate limited, and never a NIK on screen.

Forms carry a CSRF token bound to a random cookie set on this page (double submit), so another site cannot
post complaints or confirmations in a resident's name.
"""

from __future__ import annotations

import base64
import secrets

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from records.images import JPEG, WEBP, ImageError, read_header
from records.schemas import validate_record
from records.types import JSONDict
from server.errors import AppError
from server.i18n import N_, Labels
from server.i18n import gettext as _
from server.identity.sessions import check_csrf_token, csrf_token
from server.local_time import instant, local_time
from server.office.delivery_checks import settle_by_resident
from server.office.handover import DOC_KIND_LABELS
from server.office.intake import IntakeError, choose_delivery
from server.office.ledger import Ledger, create_once, new_id, now_iso
from server.office.notifications import enqueue
from server.office.timeline import Timeline, judge_unchecked, load_timeline
from server.office.web import config_of, ledger_of, office_zone_of
from server.ratelimit import count_hit, hashed_key
from server.residents.links import document_for, token_hash
from server.residents.story import plain_story
from server.templating import templates

NONCE_COOKIE = "segel_r"
MAX_PHOTO_BYTES = 5 * 1024 * 1024
#: The resident page's rate-limit window: `resident_rate_per_hour` requests per link (or misses per address).
HOUR_S = 3600
COMPLAINT_KINDS = Labels(
    {
        "seal_broken": N_("Segel rusak atau terbuka"),
        "not_received": N_("Dokumen belum saya terima"),
        "wrong_document": N_("Dokumen yang diterima salah"),
    }
)
_PHOTO_NAMES = {JPEG: "photo.jpg", WEBP: "photo.webp"}


def _photo_type(data: bytes) -> str:
    """JPEG or WebP, within the pixel budget, read from the header only (never decoded here)."""
    try:
        return read_header(data).content_type
    except ImageError as exc:
        if exc.code == "image_too_large":
            raise AppError(413, "image_too_large", exc.reason.split(" (")[0]) from exc
        raise AppError(400, "bad_request", N_("Foto harus berformat JPEG atau WebP.")) from exc


async def _open(request: Request) -> tuple[Ledger, str, JSONDict]:
    """Find the document a link opens, counting the request against the link, or a miss against the address.

    Two budgets per hour, so that one guesser behind a carrier's NAT (thousands of phones share an
    address) cannot lock out the honest residents behind it: requests to a real link count against that
    link only, and unknown links count against the client address only. A guesser who uses up the
    address's misses gets 429 for further unknown links, while every real link keeps opening. Guesses
    never write a counter per guessed token: there is one counter per address and hour.
    """
    ledger = ledger_of(request)
    token = request.path_params["token"]
    limit = config_of(request).resident_rate_per_hour
    too_many = AppError(429, "too_many_requests", N_("Terlalu banyak percobaan. Coba lagi satu jam lagi."))
    document = await document_for(ledger, token)
    if document is None:
        client = request.client.host if request.client else "unknown"
        if await count_hit(ledger.office, hashed_key(f"resident-miss:{client}", 24), HOUR_S) > limit:
            raise too_many
        raise AppError(
            404,
            "not_found",
            N_("Tautan ini tidak dikenal. Buka tautan dari pesan Disdukcapil, atau hubungi kantor."),
        )
    if await count_hit(ledger.office, hashed_key(f"resident-link:{token_hash(token)}", 24), HOUR_S) > limit:
        raise too_many
    return ledger, token, document


def _binding(request: Request, token: str) -> str | None:
    nonce = request.cookies.get(NONCE_COOKIE)
    return f"resident:{nonce}:{token_hash(token)}" if nonce else None


async def _checked_form(request: Request, token: str) -> FormData:
    form = await request.form(max_files=1, max_fields=20, max_part_size=MAX_PHOTO_BYTES + 1024)
    submitted = form.get("csrf")
    if not check_csrf_token(
        request.app.state.settings,
        _binding(request, token),
        submitted if isinstance(submitted, str) else None,
    ):
        raise AppError(403, "forbidden", N_("Formulir kedaluwarsa. Muat ulang halaman lalu kirim lagi."))
    return form


async def _judged_timeline(request: Request, ledger: Ledger, document: JSONDict) -> Timeline:
    """The timeline with every delivery judged, so the resident reads whether it counts yet even before
    `segel worker` reaches it (judged in memory: a page load writes nothing)."""
    return judge_unchecked(await load_timeline(ledger, document), request.app.state.receipt_key)


async def resident_page(request: Request) -> Response:
    ledger, token, document = await _open(request)
    timeline = await _judged_timeline(request, ledger, document)
    confirmation = await ledger.office.get_or_none(f"resident_confirmation:{document['_id']}")
    nonce = request.cookies.get(NONCE_COOKIE) or secrets.token_urlsafe(16)
    settings = request.app.state.settings
    zone = await office_zone_of(request, str(document["office"]))
    story = plain_story(document, timeline, zone)
    answered = {str(e.get("subject")) for e in timeline.office_entries if e.get("type") == "resolution"}
    complaints = [
        (
            local_time(c["created_at"], zone),
            COMPLAINT_KINDS.get(str(c["kind"])) or _("Lainnya"),
            c["_id"] in answered,
        )
        for c in sorted(timeline.complaints, key=lambda c: instant(c["created_at"]))
    ]
    response = templates.TemplateResponse(
        request,
        "residents/page.html",
        {
            "doc": document,
            "office_zone": zone,
            "kind_label": DOC_KIND_LABELS.get(str(document["doc_kind"]), document["doc_kind"]),
            "story": story,
            "confirmation": confirmation,
            "complaints": complaints,
            "complaint_kinds": COMPLAINT_KINDS,
            "token": token,
            "sent": request.query_params.get("sent"),
            "csrf": csrf_token(settings, f"resident:{nonce}:{token_hash(token)}"),
        },
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )
    response.set_cookie(
        NONCE_COOKIE, nonce, httponly=True, samesite="strict", secure=settings.secure_cookies, path="/r/"
    )
    return response


def _back(token: str, sent: str) -> Response:
    return RedirectResponse(f"/r/{token}?sent={sent}#flash", status_code=303)


async def confirm_receipt(request: Request) -> Response:
    ledger, token, document = await _open(request)
    await _checked_form(request, token)
    timeline = await load_timeline(ledger, document)
    if not any(e.handoff["kind"] == "delivered" for e in timeline.events):
        raise AppError(
            400,
            "bad_request",
            N_("Dokumen belum tercatat diantar. Jika sudah Anda terima, kirim pengaduan."),
        )
    timeline = await _judged_timeline(request, ledger, document)
    delivered = [e.handoff for e in timeline.events if e.handoff["kind"] == "delivered"]
    await settle_by_resident(ledger, str(document["_id"]), [str(h["_id"]) for h in delivered])
    await create_once(
        ledger.office,
        {
            "_id": f"resident_confirmation:{document['_id']}",
            "type": "resident_confirmation",
            "office": document["office"],
            "document_id": document["_id"],
            "created_at": now_iso(),
        },
    )
    return _back(token, "confirmed")


async def choose(request: Request) -> Response:
    ledger, token, document = await _open(request)
    form = await _checked_form(request, token)
    choice = form.get("delivery")
    timeline = await load_timeline(ledger, document)
    if any(e.handoff["kind"] in ("picked_up", "delivered") for e in timeline.events):
        raise AppError(
            400, "bad_request", N_("Dokumen sudah dalam pengantaran; pilihan tidak bisa diubah lagi.")
        )
    try:
        await choose_delivery(ledger, str(document["_id"]), choice if isinstance(choice, str) else "")
    except IntakeError as exc:
        raise AppError(400, "bad_request", exc.reason) from exc
    return _back(token, "choice")


async def complain(request: Request) -> Response:
    ledger, token, document = await _open(request)
    form = await _checked_form(request, token)
    kind = form.get("kind")
    description = form.get("description")
    complaint: JSONDict = {
        "_id": f"complaint:{new_id()}",
        "type": "complaint",
        "schema_version": 1,
        "office": document["office"],
        "created_at": now_iso(),
        "author": "resident",
        "document_id": document["_id"],
        "kind": kind if isinstance(kind, str) and kind in COMPLAINT_KINDS else "",
        "description": description.strip() if isinstance(description, str) else "",
        "channel": "resident_page",
    }
    photo = form.get("photo")
    data = await photo.read() if isinstance(photo, UploadFile) and photo.filename else None
    await form.close()
    if data is not None:
        if len(data) > MAX_PHOTO_BYTES:
            raise AppError(413, "too_large", N_("Foto lebih dari 5 MB. Kirim foto yang lebih kecil."))
        content_type = _photo_type(data)
        name = _PHOTO_NAMES[content_type]
        complaint["photo_attachment"] = name
        complaint["_attachments"] = {
            name: {"content_type": content_type, "data": base64.b64encode(data).decode()}
        }
    errors = validate_record(complaint)
    if errors:
        fields = {e.field for e in errors}
        reason = (
            N_("Pilih jenis pengaduan.")
            if "kind" in fields
            else N_("Ceritakan apa yang terjadi (minimal 5 huruf).")
        )
        raise AppError(400, "bad_request", reason)
    await ledger.records.put(complaint)
    await enqueue(ledger, "complaint_received", document, f"{request.app.state.settings.origin}/r/{token}")
    return _back(token, "complaint")


routes: list[BaseRoute] = [
    Route("/r/{token}", resident_page),
    Route("/r/{token}/confirm", confirm_receipt, methods=["POST"]),
    Route("/r/{token}/delivery", choose, methods=["POST"]),
    Route("/r/{token}/complaint", complain, methods=["POST"]),
]
