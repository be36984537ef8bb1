"""Identity routes: enrollment, login, logout (filled in by the identity feature)."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
