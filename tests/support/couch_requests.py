"""The app in-process with a record of every request it sends to the database, for tests that say what a
gateway request costs the database (which requests, which record ids), not only what it answers.

The app runs under its real lifespan (bootstrap, the change follower) and is spoken to through httpx's ASGI
transport; the database is the real one, reached through a real connection pool whose transport notes each
request before sending it on.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import anyio
import httpx
from starlette.applications import Starlette

from server.app import create_app
from server.settings import Settings
from store.couch import CouchClient
from sync.change_cache import ScopeChangeCache


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    params: dict[str, str]
    keys: tuple[str, ...]

    @property
    def follower(self) -> bool:
        """The change follower's own longpoll (every other `_changes` read is a pull's)."""
        return self.path.endswith("/_changes") and self.params.get("feed") == "longpoll"

    @property
    def global_feed(self) -> bool:
        return self.path.endswith("/_changes") and not self.follower


@dataclass
class RecordingTransport(httpx.AsyncHTTPTransport):
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        keys: tuple[str, ...] = ()
        try:
            body = json.loads(request.content) if request.content else None
        except (ValueError, httpx.RequestNotRead):
            body = None
        if isinstance(body, dict) and isinstance(body.get("keys"), list):
            keys = tuple(str(key) for key in body["keys"])
        url = urlsplit(str(request.url))
        self.seen.append(Seen(request.method, url.path, dict(parse_qsl(url.query)), keys))
        return await super().handle_async_request(request)

    def since(self, mark: int, database: str) -> list[Seen]:
        """Requests to `database` after `mark` (a `len(seen)` taken earlier), the follower's left out."""
        return [
            seen for seen in self.seen[mark:] if seen.path.startswith(f"/{database}") and not seen.follower
        ]


@dataclass
class InProcessApp:
    app: Starlette
    client: httpx.AsyncClient
    recorder: RecordingTransport

    @property
    def cache(self) -> ScopeChangeCache:
        cache: ScopeChangeCache = self.app.state.sync_changes
        return cache

    async def settled(self, changes: int, timeout: float = 30.0) -> None:
        """Wait until the follower has read `changes` changes in all and is caught up."""
        await wait_until(lambda: self.cache.stats.changes >= changes and self.cache.healthy(), timeout)


async def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await anyio.sleep(0.05)


@asynccontextmanager
async def in_process_app(settings: Settings) -> AsyncIterator[InProcessApp]:
    recorder = RecordingTransport()
    couch = CouchClient(
        settings.couchdb_url,
        settings.couchdb_user,
        settings.couchdb_password,
        write_quorum=settings.couchdb_write_quorum,
        transport=recorder,
    )
    app = create_app(settings, couch)
    async with app.router.lifespan_context(app):
        await wait_until(lambda: app.state.bootstrap_done.is_set() and app.state.sync_changes.healthy())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as client:
            yield InProcessApp(app, client, recorder)
