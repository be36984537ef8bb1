"""Deny by default: every request is anonymous until identity says otherwise, and handlers ask for roles.

`AuthMiddleware` asks `server.identity.auth.authenticate` once per request and leaves the answer in
`request.state.principal`. Handlers call `require(request, ...)`, which raises a 401 (not signed in) or 403
(wrong role or office) with a reason the user can act on.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from records.principal import Principal, Role
from server.errors import AppError
from server.i18n import N_
from server.identity.auth import authenticate


class AuthMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        scope.setdefault("state", {})
        scope["state"]["principal"] = await authenticate(request)
        await self.app(scope, receive, send)


def current_principal(request: Request) -> Principal | None:
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal


def require(request: Request, *roles: Role, office: str | None = None) -> Principal:
    """The signed-in principal, if it has one of `roles` (any when none given) and may act for `office`."""
    principal = current_principal(request)
    if principal is None:
        raise AppError(401, "unauthorized", N_("Silakan masuk dengan passkey Anda dulu."))
    if roles and principal.role not in roles:
        raise AppError(403, "forbidden", N_("Peran Anda tidak diizinkan membuka ini."))
    if office is not None and not principal.can_act_for_office(office):
        raise AppError(403, "forbidden", N_("Ini milik kantor lain."))
    return principal
