"""Residents' routes (filled in by the office feature)."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
