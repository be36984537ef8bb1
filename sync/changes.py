"""The filtered `_changes` feed: what a principal may pull, at a cost that grows with what they may see.

Two phases, both behind one opaque `since` token that PouchDB stores as its checkpoint:

* **initial** (`since=0`): note the database's `update_seq` S, then walk the principal's rows of the
  `by_scope` view (and, for couriers, each document's linked records through `by_link`). Only the user's
  own rows are read, so a courier's first sync costs the same in a database of a thousand or a million.
* **incremental** (from S on): read the global `_changes` feed since the checkpoint and keep what the
  visibility rules allow. Work is proportional to what changed since the last sync. The feed reads on
  until it has visible changes or reaches the end, because PouchDB takes an empty page as "done".

Every row carries its own resumable token as `seq`, because PouchDB resumes from the `seq` of the last row
it got, not from `last_seq`. A token this gateway does not recognise (an old checkpoint) restarts the
initial pull, which is always safe: the client's `_revs_diff` skips what it has.

Tokens are signed (HMAC-SHA256 with a key derived from the server's secret) and bound to the user they were
given to. A forged, altered or another user's token is treated as unknown, so it restarts the user's own
initial pull, whose cost follows what the user may see; it can never point the gateway at the start of
the global feed (a scan of the whole database, up to FEED_BUDGET_S per request).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field

from records.principal import Principal
from records.types import JSONDict
from store.couch import CouchError, CouchUnavailable, Database
from store.records import RecordsStore
from sync.replication import linked_documents, visible
from sync.visibility import follows_links, root_scopes, sees_everything

#: Rows read from CouchDB's `_changes` per round trip while filtering.
FEED_PAGE = 500
#: Longest one `_changes` request keeps reading past invisible changes.
FEED_BUDGET_S = 20.0
MAX_LIMIT = 1000


@dataclass(frozen=True)
class Position:
    """Where a client is: in the initial phase (scope index and last root id) or following `_changes`."""

    phase: str  # "initial" or "feed"
    base_seq: object  # initial: the update_seq the walk started at; feed: the CouchDB seq
    scope_index: int = 0
    last_id: str | None = None


#: Token version: "s2" tokens are signed. Older unsigned "s1" tokens are unknown (restart the initial pull).
TOKEN_PREFIX = "s2-"
_MAC_BYTES = 16


@dataclass(frozen=True)
class TokenSigner:
    """Signs and checks `since` tokens for one user; `key` comes from `since_key(secret)`."""

    key: bytes
    subject: str

    def _mac(self, body: str) -> str:
        message = f"{self.subject}\x00{body}".encode()
        digest = hmac.new(self.key, message, hashlib.sha256).digest()[:_MAC_BYTES]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def encode(self, position: Position) -> str:
        payload = [position.phase[0], position.base_seq, position.scope_index, position.last_id]
        raw = json.dumps(payload, separators=(",", ":")).encode()
        body = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return f"{TOKEN_PREFIX}{body}.{self._mac(body)}"

    def decode(self, token: object) -> Position | None:
        """The position a token names, or None for "from the beginning" (0, absent, unsigned or forged)."""
        if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX) or len(token) > 2048:
            return None
        body, _, mac = token[len(TOKEN_PREFIX) :].partition(".")
        if not hmac.compare_digest(mac.encode(), self._mac(body).encode()):
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
            return None
        if not (isinstance(payload, list) and len(payload) == 4 and payload[0] in ("i", "f")):
            return None
        phase, base_seq, scope_index, last_id = payload
        if not isinstance(scope_index, int) or scope_index < 0:
            return None
        if not (last_id is None or isinstance(last_id, str)):
            return None
        return Position("initial" if phase == "i" else "feed", base_seq, scope_index, last_id)


def since_key(secret: str) -> bytes:
    """The token key, derived from the server secret so it is the same on every instance."""
    return hmac.new(secret.encode(), b"segel-since-token-v2", hashlib.sha256).digest()


def signer_for(secret: str, principal: Principal) -> TokenSigner:
    return TokenSigner(since_key(secret), principal.user_id)


@dataclass
class ChangesPage:
    results: list[JSONDict] = field(default_factory=list)
    last_seq: str = ""
    #: Where the feed stopped, for a longpoll wait to continue from.
    feed_seq: object = None


def _row(doc_id: str, revs: list[str], token: str) -> JSONDict:
    return {"seq": token, "id": doc_id, "changes": [{"rev": rev} for rev in revs]}


async def start_position(db: Database, principal: Principal, since: object, signer: TokenSigner) -> Position:
    position = signer.decode(since)
    if position is not None:
        return position
    info = await db.info()
    if since == "now":
        return Position("feed", info.get("update_seq", 0))
    if sees_everything(principal):
        return Position("feed", 0)
    return Position("initial", info.get("update_seq", 0))


async def read_changes(
    db: Database, principal: Principal, position: Position, limit: int, signer: TokenSigner
) -> ChangesPage:
    """One page of at most `limit` visible changes (more only when a document brings its linked records)."""
    page = ChangesPage()
    if position.phase == "initial":
        await _read_initial(db, principal, position, limit, page, signer)
        if page.results:
            return page
        position = Position("feed", position.base_seq)
    await _read_feed(db, principal, position, limit, page, signer)
    return page


async def _read_initial(
    db: Database, principal: Principal, position: Position, limit: int, page: ChangesPage, signer: TokenSigner
) -> None:
    scopes = root_scopes(principal)
    index, last_id = position.scope_index, position.last_id
    while index < len(scopes) and len(page.results) < limit:
        scope = scopes[index]
        params: dict[str, str | int | bool] = {
            "startkey": json.dumps([scope, last_id or ""]),
            "endkey": json.dumps([scope, {}]),
            "limit": limit + 1,
        }
        rows = [row for row in await db.view_rows("gateway", "by_scope", **params) if row["id"] != last_id][
            :limit
        ]
        if not rows:
            index, last_id = index + 1, None
            continue
        linked = await _linked_rows(db, [str(row["id"]) for row in rows]) if follows_links(principal) else {}
        for row in rows:
            token = signer.encode(Position("initial", position.base_seq, index, str(row["id"])))
            page.results.append(_row(str(row["id"]), list(row["value"]), token))
            for linked_id, revs in linked.get(str(row["id"]), []):
                page.results.append(_row(linked_id, revs, token))
        last_id = str(rows[-1]["id"])
    page.last_seq = signer.encode(Position("initial", position.base_seq, index, last_id))


async def _linked_rows(db: Database, document_ids: list[str]) -> dict[str, list[tuple[str, list[str]]]]:
    """Seals, handoffs and photos of these documents (one view request), by document id."""
    linked: dict[str, list[tuple[str, list[str]]]] = {}
    for row in await db.view_keys("gateway", "by_link", document_ids):
        linked.setdefault(str(row["key"]), []).append((str(row["id"]), list(row["value"])))
    return linked


async def _read_feed(
    db: Database, principal: Principal, position: Position, limit: int, page: ChangesPage, signer: TokenSigner
) -> None:
    since = position.base_seq
    deadline = time.monotonic() + FEED_BUDGET_S
    while len(page.results) < limit:
        if time.monotonic() > deadline:
            # A phone far behind in a busy database: answer where we got to rather than hold the request
            # for minutes. Live replication (the PWA) just asks again from there; a one-shot pull ends here
            # and goes on from its checkpoint next time.
            break
        feed = await RecordsStore(db).changes_since(since, FEED_PAGE)
        changes = feed.get("results", [])
        if not changes:
            since = feed.get("last_seq", since)
            break
        docs = [change["doc"] for change in changes if isinstance(change.get("doc"), dict)]
        known = {str(doc["_id"]): doc for doc in docs}
        documents = await linked_documents(db, docs, principal, known)
        shown_documents: list[str] = []
        for number, change in enumerate(changes):
            doc = change.get("doc")
            since = change["seq"]
            if not isinstance(doc, dict) or not visible(doc, principal, documents):
                continue
            token = signer.encode(Position("feed", change["seq"]))
            page.results.append(_row(str(change["id"]), [item["rev"] for item in change["changes"]], token))
            if doc.get("type") == "document" and follows_links(principal):
                shown_documents.append(str(doc["_id"]))
            if len(page.results) >= limit and number + 1 < len(changes):
                break
        if shown_documents:
            # A document that just became visible brings its seals, handoffs and photos along: they did
            # not change, so the feed alone would never show them. `_revs_diff` skips those already held.
            linked = await _linked_rows(db, shown_documents)
            for document_id in shown_documents:
                token = next(row["seq"] for row in page.results if row["id"] == document_id)
                for linked_id, revs in linked.get(document_id, []):
                    page.results.append(_row(linked_id, revs, token))
        if len(changes) < FEED_PAGE and len(page.results) < limit:
            since = feed.get("last_seq", since)
            break
    page.feed_seq = since
    page.last_seq = signer.encode(Position("feed", since))


class ChangeWatcher:
    """One longpoll on CouchDB's `_changes` per process, waking every waiting client when anything changes.

    Live clients hold their longpoll request at the gateway, not at CouchDB: a hundred phones waiting cost
    one CouchDB connection, not a hundred (the connection pool is small on purpose). A waiter that wakes
    re-reads the feed from its own position, so a change that slipped in between is never missed; the
    watcher only makes that prompt. It stops by itself a minute after the last waiter left.
    """

    IDLE_S = 60.0

    def __init__(self, db: Database) -> None:
        self.db = db
        self._event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._waiters = 0

    async def wait(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for any change in the database; True when one arrived."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._watch())
        event = self._event
        self._waiters += 1
        try:
            await asyncio.wait_for(event.wait(), timeout_s)
            return True
        except TimeoutError:
            return False
        finally:
            self._waiters -= 1

    async def _watch(self) -> None:
        since: object = "now"
        idle_since = time.monotonic()
        while True:
            if self._waiters:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > self.IDLE_S:
                return
            try:
                feed = await RecordsStore(self.db).wait_for_change(since)
            except (CouchUnavailable, CouchError):
                await asyncio.sleep(1.0)
                continue
            since = feed.get("last_seq", since)
            if feed.get("results"):
                event, self._event = self._event, asyncio.Event()
                event.set()
