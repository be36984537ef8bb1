"""Request helpers shared by the office pages: who is asking for which office, forms, CSRF, rendering."""

from __future__ import annotations

import time
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from records.principal import Principal, Role
from server.access import current_principal, require
from server.errors import AppError
from server.i18n import N_
from server.identity.sessions import check_csrf_token, csrf_token
from server.identity.store import IdentityStore
from server.office.config import OfficeConfig
from server.office.ledger import Ledger
from server.settings import Settings
from server.templating import templates

OFFICE_ROLES: tuple[Role, ...] = ("staff", "admin")


def ledger_of(request: Request) -> Ledger:
    return Ledger.of(request.app.state.couch, request.app.state.settings)


def config_of(request: Request) -> OfficeConfig:
    """The office settings, read from the environment once, when the app was made (`create_app`)."""
    config: OfficeConfig = request.app.state.office_config
    return config


def staff_for_office(request: Request) -> tuple[Principal, str]:
    """Staff act for their own office; admins name one with `?office=`. Others get 401/403."""
    principal = current_principal(request)
    wanted = request.query_params.get("office") or (principal.office if principal else None)
    principal = require(request, *OFFICE_ROLES, office=wanted)
    if wanted is None:
        raise AppError(400, "bad_request", N_("Pilih kantor dengan ?office=<kode kantor>."))
    return principal, wanted


#: What a record of another office and a record that does not exist both answer: the same 404, so no page
#: tells staff whether another office's document, photo, seal or handover exists.
NOT_FOUND_REASON = N_("Catatan tidak ditemukan. Periksa nomornya.")


def staff_for_record(request: Request, office: str | None) -> Principal:
    """Staff or admin who may act for the office a record belongs to; another office's record is a 404.

    Routes ask `require(request, *OFFICE_ROLES)` before they read the record, so that the role answer
    (401/403) never depends on whether the record exists either.
    """
    principal = require(request, *OFFICE_ROLES)
    if not principal.can_act_for_office(office or ""):
        raise AppError(404, "not_found", NOT_FOUND_REASON)
    return principal


def _binding(principal: Principal) -> str:
    return principal.session_id or principal.token_id or principal.user_id


def form_token(request: Request, principal: Principal) -> str:
    settings: Settings = request.app.state.settings
    return csrf_token(settings, _binding(principal))


async def checked_form(request: Request, principal: Principal) -> FormData:
    """The posted form, after checking its CSRF token (a form from another site has none)."""
    form = await request.form(max_files=2, max_fields=500, max_part_size=6 * 1024 * 1024)
    token = form.get("csrf")
    if not check_csrf_token(
        request.app.state.settings, _binding(principal), token if isinstance(token, str) else None
    ):
        raise AppError(
            403,
            "forbidden",
            N_("Formulir kedaluwarsa atau bukan dari Segel. Muat ulang halaman lalu kirim lagi."),
        )
    return form


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


#: How long a page trusts the office zone it read (an office's zone changes once, if ever).
ZONE_TTL_S = 300.0


async def office_zone_of(request: Request, code: str) -> str:
    """The IANA zone an office's pages show times in (server/local_time.py), read from its identity record
    and kept for `ZONE_TTL_S` so a page load costs no extra request; pass it to `render` as `office_zone`."""
    cache: dict[str, tuple[str, float]] = request.app.state.office_zones  # made once by create_app
    hit = cache.get(code)
    if hit is not None and time.monotonic() - hit[1] < ZONE_TTL_S:
        return hit[0]
    zone = await IdentityStore(request.app.state.couch, request.app.state.settings).office_zone(code)
    cache[code] = (zone, time.monotonic())
    return zone


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    principal = current_principal(request)
    base: dict[str, Any] = {"principal": principal}
    if principal is not None:
        base["csrf"] = form_token(request, principal)
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)
