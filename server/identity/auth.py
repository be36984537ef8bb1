"""Turn a request's session cookie or device token into a Principal (or None: anonymous)."""

from __future__ import annotations

from starlette.requests import Request

from sync.principal import Principal


async def authenticate(request: Request) -> Principal | None:
    """Nobody is signed in until identity is built: deny by default."""
    return None
