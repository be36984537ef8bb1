"""What authentication read for a session or device token, kept in this process while the database agrees.

Authentication runs on every request; without this it reads the session (or token) and its user from the
identity database each time. The cache keeps both documents, keyed by (identity database, session or
token document id), and is trusted only while the process's one follower of the identity database's
`_changes` (`server/identity/follower.py`) is connected and has been heard from lately: every change of a
`user:`, `session:` or `token:` document evicts what it touches, within the time the feed takes to bring it
(milliseconds), on every instance at once. A revoked user or token, or an ended session, is therefore
refused by every instance within a second, and nothing about a session lives only here: the documents
stay in the database, the cache is only a copy, and a process that loses it loses nothing.

Fail safe, in four ways:
- while the follower is not connected, has errored or has been silent longer than `stale_after_s`, the
  cache is empty and bypassed (`get` answers None, `put` keeps nothing): authentication reads the database
  as it would without a cache;
- an entry read from the database before an eviction is never stored after it: a reader takes a `ticket`
  (the eviction generation) before its read, and `put` keeps nothing when a change of any user, session
  or token came from the feed, or the feed was lost or reconnected, since;
- every entry also expires `ttl_s` after it was read, a bound on the damage if a change ever went unseen;
- the documents are handed out as copies, so a caller's edits (the sliding expiry) never change the cache.

Passkeys (`credential:`) are not cached: a login and a signature check read the passkey each time, and a
session does not end when the passkey it was opened with is revoked (only when its user is revoked, it is
ended, or it expires), so a passkey's change evicts nothing here.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from records.types import JSONDict

#: (identity database, session or token document id)
Key = tuple[str, str]

MAX_ENTRIES = 10_000
#: Longer than a live phone's longpoll (at most a minute), so a waiting phone's reconnect is answered from
#: the cache: at 60 s each reconnect of a thousand waiting phones read the database again (about 17 reads a
#: second, growing with the phones, `scripts/bench/scale --only live`). Revocation does not wait for it
#: (the follower evicts within a second); it only bounds a change the feed might ever have missed.
TTL_S = 300.0
#: The follower asks for a heartbeat every half second; this long without a line from its feed (a link that
#: died without a reset, a stalled database) and the cache stops trusting itself.
STALE_AFTER_S = 2.0


@dataclass(frozen=True)
class _Entry:
    doc: JSONDict
    user: JSONDict
    read_at: float


class PrincipalCache:
    """Sessions and device tokens with their users, evicted by the identity follower; LRU-bounded."""

    def __init__(
        self,
        *,
        limit: int = MAX_ENTRIES,
        ttl_s: float = TTL_S,
        stale_after_s: float = STALE_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.ttl_s = ttl_s
        self.stale_after_s = stale_after_s
        self._clock = clock
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()
        #: (identity database, user id) -> the keys of that user's cached sessions and tokens.
        self._by_user: dict[Key, set[Key]] = {}
        #: Bumped by every eviction, feed loss and (re)connection: a ticket older than this is void.
        self._generation = 0
        self._feed_open = False
        self._heard_at = float("-inf")

    # ---- what the follower tells it ----------------------------------------------------------------

    def feed_opened(self) -> None:
        """The follower's feed is connected, from a sequence read before the cache is used."""
        self._generation += 1
        self._feed_open = True
        self._heard_at = self._clock()

    def heard(self) -> None:
        """A line (a change or a heartbeat) came from the feed. After a silence longer than `stale_after_s`
        whatever was kept is dropped: a feed that stalled may have stalled on the database's side too."""
        moment = self._clock()
        if moment - self._heard_at > self.stale_after_s:
            self.clear()
        self._heard_at = moment

    def feed_lost(self) -> None:
        """The feed broke or stopped: bypass the cache until it is connected again."""
        self._feed_open = False
        self.clear()

    def changed(self, db: str, doc_id: str, rev: str | None = None) -> None:
        """Evict whatever a change of document `doc_id` of identity database `db` touches: a user's every
        session and token, or the session or token itself; other documents evict nothing.

        A cached copy that already is revision `rev` stays (it was read after that change, e.g. the session
        a login just created). Any change voids every ticket, so a read still under way, which may have
        read the revision before this one, keeps nothing."""
        kind, _, rest = doc_id.partition(":")
        if kind not in ("user", "session", "token"):
            return
        self._generation += 1
        if kind == "user":
            keys = self._by_user.get((db, rest), set())
            stale = [key for key in keys if rev is None or self._entries[key].user.get("_rev") != rev]
        else:
            entry = self._entries.get((db, doc_id))
            stale = (
                [(db, doc_id)] if entry is not None and (rev is None or entry.doc.get("_rev") != rev) else []
            )
        for key in stale:
            self._drop(key, self._entries[key])

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()
        self._by_user.clear()

    # ---- what authentication asks ----------------------------------------------------------------

    @property
    def current(self) -> bool:
        """True while the follower is connected and was heard from within `stale_after_s`."""
        return self._feed_open and self._clock() - self._heard_at <= self.stale_after_s

    def get(self, key: Key) -> tuple[JSONDict, JSONDict] | None:
        """Copies of the cached document and its user, or None (not cached, too old, or cache not current)."""
        if not self.current:
            return None
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self._clock() - entry.read_at > self.ttl_s:
            self._drop(key, entry)
            return None
        self._entries.move_to_end(key)
        return dict(entry.doc), dict(entry.user)

    def ticket(self) -> int | None:
        """Taken before reading the database; None when nothing read now may be kept."""
        return self._generation if self.current else None

    def put(self, key: Key, doc: JSONDict, user: JSONDict, ticket: int | None) -> bool:
        """Keep what was read under `ticket`, unless anything was evicted (or the feed changed) since."""
        if ticket is None or ticket != self._generation or not self.current:
            return False
        old = self._entries.pop(key, None)
        if old is not None:
            self._unindex(key, old)
        self._entries[key] = _Entry(dict(doc), dict(user), self._clock())
        self._by_user.setdefault((key[0], str(doc.get("user_id"))), set()).add(key)
        while len(self._entries) > self.limit:
            oldest, entry = self._entries.popitem(last=False)
            self._unindex(oldest, entry)
        return True

    def forget(self, key: Key) -> None:
        """Evict one session or token (this process just changed it, or the feed says it changed)."""
        self._generation += 1
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._unindex(key, entry)

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, key: Key, entry: _Entry) -> None:
        del self._entries[key]
        self._unindex(key, entry)

    def _unindex(self, key: Key, entry: _Entry) -> None:
        owner = (key[0], str(entry.doc.get("user_id")))
        keys = self._by_user.get(owner)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._by_user[owner]
