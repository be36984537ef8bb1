"""The filtered `_changes` feed: what a principal may pull, at a cost that follows what they may see.

Behind one opaque `since` token (`sync.since_tokens`), a pull is in one of four phases:

* **initial** (`since=0`): note the process's change-cache anchor, then walk the principal's rows of the
  `by_scope` view (and, for couriers, each document's linked records through `by_link`). Only the user's
  own rows are read, so a first sync costs the same in a database of a thousand or a million. When the walk
  ends, the pull goes on from the anchor: everything committed after it is in the cache
  (`sync.change_cache`: an anchor is a complete cut).
* **cache** (every incremental pull): the entries of the principal's root scopes after the token's index,
  read from this process's cache; then those records, once, in one `_all_docs` request, judged by the
  visibility rules on their current state (the cache says where to look; `visible` decides). Other offices'
  and other couriers' changes are never read. A document shown brings its seals, handoffs and photos
  through `by_link` (they did not change, so no feed shows them when the document enters a courier's scope).
* **bridge**: a position this process's cache cannot serve (a token of another instance or of this one
  before a restart, whose sequence the cache has not read to exactly; a checkpoint of the previous token
  version). The global feed is read from its CouchDB sequence, but only `BRIDGE_ROWS` rows: a phone that
  moved between instances while live is seconds behind and crosses over cheaply; one that was away for a
  day restarts its initial pull instead, whose cost follows what it may see (its `_revs_diff` skips what it
  holds). Either way the pull then continues from an anchor noted before the read.
* **feed**: the global feed to its end, filtered here, as before the cache existed. Admins (who see
  everything) always read it; so does everyone while the process's follower is not healthy (correctness
  first: the cache is trusted only when caught up), and the end of a walk whose anchor another instance
  noted (the walk may have lasted minutes; bounding it could restart it forever).

Every row carries its own resumable token as `seq`, because PouchDB resumes from the `seq` of the last row
it got, not from `last_seq`. A row's linked records follow it with the same token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from records.principal import Principal
from records.types import JSONDict
from store.couch import Database
from store.records import RecordsStore
from sync.change_cache import Anchor, ScopeChangeCache
from sync.replication import linked_documents, visible
from sync.since_tokens import Position, TokenSigner
from sync.visibility import follows_links, root_scopes, sees_everything

#: Rows read from CouchDB's `_changes` per round trip while filtering.
FEED_PAGE = 500
#: Longest one `_changes` request keeps reading past invisible changes.
FEED_BUDGET_S = 20.0
#: Rows of the global feed a bridge may read before it gives up and restarts the user's initial pull.
BRIDGE_ROWS = 1000
MAX_LIMIT = 1000


@dataclass
class ChangesPage:
    results: list[JSONDict] = field(default_factory=list)
    last_seq: str = ""
    #: Where the page ended, for a longpoll to go on from.
    next: Position = field(default_factory=lambda: Position("feed"))


def _row(doc_id: str, revs: list[str], token: str) -> JSONDict:
    return {"seq": token, "id": doc_id, "changes": [{"rev": rev} for rev in revs]}


def _revs(doc: Mapping[str, object]) -> list[str]:
    conflicts = doc.get("_conflicts")
    return (
        [str(doc["_rev"]), *(str(rev) for rev in conflicts)]
        if isinstance(conflicts, list)
        else [str(doc["_rev"])]
    )


def _finish(page: ChangesPage, position: Position, signer: TokenSigner) -> None:
    page.next = position
    page.last_seq = signer.encode(position)


async def start_position(
    db: Database, cache: ScopeChangeCache, principal: Principal, since: object, signer: TokenSigner
) -> Position:
    position = signer.decode(since)
    if position is not None:
        return position
    if since == "now":
        anchor = cache.position()
        if anchor is not None and cache.healthy() and not sees_everything(principal):
            return Position("cache", anchor=anchor)
        return Position("feed", (await db.info()).get("update_seq", 0))
    if sees_everything(principal):
        return Position("feed", 0)
    return await initial_position(db, cache)


async def initial_position(db: Database, cache: ScopeChangeCache) -> Position:
    """The start of an initial pull: the cache's anchor noted now, before any view is read."""
    anchor = cache.position()
    if anchor is not None:
        return Position("initial", anchor.seq, anchor)
    return Position("initial", (await db.info()).get("update_seq", 0))


async def read_changes(
    db: Database,
    cache: ScopeChangeCache,
    principal: Principal,
    position: Position,
    limit: int,
    signer: TokenSigner,
) -> ChangesPage:
    """One page of at most `limit` visible changes (more only when a document brings its linked records)."""
    page = ChangesPage()
    if sees_everything(principal):
        seq = position.anchor.seq if position.phase == "cache" and position.anchor else position.seq
        await _read_feed(db, cache, principal, Position("feed", seq), limit, page, signer, handover=None)
        return page
    if position.phase == "initial":
        await _read_initial(db, principal, position, limit, page, signer)
        if page.results:
            return page
        walked = position.anchor
        if walked is None:
            position = Position("feed", position.seq)
        elif cache.usable(walked):
            position = Position("cache", anchor=walked)
        else:
            # Noted by another instance (or before a restart): read the global feed from where the walk
            # began, to its end, however long; a bounded bridge could make a long walk start over forever.
            position = Position("feed", walked.seq)
    if position.phase == "cache" and position.anchor is not None:
        anchor = position.anchor
        if cache.usable(anchor):
            if cache.healthy():
                await _read_cache(db, cache, principal, anchor, limit, page, signer)
                return page
            position = Position("feed", anchor.seq)
        elif anchor.epoch == cache.epoch:
            # This cache's own token, but the entries after it were evicted: more changes than the cache
            # holds happened since, so a bridge would not get across. Start the user's pull again.
            return await _restart(db, cache, principal, limit, signer)
        else:
            position = Position("bridge", anchor.seq)
    if position.phase == "bridge" and cache.healthy():
        matched = cache.find(position.seq)
        if matched is not None:
            await _read_cache(db, cache, principal, matched, limit, page, signer)
            return page
        handover = cache.position()
        over_budget = await _read_feed(
            db, cache, principal, position, limit, page, signer, handover=handover, max_rows=BRIDGE_ROWS
        )
        if not over_budget:
            return page
        return await _restart(db, cache, principal, limit, signer)
    await _read_feed(db, cache, principal, position, limit, page, signer, handover=cache.position())
    return page


async def _restart(
    db: Database, cache: ScopeChangeCache, principal: Principal, limit: int, signer: TokenSigner
) -> ChangesPage:
    """The user's initial pull from the start, as for `since=0`."""
    return await read_changes(db, cache, principal, await initial_position(db, cache), limit, signer)


async def _read_initial(
    db: Database, principal: Principal, position: Position, limit: int, page: ChangesPage, signer: TokenSigner
) -> None:
    scopes = root_scopes(principal)
    index, last_id = position.scope_index, position.last_id

    def at(scope_index: int, row_id: str | None) -> Position:
        return Position("initial", position.seq, position.anchor, scope_index, row_id)

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
            token = signer.encode(at(index, str(row["id"])))
            page.results.append(_row(str(row["id"]), list(row["value"]), token))
            for linked_id, revs in linked.get(str(row["id"]), []):
                page.results.append(_row(linked_id, revs, token))
        last_id = str(rows[-1]["id"])
    _finish(page, at(index, last_id), signer)


async def _linked_rows(db: Database, document_ids: list[str]) -> dict[str, list[tuple[str, list[str]]]]:
    """Seals, handoffs and photos of these documents (one view request), by document id."""
    linked: dict[str, list[tuple[str, list[str]]]] = {}
    if not document_ids:
        return linked
    for row in await db.view_keys("gateway", "by_link", document_ids):
        linked.setdefault(str(row["key"]), []).append((str(row["id"]), list(row["value"])))
    return linked


async def _append_shown(
    db: Database,
    principal: Principal,
    shown: list[tuple[str, str, list[str], bool]],
    page: ChangesPage,
) -> None:
    """Rows for (token, id, revs, is_document) in order; each shown document followed by its linked ones."""
    documents = (
        [doc_id for _, doc_id, _, is_document in shown if is_document] if follows_links(principal) else []
    )
    linked = await _linked_rows(db, documents)
    for token, doc_id, revs, _ in shown:
        page.results.append(_row(doc_id, revs, token))
        for linked_id, linked_revs in linked.get(doc_id, []):
            page.results.append(_row(linked_id, linked_revs, token))


async def _read_cache(
    db: Database,
    cache: ScopeChangeCache,
    principal: Principal,
    anchor: Anchor,
    limit: int,
    page: ChangesPage,
    signer: TokenSigner,
) -> None:
    """Changes of the principal's scopes after `anchor`, from the cache; each candidate read, judged now."""
    end = cache.position()
    assert end is not None  # a usable anchor means the cache has started
    scopes = root_scopes(principal)
    after = anchor
    store = RecordsStore(db)
    deadline = time.monotonic() + FEED_BUDGET_S
    while len(page.results) < limit and time.monotonic() < deadline:
        entries = cache.entries_after(scopes, after.index, end.index, limit)
        if not entries:
            after = end
            break
        latest = {entry.doc_id: entry.index for entry in entries}
        rows = await store.current_rows(latest, conflicts=True)
        docs = {str(row["id"]): row["doc"] for row in rows if isinstance(row.get("doc"), dict)}
        documents = await linked_documents(db, docs.values(), principal, docs)
        shown: list[tuple[str, str, list[str], bool]] = []
        for entry in entries:
            after = Anchor(end.epoch, entry.index, entry.seq)
            if latest[entry.doc_id] != entry.index:
                continue  # the same record again further on: shown there, at its latest place
            doc = docs.get(entry.doc_id)
            if doc is None or not visible(doc, principal, documents):
                continue
            token = signer.encode(Position("cache", anchor=after))
            shown.append((token, entry.doc_id, _revs(doc), doc.get("type") == "document"))
            if len(page.results) + len(shown) >= limit:
                break
        await _append_shown(db, principal, shown, page)
    _finish(page, Position("cache", anchor=after), signer)


async def _read_feed(
    db: Database,
    cache: ScopeChangeCache,
    principal: Principal,
    position: Position,
    limit: int,
    page: ChangesPage,
    signer: TokenSigner,
    *,
    handover: Anchor | None,
    max_rows: int | None = None,
) -> bool:
    """Read the global feed from `position.seq`, keeping what the principal may see.

    On reaching the end, the pull continues from `handover` (an anchor noted before this read) if the
    cache is healthy and still holds it. Returns True when `max_rows` rows were read without reaching the
    end and without filling the page (a bridge too long to cross).
    """
    mode = "bridge" if position.phase == "bridge" else "feed"
    since = position.seq
    deadline = time.monotonic() + FEED_BUDGET_S
    read = 0
    reached_end = False
    while len(page.results) < limit:
        if time.monotonic() > deadline:
            # A phone far behind in a busy database: answer where we got to rather than hold the request
            # for minutes. Live replication (the PWA) just asks again from there; a one-shot pull ends here
            # and goes on from its checkpoint next time.
            break
        if max_rows is not None and read >= max_rows:
            return True
        feed = await RecordsStore(db).changes_since(since, FEED_PAGE)
        changes = feed.get("results", [])
        read += len(changes)
        if not changes:
            since = feed.get("last_seq", since)
            reached_end = True
            break
        docs = [change["doc"] for change in changes if isinstance(change.get("doc"), dict)]
        known = {str(doc["_id"]): doc for doc in docs}
        documents = await linked_documents(db, docs, principal, known)
        shown: list[tuple[str, str, list[str], bool]] = []
        for change in changes:
            doc = change.get("doc")
            since = change["seq"]
            if not isinstance(doc, dict) or not visible(doc, principal, documents):
                continue
            token = signer.encode(Position(mode, change["seq"]))
            revs = [item["rev"] for item in change["changes"]]
            shown.append((token, str(change["id"]), revs, doc.get("type") == "document"))
            if len(page.results) + len(shown) >= limit:
                break
        await _append_shown(db, principal, shown, page)
        if len(changes) < FEED_PAGE and len(page.results) < limit:
            since = feed.get("last_seq", since)
            reached_end = True
            break
    if reached_end and handover is not None and cache.usable(handover) and cache.healthy():
        _finish(page, Position("cache", anchor=handover), signer)
    else:
        _finish(page, Position(mode, since), signer)
    return False
