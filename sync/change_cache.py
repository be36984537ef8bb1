"""One process's memory of recent changes to the records database, indexed by scope.

Like Couchbase Sync Gateway's channel cache: one follower per process (`sync.change_follower`) reads the
database's `_changes` once, and every change it reads is appended here with a process-local index (1, 2,
3, ...) and the scopes it lives under (`sync.visibility`). An incremental pull then reads only the entries
of its user's root scopes after the index its token names, and a waiting live phone is woken only by an
entry of its scopes. Neither reads the global feed, so what a user's pull costs follows what that user may
see, not what every other office changed.

What the cache promises, and what rests on it:

* **An anchor is a complete cut.** `position()` names the last index and the CouchDB sequence the cache has
  read to. Every change committed after that point will be appended with a greater index, because the
  follower only ever goes on from the sequence it last read (after an error too). So a reader that notes an
  anchor and *then* reads the database's current state (the views of an initial pull, the global feed up to
  its end) misses nothing when it continues from the anchor afterwards: what it read covers everything up
  to the anchor, the cache everything after. Rows read twice are harmless (`_revs_diff` skips them).
* **The cache answers what it has.** While the follower lags, a pull answers the entries it has and the
  next pull gets the rest; `healthy()` says whether the follower is caught up and heard from recently
  enough to be trusted at all (callers fall back to the global feed otherwise).
* **An epoch is one life of the cache.** Indices mean nothing outside it. A token of another epoch (another
  instance, a restart) continues from an entry here only when its CouchDB sequence string is *exactly*
  the sequence this cache read to at that entry (`find`): an equal sequence string is the same position of
  the same database's feed (on a cluster, the same position of every shard range), so the entries after it
  are the feed after that position, whoever read them. Nothing else about sequences is ever compared.
* **Bounded.** At most `max_entries` entries (changes with no scope, such as receipts, take an index but
  are not stored). A token whose index has been evicted is no longer served from here.

Entries keep no record bodies: the id, the CouchDB sequence and the scopes (tuples shared between entries
of the same scopes). `tests/unit/test_change_cache.py` measures what an entry and a waiter cost.
"""

from __future__ import annotations

import asyncio
import heapq
import secrets
import sys
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

#: Entries kept by default (SEGEL_CHANGE_CACHE_ENTRIES): about a day of a province's records.
DEFAULT_MAX_ENTRIES = 200_000
#: A follower not heard from for this long is not trusted (its longpoll answers at least every 10 s).
DEFAULT_STALE_AFTER_S = 25.0
#: Distinct scope tuples interned before the table is started again (there are a few per courier and van).
_MAX_SHARED_SCOPE_TUPLES = 100_000


@dataclass(frozen=True)
class Anchor:
    """A place in one cache: its epoch, an index, and the CouchDB sequence read to at that index."""

    epoch: str
    index: int
    seq: object


class Entry:
    """One change the follower read: which record, at which sequence, under which scopes."""

    __slots__ = ("doc_id", "index", "scopes", "seq")

    def __init__(self, index: int, doc_id: str, seq: object, scopes: tuple[str, ...]) -> None:
        self.index = index
        self.doc_id = doc_id
        self.seq = seq
        self.scopes = scopes


def _index_of(entry: Entry) -> int:
    return entry.index


class _ScopeLog:
    """The entries of one scope in index order; evicted ones are skipped by `head`, then cut off in bulk."""

    __slots__ = ("entries", "head")

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.head = 0

    def drop_first(self) -> None:
        self.head += 1
        if self.head >= 64 and self.head * 2 >= len(self.entries):
            del self.entries[: self.head]
            self.head = 0

    def __len__(self) -> int:
        return len(self.entries) - self.head


class Waiter:
    """A live phone waiting for a change of its scopes: a flag, and a future only while it waits.

    Used as a context manager (`ScopeChangeCache.watch`): registered on entry, gone on exit.
    """

    __slots__ = ("_cache", "_future", "_woken", "everything", "scopes")

    def __init__(self, cache: ScopeChangeCache, scopes: tuple[str, ...], everything: bool) -> None:
        self._cache = cache
        self.scopes = scopes
        self.everything = everything
        self._future: asyncio.Future[None] | None = None
        self._woken = False

    def __enter__(self) -> Waiter:
        self._cache._register(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self._cache._unregister(self)

    def wake(self) -> None:
        self._woken = True
        if self._future is not None and not self._future.done():
            self._future.set_result(None)

    async def wait(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for a wake-up; True when woken. A wake-up that came since the last wait
        counts at once, so a change appended between a reader's look and its wait is never slept through."""
        if not self._woken:
            loop = asyncio.get_running_loop()
            future = self._future = loop.create_future()
            timer = loop.call_later(max(0.0, timeout_s), _expire, future)
            try:
                await future
            finally:
                timer.cancel()
                self._future = None
        woken, self._woken = self._woken, False
        return woken


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


@dataclass
class CacheStats:
    """Counters, for tests and the operator: what the follower read and what the cache did with it."""

    rounds: int = 0
    changes: int = 0
    stored: int = 0
    evicted: int = 0
    wakeups: int = 0
    documents_read: int = 0
    resets: int = 0


class ScopeChangeCache:
    """Recent changes by scope, appended by one follower, read by pulls and waiters (module docstring)."""

    def __init__(
        self,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        *,
        stale_after_s: float = DEFAULT_STALE_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.stale_after_s = stale_after_s
        self._clock = clock
        self.stats = CacheStats()
        self._waiters: dict[str, set[Waiter]] = {}
        self._everything: set[Waiter] = set()
        self._draining = False
        self._clear()

    def _clear(self) -> None:
        self.epoch = secrets.token_hex(8)
        self._entries: deque[Entry] = deque()
        self._scopes: dict[str, _ScopeLog] = {}
        self._shared: dict[tuple[str, ...], tuple[str, ...]] = {}
        #: CouchDB sequence -> the latest retained index at which the cache had read exactly to it.
        self._seqs: dict[object, int] = {}
        #: (index, seq) of the ends of the follower's rounds, oldest first, to forget them with eviction.
        self._marks: deque[tuple[int, object]] = deque()
        self._index = 0
        self._seq: object = None
        self._started = False
        self._evicted_through = 0
        self._caught_up = False
        self._heard_at = float("-inf")

    # ---- the follower's side ----------------------------------------------------------------------------

    def start(self, seq: object) -> None:
        """Begin at CouchDB sequence `seq` (the database's update_seq when the follower started)."""
        self._seq = seq
        self._started = True
        self._mark(0, seq)

    def drain(self) -> None:
        """The server is shutting down: every held longpoll answers now (empty) and none waits from here on,
        so a restart or a rolling deploy waits for no phone, and each phone reconnects at once elsewhere."""
        self._draining = True
        self._wake_all()

    @property
    def draining(self) -> bool:
        return self._draining

    def reset(self, seq: object) -> None:
        """Forget everything and begin a new epoch at `seq` (the follower could not go on where it was)."""
        self._clear()
        self.stats.resets += 1
        self.start(seq)
        self._wake_all()

    def append(
        self, changes: Iterable[tuple[str, object, Sequence[str]]], last_seq: object, *, caught_up: bool
    ) -> None:
        """Append one round of the follower: (record id, CouchDB seq, scopes) per change, in feed order,
        then the round's `last_seq`. Wakes the waiters of every scope touched."""
        if not self._started:
            raise RuntimeError("start() the cache before appending to it")
        touched: set[str] = set()
        stored = False
        for doc_id, seq, scopes in changes:
            self._index += 1
            self._seq = seq
            self.stats.changes += 1
            if not scopes:
                continue
            entry = Entry(self._index, doc_id, seq, self.share(scopes))
            self._entries.append(entry)
            for scope in entry.scopes:
                log = self._scopes.get(scope)
                if log is None:
                    log = self._scopes[scope] = _ScopeLog()
                log.entries.append(entry)
            if _hashable(seq):
                self._seqs[seq] = entry.index
            touched.update(entry.scopes)
            stored = True
            self.stats.stored += 1
        self._seq = last_seq
        self._mark(self._index, last_seq)
        while len(self._entries) > self.max_entries:
            self._evict()
        self.stats.rounds += 1
        self.heard(caught_up=caught_up)
        self._wake(touched, stored)

    def heard(self, *, caught_up: bool) -> None:
        """The follower got an answer; `caught_up` when it reached the end of the feed."""
        self._caught_up = caught_up
        self._heard_at = self._clock()

    def lost(self) -> None:
        """The follower's last request failed: not caught up until it reaches the end again."""
        self._caught_up = False

    def share(self, scopes: Sequence[str]) -> tuple[str, ...]:
        """One tuple of interned scope names for all equal ones, so entries of a scope keep no copies."""
        key = tuple(sys.intern(scope) for scope in scopes)
        shared = self._shared.get(key)
        if shared is None:
            if len(self._shared) >= _MAX_SHARED_SCOPE_TUPLES:
                self._shared.clear()
            shared = self._shared[key] = key
        return shared

    def _mark(self, index: int, seq: object) -> None:
        if not _hashable(seq):
            return
        if self._marks and self._marks[-1][0] == index:
            old_index, old_seq = self._marks.pop()
            if old_seq != seq and self._seqs.get(old_seq) == old_index and not self._is_entry_seq(old_seq):
                del self._seqs[old_seq]
        self._marks.append((index, seq))
        self._seqs[seq] = index

    def _is_entry_seq(self, seq: object) -> bool:
        return bool(self._entries) and self._entries[-1].seq == seq

    def _evict(self) -> None:
        entry = self._entries.popleft()
        for scope in entry.scopes:
            log = self._scopes[scope]
            log.drop_first()
            if not len(log):
                del self._scopes[scope]
        if _hashable(entry.seq) and self._seqs.get(entry.seq) == entry.index:
            del self._seqs[entry.seq]
        self._evicted_through = entry.index
        while self._marks and self._marks[0][0] <= self._evicted_through:
            index, seq = self._marks.popleft()
            if self._seqs.get(seq) == index:
                del self._seqs[seq]
        self.stats.evicted += 1

    # ---- the readers' side ------------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return self._started

    def position(self) -> Anchor | None:
        """Where the cache has read to (None before the follower started)."""
        if not self._started:
            return None
        return Anchor(self.epoch, self._index, self._seq)

    def healthy(self) -> bool:
        """Whether a pull may be answered from here: the follower reached the end of the feed in its last
        round and was heard from recently."""
        return self._started and self._caught_up and self._clock() - self._heard_at <= self.stale_after_s

    def usable(self, anchor: Anchor) -> bool:
        """Whether every entry after `anchor` is still here (same epoch, nothing after it evicted)."""
        return (
            self._started
            and anchor.epoch == self.epoch
            and self._evicted_through <= anchor.index <= self._index
        )

    def find(self, seq: object) -> Anchor | None:
        """The retained place at which this cache had read exactly to CouchDB sequence `seq`, if any."""
        if not self._started or not _hashable(seq):
            return None
        index = self._seqs.get(seq)
        if index is None or index < self._evicted_through:
            return None
        return Anchor(self.epoch, index, seq)

    def entries_after(self, scopes: Iterable[str], after: int, until: int, count: int) -> list[Entry]:
        """Up to `count` entries of any of `scopes` with `after < index <= until`, in index order."""
        runs: list[Iterator[Entry]] = []
        for scope in set(scopes):
            log = self._scopes.get(scope)
            if log is None:
                continue
            start = bisect_right(log.entries, after, lo=log.head, key=_index_of)
            runs.append(_from(log.entries, start))
        found: list[Entry] = []
        for entry in heapq.merge(*runs, key=_index_of) if len(runs) > 1 else (runs[0] if runs else ()):
            if entry.index > until or len(found) >= count:
                break
            if found and found[-1].index == entry.index:
                continue
            found.append(entry)
        return found

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def scope_count(self) -> int:
        return len(self._scopes)

    # ---- live waiters -----------------------------------------------------------------------------------

    def watch(self, scopes: Iterable[str], *, everything: bool = False) -> Waiter:
        """A waiter for `scopes` (or for every stored change), registered for the duration of a `with`."""
        names = () if everything else tuple(sorted({sys.intern(scope) for scope in scopes}))
        return Waiter(self, names, everything)

    def _register(self, waiter: Waiter) -> None:
        if waiter.everything:
            self._everything.add(waiter)
        for scope in waiter.scopes:
            self._waiters.setdefault(scope, set()).add(waiter)

    def _unregister(self, waiter: Waiter) -> None:
        self._everything.discard(waiter)
        for scope in waiter.scopes:
            group = self._waiters.get(scope)
            if group is not None:
                group.discard(waiter)
                if not group:
                    del self._waiters[scope]

    @property
    def waiter_count(self) -> int:
        return len(self._everything) + len({id(w) for group in self._waiters.values() for w in group})

    def _wake(self, touched: set[str], stored: bool) -> None:
        woken: set[Waiter] = set(self._everything) if stored else set()
        for scope in touched:
            woken.update(self._waiters.get(scope, ()))
        for waiter in woken:
            waiter.wake()
        self.stats.wakeups += len(woken)

    def _wake_all(self) -> None:
        for waiter in self._everything.union(*self._waiters.values()):
            waiter.wake()


def _from(entries: list[Entry], start: int) -> Iterator[Entry]:
    for position in range(start, len(entries)):
        yield entries[position]


def _hashable(value: object) -> bool:
    return isinstance(value, (str, int))
