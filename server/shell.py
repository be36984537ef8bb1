"""The PWA shell routes: the same page for every app route, so a cold offline reload still opens the app."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from server.static import manifest_response, service_worker_response
from server.templating import templates


async def shell(request: Request) -> Response:
    return templates.TemplateResponse(request, "shell.html", {}, headers={"Cache-Control": "no-cache"})


routes: list[BaseRoute] = [
    Route("/", shell),
    Route("/app", shell),
    Route("/sw.js", lambda request: service_worker_response()),
    Route("/manifest.webmanifest", lambda request: manifest_response()),
]
