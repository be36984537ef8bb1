"""Serving the app under uvicorn, the same way for `segel serve` and the development runner."""

from __future__ import annotations

from typing import Any

import uvicorn
from starlette.applications import Starlette

from server.settings import Settings
from sync.change_cache import ScopeChangeCache

#: Longest a shutdown waits for requests still running (an upload, say) before it cuts them: under the 10 s
#: a container runtime gives between its stop signal and a kill. A cut request loses nothing: a phone's push
#: is answered only once stored, and the phone sends again whatever was not answered.
GRACEFUL_SHUTDOWN_S = 8


class DrainingServer(uvicorn.Server):
    """uvicorn's server, whose shutdown first answers every held longpoll (`ScopeChangeCache.drain`).

    Without it a restart or a rolling deploy waits for each live phone's longpoll to run out (up to a
    minute) and then cuts it; drained, each phone gets an empty answer and asks again, elsewhere or later.
    """

    def __init__(self, config: uvicorn.Config, changes: ScopeChangeCache) -> None:
        super().__init__(config)
        self._changes = changes

    async def shutdown(self, sockets: list[Any] | None = None) -> None:
        self._changes.drain()
        await super().shutdown(sockets)


async def serve(app: Starlette, settings: Settings, **options: Any) -> None:
    """Serve `app` (made by `create_app`) on the settings' host and port until a stop signal."""
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,  # it prints query strings; server.logs.RequestIdMiddleware logs each request
        # Off: uvicorn would believe X-Forwarded-For from whatever --forwarded-allow-ips names. The client
        # address is worked out by server.proxies from SEGEL_TRUSTED_PROXIES (none by default).
        proxy_headers=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        **options,
    )
    await DrainingServer(config, app.state.sync_changes).serve()
