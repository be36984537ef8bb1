"""The sync gateway: CouchDB replication protocol routes, mounted at /sync (filled in by the sync feature)."""

from __future__ import annotations

from starlette.routing import BaseRoute


def gateway_routes() -> list[BaseRoute]:
    return []
