"""The one reader of the records database's `_changes` in a process, feeding `sync.change_cache`.

It starts at the database's `update_seq` and asks for the next changes in longpolls (ids and every leaf
revision, no bodies), one round after another, always from the `last_seq` of the round before: after an
error it asks again from there, so an anchor noted in the cache stays a complete cut (see
`sync.change_cache`). Each round's changes get their scopes from `sync.visibility.record_scopes`; a seal,
handoff or photo also gets the scopes of its document (so a courier's waiting phone is woken by a photo of
a document assigned to them). Documents' scopes are remembered from the document changes the follower sees
and, when a linked record names a document it has not seen (or has forgotten), read once per round for
all such documents: one read per change per process, never per phone.

Bodies are taken from what this process's gateway has just stored when a change's one leaf is that very
revision (`sync.written_bodies`: the database would open each pushed record again right after storing it).
The others are read after the feed, in one `_all_docs` request per round, and only of live records that
can have a scope: a record's id names its type (`document:…`, `handoff:…`, the schemas' `_id` patterns),
and server documents (`refusal:`; receipts and seq claims live in a database of their own), design documents
and deletions have no scope. Reading them with the feed (`include_docs`) made the database open
and send three bodies for every record a phone pushed. The body read is the record's current winner,
which may be newer than the change: that newer change comes in a later round anyway.

Being wrong about a document's scopes for a moment (a cluster's feed is unordered, so a seal may come
before the assignment of its document) costs nothing: the pull judges every candidate by its current state
(`sync.replication.visible`), and a document that enters a courier's scope brings its linked records along
through the `by_link` view.

A round is short when it reached the end of the feed; then the follower pauses `pause_s` before asking
again, so changes arriving together are read together (the database sees a few requests a second however
many phones wait). A database that cannot go on from the sequence it was given (400: the database was
recreated) makes the cache start a new epoch from the current `update_seq`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence

from records.types import JSONDict
from store.couch import CouchError, CouchTimeout, CouchUnavailable, Database
from store.records import RecordsStore
from sync.change_cache import ScopeChangeCache
from sync.visibility import SYNCED_TYPES, linked_document_id, record_scopes
from sync.written_bodies import WrittenBodies

logger = logging.getLogger(__name__)

#: Changes asked for per round; a full round means the follower is behind and asks again at once.
FOLLOW_PAGE = 500
#: How long one longpoll waits for a change before the database answers empty (the follower's heartbeat).
FOLLOW_WAIT_MS = 10_000
#: Pause after a short round, so a burst of changes is read in one request rather than one by one.
FOLLOW_PAUSE_S = 0.2
#: Longest back-off between failed rounds.
MAX_BACKOFF_S = 5.0


class DocumentScopes:
    """Scopes of recently seen documents (least recently used forgotten first), for their linked records."""

    def __init__(self, max_documents: int, share: Callable[[Sequence[str]], tuple[str, ...]] = tuple) -> None:
        self.max_documents = max_documents
        self._share = share
        self._scopes: OrderedDict[str, tuple[str, ...]] = OrderedDict()

    def get(self, document_id: str) -> tuple[str, ...] | None:
        scopes = self._scopes.get(document_id)
        if scopes is not None:
            self._scopes.move_to_end(document_id)
        return scopes

    def put(self, document_id: str, document: Mapping[str, object] | None) -> None:
        """Remember a document's current scopes (none for a deleted or missing document)."""
        self._scopes[document_id] = self._share(record_scopes(document)) if document else ()
        self._scopes.move_to_end(document_id)
        while len(self._scopes) > self.max_documents:
            self._scopes.popitem(last=False)

    def __len__(self) -> int:
        return len(self._scopes)


class ChangeFollower:
    """Follows `_changes` of the records database into `cache`, for as long as its task runs."""

    def __init__(
        self,
        db: Database,
        cache: ScopeChangeCache,
        *,
        page: int = FOLLOW_PAGE,
        wait_ms: int = FOLLOW_WAIT_MS,
        pause_s: float = FOLLOW_PAUSE_S,
        written: WrittenBodies | None = None,
    ) -> None:
        self.db = db
        self.written = written
        self.cache = cache
        self.page = page
        self.wait_ms = wait_ms
        self.pause_s = pause_s
        self.documents = DocumentScopes(cache.max_entries, cache.share)

    async def run(self, ready: asyncio.Event | None = None) -> None:
        """Follow until cancelled; `ready` is set once the databases exist (bootstrap)."""
        if ready is not None:
            await ready.wait()
        since = await self._update_seq()
        self.cache.start(since)
        self.cache.heard(caught_up=True)  # it has just read where the feed ends
        failures = 0
        while True:
            try:
                since = await self._round(since)
            except CouchError as exc:
                if exc.status == 400:
                    logger.warning(
                        "change follower cannot go on from its sequence (%s); starting again", exc.error
                    )
                    since = await self._update_seq()
                    self.cache.reset(since)
                    self.cache.heard(caught_up=True)
                    continue
                failures = await self._failed(failures, exc)
                continue
            except CouchUnavailable as exc:
                failures = await self._failed(failures, exc)
                continue
            if failures:
                logger.info("change follower reading again after %d failed round(s)", failures)
                failures = 0

    async def _round(self, since: object) -> object:
        """Read and append one round of changes after `since`; the sequence to go on from."""
        try:
            feed = await RecordsStore(self.db).follow_changes(since, limit=self.page, wait_ms=self.wait_ms)
        except CouchTimeout:
            # The database took the longpoll and said nothing for its whole length (PouchDB Server ignores
            # a longpoll's timeout): nothing changed after `since`.
            self.cache.heard(caught_up=True)
            return since
        results: list[JSONDict] = feed.get("results", [])
        await self._read_bodies(results)
        changes = await self._scoped(results)
        caught_up = len(results) < self.page
        last_seq = feed.get("last_seq", since)
        self.cache.append(changes, last_seq, caught_up=caught_up)
        if results and caught_up:
            await asyncio.sleep(self.pause_s)
        return last_seq

    async def _failed(self, failures: int, exc: Exception) -> int:
        self.cache.lost()
        if failures == 0:
            logger.warning("change follower lost the database: %s", type(exc).__name__)
        await asyncio.sleep(min(MAX_BACKOFF_S, 0.25 * 2**failures))
        return failures + 1

    async def _update_seq(self) -> object:
        delay = 0.25
        while True:
            try:
                info = await self.db.info()
                return info.get("update_seq", 0)
            except (CouchError, CouchUnavailable) as exc:
                logger.warning("change follower cannot read the database yet: %s", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(MAX_BACKOFF_S, delay * 2)

    async def _read_bodies(self, results: list[JSONDict]) -> None:
        """Put the current body of each changed live record that can have a scope into its change (`doc`),
        in one request; other changes (server documents, deletions) keep none, and get no scope."""
        wanted: set[str] = set()
        for change in results:
            doc_id = str(change.get("id", ""))
            if change.get("deleted") or not _may_have_scope(doc_id):
                continue
            known = self.written.take(doc_id, _leaves(change)) if self.written is not None else None
            if known is not None:
                change["doc"] = known  # written by this process's gateway at this very revision
            else:
                wanted.add(doc_id)
        if not wanted:
            return
        found = await RecordsStore(self.db).current(wanted)
        for change in results:
            doc = found.get(str(change.get("id", "")))
            if doc is not None and "doc" not in change:
                change["doc"] = doc

    async def _scoped(self, results: list[JSONDict]) -> list[tuple[str, object, tuple[str, ...]]]:
        """(id, seq, scopes) of each change of a round; reads the documents of linked records it lacks."""
        for change in results:
            doc = change.get("doc")
            doc_id = str(change.get("id", ""))
            if doc_id.startswith("document:") and isinstance(doc, dict):
                # Documents first: within a round their scopes are current for the linked records after.
                self.documents.put(doc_id, doc if doc.get("type") == "document" else None)
        missing = {
            document_id
            for change in results
            if isinstance(change.get("doc"), dict)
            and (document_id := linked_document_id(change["doc"])) is not None
            and self.documents.get(document_id) is None
        }
        if missing:
            found = await RecordsStore(self.db).current(missing)
            for document_id in missing:
                self.documents.put(document_id, found.get(document_id))
            self.cache.stats.documents_read += len(missing)
        scoped: list[tuple[str, object, tuple[str, ...]]] = []
        for change in results:
            doc = change.get("doc")
            scopes: tuple[str, ...] = ()
            if isinstance(doc, dict):
                scopes = tuple(record_scopes(doc))
                document_id = linked_document_id(doc)
                if document_id is not None and scopes:
                    lent = self.documents.get(document_id) or ()
                    scopes += tuple(scope for scope in lent if scope not in scopes)
            scoped.append((str(change.get("id", "")), change.get("seq"), scopes))
        return scoped


def _leaves(change: Mapping[str, object]) -> list[str]:
    """The leaf revisions a change lists (`style=all_docs`)."""
    listed = change.get("changes")
    if not isinstance(listed, list):
        return []
    return [str(entry["rev"]) for entry in listed if isinstance(entry, dict) and "rev" in entry]


def _may_have_scope(doc_id: str) -> bool:
    """A record of a synced type, by its id (`<type>:…`): the only changes whose body gives a scope."""
    return doc_id.partition(":")[0] in SYNCED_TYPES
