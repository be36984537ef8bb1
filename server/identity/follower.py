"""The process's one follower of the identity database's `_changes`, which keeps the principal cache honest.

Started and stopped with the app (`server/app.py` lifespan). It reads the database's `update_seq` first and
follows the feed from there, one longpoll after another (each from the `last_seq` of the one before, with
a heartbeat every half second while nothing changes), so no change made after that moment is missed; only
once the feed answers does the cache (`server/identity/principal_cache.py`) keep anything. Each changed
document is handed to the cache, which evicts what it touches. Sequences are passed back to the database
as they came, never read or compared.

When the feed breaks, the database is down, or nothing (not even a heartbeat) arrives for two seconds, the
cache is emptied and bypassed, and the follower starts again from a fresh `update_seq` after a back-off: an
instance that cannot see the identity database's changes authenticates by reading it, as if it had no cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from server.identity.principal_cache import STALE_AFTER_S, PrincipalCache
from store.couch import CouchError, CouchNotFound, CouchUnavailable
from store.identity import IdentityDocs

logger = logging.getLogger(__name__)

HEARTBEAT_MS = 500
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 10.0


class IdentityFollower:
    """Follows one identity database and tells `cache` what changed."""

    def __init__(
        self, docs: IdentityDocs, cache: PrincipalCache, *, heartbeat_ms: int = HEARTBEAT_MS
    ) -> None:
        self.docs = docs
        self.cache = cache
        self.heartbeat_ms = heartbeat_ms
        self._task: asyncio.Task[None] | None = None
        self._opened = False

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="identity-follower")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.cache.feed_lost()

    async def _run(self) -> None:
        delay = RETRY_FIRST_S
        while True:
            self._opened = False
            try:
                await self._follow()
            except CouchNotFound:
                logger.info("no identity database yet (bootstrap makes it); authenticating from the database")
                self.cache.feed_lost()
                await asyncio.sleep(RETRY_FIRST_S)  # bootstrap is at work: no back-off
                continue
            except (CouchError, CouchUnavailable) as exc:
                logger.warning("identity changes feed lost, authenticating from the database: %s", exc)
            except Exception:  # a bug here must not leave a cache trusted: bypass it and start again
                logger.exception("identity follower failed, authenticating from the database")
            self.cache.feed_lost()
            if self._opened:  # it was following: a new outage starts its back-off afresh
                delay = RETRY_FIRST_S
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    async def _follow(self) -> None:
        """Follow from the current `update_seq` until the feed breaks (raises): one longpoll after another,
        each from where the last one ended."""
        since = await self.docs.update_seq()
        db = self.docs.db.name
        while True:
            page = await self.docs.wait_for_changes(
                since, heartbeat_ms=self.heartbeat_ms, silence_s=STALE_AFTER_S, alive=self._alive
            )
            for change in page.changes:
                self.cache.changed(db, change.doc_id, change.rev)
            since = page.last_seq

    def _alive(self) -> None:
        if not self._opened:
            self._opened = True
            self.cache.feed_opened()
            logger.info("following the identity changes of %s", self.docs.db.name)
        self.cache.heard()
