"""Identity routes: enrollment and login pages with their JSON ceremony steps, logout, who-am-I, the staff
page that issues a new enrollment link, and signature verification for the signed-in user.

Handlers stay thin: parse, call `passkeys`/`store`, audit, respond. JSON steps take `application/json` only
(a cross-site form cannot send it without a CORS preflight) and the CSRF middleware checks their Origin;
HTML forms carry a token from `sessions.csrf_token`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from records.principal import USER_MANAGERS, Principal
from records.types import JSONDict
from server.access import current_principal, require
from server.errors import AppError, error_page, login_redirect
from server.i18n import N_, label
from server.i18n import gettext as _
from server.identity.audit import record_event
from server.identity.auth import device_id_for_credential
from server.identity.enrollment import enrollment_url, qr_svg
from server.identity.new_users import COURIER_PARTNERS, NewUserProblems, add_user, read_form
from server.identity.new_users import FIELD_LABELS as NEW_USER_FIELDS
from server.identity.passkeys import (
    ENROLLMENT_TTL_S,
    Enrolled,
    Refusal,
    finish_login,
    finish_registration,
    login_options,
    registration_options,
    usable_enrollment,
)
from server.identity.principal_cache import PrincipalCache
from server.identity.ratelimit import check_rate
from server.identity.sessions import (
    check_csrf_token,
    clear_session_cookie,
    csrf_token,
    prelogin_binding,
    prelogin_id,
    set_prelogin_cookie,
    set_session_cookie,
)
from server.identity.store import IdentityStore
from server.settings import Settings
from server.templating import templates
from sync.gateway import MAX_JSON_DEPTH, json_depth

NO_STORE = {"Cache-Control": "no-store"}


def _store(request: Request) -> IdentityStore:
    return IdentityStore(request.app.state.couch, request.app.state.settings)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _changed_here(request: Request, doc_id: str) -> None:
    """This instance just changed an identity document: evict what it touches from its own cache now,
    rather than when its changes follower brings the change (other instances wait for theirs)."""
    cache: PrincipalCache = request.app.state.principal_cache
    cache.changed(_settings(request).identity_db, doc_id)


async def _json_body(request: Request) -> JSONDict:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise AppError(415, "unsupported_media_type", N_("Kirim JSON (Content-Type: application/json)."))
    try:
        body = await request.json()
    except RecursionError as exc:
        # `[[[[...` a few thousand deep overflows the JSON parser's stack: a broken body, not a server fault.
        raise _too_deep() from exc
    except ValueError as exc:
        raise AppError(400, "bad_request", N_("Isi permintaan bukan JSON yang sah.")) from exc
    if json_depth(body) > MAX_JSON_DEPTH:
        raise _too_deep()
    if not isinstance(body, dict):
        raise AppError(400, "bad_request", N_("Isi permintaan harus objek JSON."))
    return body


def _too_deep() -> AppError:
    return AppError(
        400,
        "bad_request",
        _("Isi permintaan bersarang terlalu dalam (lebih dari %(levels)s tingkat); kirim JSON yang datar.")
        % {"levels": MAX_JSON_DEPTH},
    )


async def _refused(request: Request, refusal: Refusal) -> AppError:
    """Audit a refusal, then turn it into the error the client sees."""
    await record_event(
        request.app.state.couch,
        _settings(request),
        refusal.event,
        user_id=refusal.user_id,
        outcome="refused",
        reason=refusal.reason,
        credential_id=refusal.credential_id,
        ip=_client_ip(request),
    )
    return AppError(refusal.status, refusal.error, refusal.reason)


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _limit(request: Request, action: str) -> None:
    refusal = await check_rate(_store(request), action, _client_ip(request))
    if refusal is not None:
        raise await _refused(request, refusal)


def _credential_of(body: JSONDict) -> JSONDict:
    credential = body.get("credential")
    if not isinstance(credential, dict):
        raise AppError(400, "bad_request", N_("Jawaban passkey tidak ada."))
    return credential


#: Roles that work at the office desk pages; their browsers hold no offline copy of the office's records.
OFFICE_ROLES = ("staff", "admin")


def landing_page(role: str) -> str:
    """Where a person starts after signing in: office staff at their desk pages, field crews in the app."""
    return "/office" if role in OFFICE_ROLES else "/app"


async def _signed_in(request: Request, user: JSONDict, credential: JSONDict, body: JSONDict) -> Response:
    settings = _settings(request)
    credential_id = str(credential["credential_id"])
    session = await _store(request).create_session(
        str(user["user_id"]), device_id=device_id_for_credential(credential_id), credential_id=credential_id
    )
    landing = landing_page(str(user.get("role", "")))
    response = JSONResponse({**body, "user_id": user["user_id"], "redirect": landing}, headers=NO_STORE)
    set_session_cookie(response, settings, str(session["_id"]).removeprefix("session:"))
    return response


def html_errors(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """Pages under /auth/ answer errors as a page in the request's language (the error renderer treats
    /auth/ as JSON)."""

    @wraps(handler)
    async def page(request: Request) -> Response:
        try:
            return await handler(request)
        except AppError as exc:
            if exc.status == 401:
                return login_redirect(request)
            return error_page(request, exc.status, exc.reason)

    return page


def safe_next(value: str | None) -> str:
    """Only same-site paths may be a redirect target after login (no open redirect); "" when there is none,
    so the login answer's role landing is used (staff at /office, field crews at /app)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return ""


# ---- who am I, logout -----------------------------------------------------------------------------


async def me(request: Request) -> Response:
    """The signed-in user as the PWA needs it, including the passkeys it may sign with offline."""
    principal = require(request)
    credentials = await _store(request).credentials_of(principal.user_id)
    return JSONResponse(
        {
            "user_id": principal.user_id,
            "name": principal.name,
            "role": principal.role,
            "office": principal.office,
            "partner": principal.partner,
            "van": principal.van,
            "credential_ids": [c["credential_id"] for c in credentials if not c.get("revoked")],
            # Couriers seal receipt codes to this key at the door, offline (records/receipt_proof.py).
            **(
                {"receipt_key": request.app.state.receipt_key.public_jwk()}
                if principal.role == "courier"
                else {}
            ),
        },
        headers=NO_STORE,
    )


async def logout(request: Request) -> Response:
    """End the server-side session at once (JSON from the PWA, or the form on our pages with its token)."""
    principal = require(request)
    settings = _settings(request)
    is_form = request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
    if is_form:
        form = await request.form()
        token = form.get("csrf_token")
        if not check_csrf_token(settings, principal.session_id, token if isinstance(token, str) else None):
            raise AppError(403, "forbidden", N_("Formulir kedaluwarsa; muat ulang halaman."))
    if principal.session_id:
        await _store(request).end_session(principal.session_id)
        _changed_here(request, f"session:{principal.session_id}")
    await record_event(
        request.app.state.couch, settings, "logged_out", user_id=principal.user_id, office=principal.office
    )
    response: Response = (
        RedirectResponse("/auth/login?keluar=1", status_code=303) if is_form else JSONResponse({"ok": True})
    )
    clear_session_cookie(response, settings)
    return response


# ---- login ----------------------------------------------------------------------------------------


async def login_page(request: Request) -> Response:
    principal = current_principal(request)
    wanted = safe_next(request.query_params.get("next"))
    context: dict[str, Any] = {
        "principal": principal,
        "rp_id": _settings(request).rp_id,
        "logged_out": "keluar" in request.query_params,
        "next": wanted,
        "continue_to": wanted or landing_page(principal.role if principal else ""),
    }
    if principal is not None and principal.session_id:
        context["csrf_token"] = csrf_token(_settings(request), principal.session_id)
    return templates.TemplateResponse(request, "identity/login.html", context, headers=NO_STORE)


async def login_begin(request: Request) -> Response:
    await _json_body(request)
    await _limit(request, "login")
    binding, fresh = prelogin_binding(request, _settings(request))
    options = await login_options(_store(request), binding)
    response = JSONResponse({"options": options}, headers=NO_STORE)
    if fresh:
        set_prelogin_cookie(response, _settings(request), binding)
    return response


async def login_finish(request: Request) -> Response:
    body = await _json_body(request)
    await _limit(request, "login")
    try:
        done = await finish_login(
            _store(request), _credential_of(body), prelogin_id(request, _settings(request))
        )
    except Refusal as refusal:
        raise await _refused(request, refusal) from refusal
    return await _audited_sign_in(request, done, "logged_in", {"ok": True})


async def _audited_sign_in(request: Request, done: Enrolled, event: str, body: dict[str, object]) -> Response:
    """A finished passkey ceremony: write the audit event, then open the session."""
    await record_event(
        request.app.state.couch,
        _settings(request),
        event,
        user_id=done.user["user_id"],
        office=done.user.get("office"),
        credential_id=done.credential["credential_id"],
        ip=_client_ip(request),
    )
    return await _signed_in(request, done.user, done.credential, body)


# ---- enrollment -----------------------------------------------------------------------------------


async def enroll_page(request: Request) -> Response:
    token = request.path_params["token"]
    await _limit(request, "enroll")
    try:
        _, user = await usable_enrollment(_store(request), token)
    except Refusal as refusal:
        error = await _refused(request, refusal)
        return templates.TemplateResponse(
            request,
            "identity/enroll.html",
            {"error": error.reason, "rp_id": _settings(request).rp_id},
            status_code=error.status,
            headers=NO_STORE,
        )
    return templates.TemplateResponse(
        request,
        "identity/enroll.html",
        {"user": user, "token": token, "rp_id": _settings(request).rp_id},
        headers=NO_STORE,
    )


def _token_of(body: JSONDict) -> str:
    token = body.get("token")
    if not isinstance(token, str) or not token:
        raise AppError(400, "bad_request", N_("Tautan pendaftaran tidak ada."))
    return token


async def enroll_begin(request: Request) -> Response:
    body = await _json_body(request)
    await _limit(request, "enroll")
    binding, fresh = prelogin_binding(request, _settings(request))
    try:
        options = await registration_options(_store(request), _token_of(body), binding)
    except Refusal as refusal:
        raise await _refused(request, refusal) from refusal
    response = JSONResponse({"options": options}, headers=NO_STORE)
    if fresh:
        set_prelogin_cookie(response, _settings(request), binding)
    return response


async def enroll_finish(request: Request) -> Response:
    body = await _json_body(request)
    await _limit(request, "enroll")
    label = body.get("label") if isinstance(body.get("label"), str) else ""
    try:
        done = await finish_registration(
            _store(request),
            _token_of(body),
            _credential_of(body),
            prelogin_id(request, _settings(request)),
            label=str(label),
        )
    except Refusal as refusal:
        raise await _refused(request, refusal) from refusal
    return await _audited_sign_in(request, done, "enrolled", {"ok": True, "enrolled": True})


# ---- staff: users of the office and new enrollment links ------------------------------------------


def _office_of_request(request: Request, principal: Principal) -> str:
    office = request.query_params.get("office") or principal.office
    if office is None:
        raise AppError(400, "bad_request", N_("Pilih kantor: ?office=6471."))
    require(request, *USER_MANAGERS, office=office)
    return office


async def _users_page(
    request: Request,
    principal: Principal,
    office: str,
    *,
    status: int = 200,
    problems: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    """The office's users with their passkeys, and the forms that add a courier or a van crew member
    (with what was typed and its problems, when a form was refused)."""
    store = _store(request)
    users = sorted(await store.users_of_office(office), key=lambda u: (u["role"], u["user_id"]))
    for user in users:
        user["passkeys"] = [c for c in await store.credentials_of(user["user_id"]) if not c.get("revoked")]
    return templates.TemplateResponse(
        request,
        "identity/office_users.html",
        {
            "users": users,
            "office": office,
            "principal": principal,
            "csrf_token": csrf_token(_settings(request), principal.session_id or principal.user_id),
            "partners": [(p, label("partner", p)) for p in COURIER_PARTNERS],
            "vans": sorted({str(u["van"]) for u in users if u.get("van")}),
            "problems": problems or {},
            "values": values or {},
            "field_labels": NEW_USER_FIELDS,
        },
        status_code=status,
        headers=NO_STORE,
    )


@html_errors
async def office_users(request: Request) -> Response:
    principal = require(request, *USER_MANAGERS)
    return await _users_page(request, principal, _office_of_request(request, principal))


async def _checked_form(request: Request, principal: Principal) -> FormData:
    """The posted form, after its CSRF token (a form from another site has none)."""
    form = await request.form()
    token = form.get("csrf_token")
    if not check_csrf_token(
        _settings(request),
        principal.session_id or principal.user_id,
        token if isinstance(token, str) else None,
    ):
        raise AppError(403, "forbidden", N_("Formulir kedaluwarsa; muat ulang halaman."))
    return form


@html_errors
async def add_office_user(request: Request) -> Response:
    """Add a courier or a van operator to the staff member's own office (admins: `?office=`), then show
    the new person's one-time enrollment link. A refused form comes back with its problems; nothing saved."""
    principal = require(request, *USER_MANAGERS)
    office = _office_of_request(request, principal)
    form = await _checked_form(request, principal)
    typed = {name: value for name, value in form.items() if isinstance(value, str)}
    store = _store(request)
    if await store.get_office(office) is None:  # an admin's ?office= that names no office
        raise AppError(404, "not_found", N_("Kantor ini tidak terdaftar; periksa kode kantornya."))
    try:
        user = await add_user(store, office, read_form(typed), typed)
    except NewUserProblems as refused:
        return await _users_page(
            request, principal, office, status=400, problems=refused.problems, values=refused.values
        )
    await record_event(
        request.app.state.couch,
        _settings(request),
        "user_created",
        user_id=str(user["user_id"]),
        office=office,
        actor=principal.user_id,
    )
    return await _enrollment_page(request, principal, user, revoked=0, added=True)


async def _managed_user(request: Request) -> tuple[Principal, FormData, JSONDict]:
    """The user a staff form acts on, after the CSRF check: staff manage their own office's couriers and
    van crews; only admins manage staff, and nobody manages an admin from a page."""
    principal = require(request, *USER_MANAGERS)
    form = await _checked_form(request, principal)
    user_id = request.path_params["user_id"]
    user = await _store(request).get_user(user_id)
    if user is None or not principal.can_act_for_office(user.get("office")):
        # Another office's user answers like one that does not exist: no page tells who exists elsewhere.
        raise AppError(404, "not_found", _("Pengguna %(user)r tidak ada.") % {"user": user_id})
    if user["role"] == "admin" or (user["role"] == "staff" and principal.role != "admin"):
        raise AppError(403, "forbidden", N_("Hanya admin yang mengelola petugas."))
    return principal, form, user


@html_errors
async def revoke_office_user(request: Request) -> Response:
    """Deactivate a user of the office (a courier who left, a lost phone with no new one yet): every
    session and device token of theirs is refused at once here and within a second by every other server
    instance (their identity followers bring the change)."""
    principal, _, user = await _managed_user(request)
    if await _store(request).revoke_user(str(user["user_id"])):
        _changed_here(request, f"user:{user['user_id']}")
        await record_event(
            request.app.state.couch,
            _settings(request),
            "user_revoked",
            user_id=str(user["user_id"]),
            office=user.get("office"),
            actor=principal.user_id,
        )
    return RedirectResponse("/auth/office/users", status_code=303)


@html_errors
async def issue_enrollment_link(request: Request) -> Response:
    """A new one-time link for a user of the staff member's own office (e.g. a courier with a new phone).

    Old passkeys keep working unless the form asks to revoke them (a lost phone)."""
    principal, form, user = await _managed_user(request)
    settings, store, user_id = _settings(request), _store(request), str(user["user_id"])
    revoked: list[str] = []
    if form.get("revoke_old") == "1":
        for credential in await store.credentials_of(user_id):
            if not credential.get("revoked"):
                await store.revoke_credential(str(credential["credential_id"]))
                revoked.append(str(credential["credential_id"]))
                await record_event(
                    request.app.state.couch,
                    settings,
                    "passkey_revoked",
                    user_id=user_id,
                    office=user.get("office"),
                    actor=principal.user_id,
                    credential_id=str(credential["credential_id"]),
                )
    return await _enrollment_page(request, principal, user, revoked=len(revoked))


async def _enrollment_page(
    request: Request, principal: Principal, user: JSONDict, *, revoked: int, added: bool = False
) -> Response:
    """A new one-time enrollment link for `user`, audited, as a page with its URL and QR code."""
    settings, user_id = _settings(request), str(user["user_id"])
    link_token = await _store(request).create_enrollment(
        user_id, created_by=principal.user_id, ttl_s=ENROLLMENT_TTL_S
    )
    url = enrollment_url(settings, link_token)
    await record_event(
        request.app.state.couch,
        settings,
        "enrollment_link_issued",
        user_id=user_id,
        office=user.get("office"),
        actor=principal.user_id,
    )
    return templates.TemplateResponse(
        request,
        "identity/enroll_link.html",
        {
            "user": user,
            "url": url,
            "qr_svg": qr_svg(url),
            "revoked": revoked,
            "added": added,
            "hours": ENROLLMENT_TTL_S // 3600,
            "principal": principal,
        },
        headers=NO_STORE,
    )


routes: list[BaseRoute] = [
    Route("/auth/me", me),
    Route("/auth/logout", logout, methods=["POST"]),
    Route("/auth/login", login_page),
    Route("/auth/login/options", login_begin, methods=["POST"]),
    Route("/auth/login/verify", login_finish, methods=["POST"]),
    Route("/auth/enroll/options", enroll_begin, methods=["POST"]),
    Route("/auth/enroll/verify", enroll_finish, methods=["POST"]),
    Route("/auth/enroll/{token}", enroll_page),
    Route("/auth/office/users", office_users),
    Route("/auth/office/users/new", add_office_user, methods=["POST"]),
    Route("/auth/office/users/{user_id}/enroll-link", issue_enrollment_link, methods=["POST"]),
    Route("/auth/office/users/{user_id}/revoke", revoke_office_user, methods=["POST"]),
]
