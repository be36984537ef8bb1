"""The PWA shell routes: the same page for every app route, so a cold offline reload still opens the app.

Office staff and admins are sent to their desk pages instead: the app is the field crews' tool, and a staff
browser must not replicate the whole office's resident data (the gateway's scope for staff) into IndexedDB.
The app itself checks the role too (`pwa/static/js/data/sync.js`), for a shell served from the cache.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from server.access import current_principal
from server.identity.routes import OFFICE_ROLES
from server.static import manifest_response, service_worker_response
from server.templating import templates


async def shell(request: Request) -> Response:
    principal = current_principal(request)
    if principal is not None and principal.role in OFFICE_ROLES:
        return RedirectResponse("/office", status_code=303, headers={"Cache-Control": "no-store"})
    return templates.TemplateResponse(request, "shell.html", {}, headers={"Cache-Control": "no-cache"})


routes: list[BaseRoute] = [
    Route("/", shell),
    Route("/app", shell),
    Route("/sw.js", lambda request: service_worker_response()),
    Route("/manifest.webmanifest", lambda request: manifest_response()),
]
