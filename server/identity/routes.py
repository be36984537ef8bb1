"""Identity routes: who am I, logout (enrollment and login pages are added below them)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from server.access import require
from server.identity.audit import record_event
from server.identity.sessions import clear_session_cookie
from server.identity.store import IdentityStore


async def me(request: Request) -> Response:
    """The signed-in user as the PWA needs it, including the passkeys it may sign with offline."""
    principal = require(request)
    store = IdentityStore(request.app.state.couch, request.app.state.settings)
    credentials = await store.credentials_of(principal.user_id)
    return JSONResponse(
        {
            "user_id": principal.user_id,
            "name": principal.name,
            "role": principal.role,
            "office": principal.office,
            "partner": principal.partner,
            "van": principal.van,
            "credential_ids": [c["credential_id"] for c in credentials if not c.get("revoked")],
        },
        headers={"Cache-Control": "no-store"},
    )


async def logout(request: Request) -> Response:
    """End the server-side session at once; the cookie is cleared too."""
    principal = require(request)
    settings = request.app.state.settings
    store = IdentityStore(request.app.state.couch, settings)
    if principal.session_id:
        await store.end_session(principal.session_id)
        await record_event(request.app.state.couch, settings, "logged_out", user_id=principal.user_id,
                           office=principal.office)
    response = JSONResponse({"ok": True})
    clear_session_cookie(response, settings)
    return response


routes: list[BaseRoute] = [
    Route("/auth/me", me),
    Route("/auth/logout", logout, methods=["POST"]),
]
