"""The change cache: entries by scope, eviction, exact-sequence matches, waiters, and what they cost."""

from __future__ import annotations

import asyncio
import gc
import secrets
import tracemalloc

import pytest

from sync.change_cache import Anchor, ScopeChangeCache, Waiter
from sync.change_follower import DocumentScopes

A, B, OFFICE = "courier:kurir.a", "courier:kurir.b", "office:6471"


def _cache(max_entries: int = 100, clock: list[float] | None = None) -> ScopeChangeCache:
    now = clock if clock is not None else [0.0]
    cache = ScopeChangeCache(max_entries, stale_after_s=25.0, clock=lambda: now[0])
    cache.start(0)
    return cache


def test_entries_of_a_scope_after_an_index_in_order_without_repeats() -> None:
    cache = _cache()
    cache.append(
        [
            ("document:1", 1, (OFFICE, A)),
            ("receipt:document:1", 2, ()),  # no scope: takes an index, is not kept
            ("document:2", 3, (OFFICE, B)),
            ("seal:6471:1", 4, (OFFICE, A)),
        ],
        4,
        caught_up=True,
    )
    assert len(cache) == 3
    assert [e.doc_id for e in cache.entries_after([A], 0, 99, 10)] == ["document:1", "seal:6471:1"]
    assert [e.index for e in cache.entries_after([A], 1, 99, 10)] == [4]
    # Two scopes of one principal: merged by index, an entry under both given once.
    assert [e.index for e in cache.entries_after([A, OFFICE], 0, 99, 10)] == [1, 3, 4]
    assert [e.index for e in cache.entries_after([A, OFFICE], 0, 3, 10)] == [1, 3]
    assert [e.index for e in cache.entries_after([OFFICE], 0, 99, 2)] == [1, 3]
    assert cache.entries_after(["courier:nobody"], 0, 99, 10) == []
    assert cache.position() == Anchor(cache.epoch, 4, 4)


def test_evicted_entries_make_older_anchors_unusable_and_keep_newer_ones() -> None:
    cache = _cache(max_entries=3)
    before = cache.position()
    assert before is not None
    cache.append([(f"document:{n}", n, (OFFICE, A if n % 2 else B)) for n in range(1, 6)], 5, caught_up=True)
    assert len(cache) == 3 and cache.stats.evicted == 2
    assert not cache.usable(before)  # entries after it are gone: a pull from there must not be answered here
    assert not cache.usable(Anchor(cache.epoch, 1, 1))
    assert cache.usable(Anchor(cache.epoch, 2, 2))
    assert [e.index for e in cache.entries_after([A], 2, 99, 10)] == [3, 5]
    assert not cache.usable(Anchor("another-epoch", 4, 4))
    # A scope whose every entry was evicted is forgotten.
    cache.append([(f"seal:6471:{n}", n, (OFFICE,)) for n in range(6, 9)], 8, caught_up=True)
    assert cache.scope_count == 1


def test_a_sequence_is_matched_only_exactly_and_only_while_retained() -> None:
    cache = ScopeChangeCache(2)
    cache.start("0-g1AAAA")
    cache.append([("document:1", "1-g1AB", (A,)), ("document:2", "2-g1AC", (B,))], "2-g1AC", caught_up=True)
    assert cache.find("1-g1AB") == Anchor(cache.epoch, 1, "1-g1AB")
    assert cache.find("0-g1AAAA") == Anchor(cache.epoch, 0, "0-g1AAAA")
    assert cache.find("1-g1ab") is None and cache.find(1) is None and cache.find(["1-g1AB"]) is None
    cache.append([("document:3", "3-g1AD", (A,))], "3-g1AD", caught_up=True)
    assert cache.find("1-g1AB") is None and cache.find("0-g1AAAA") is None  # evicted
    # A cluster repeating a row: the later place is the one kept (the feed after it is the same).
    cache.append([("document:2", "2-g1AC", (B,))], "2-g1AC", caught_up=True)
    assert cache.find("2-g1AC") == Anchor(cache.epoch, 4, "2-g1AC")


def test_health_needs_a_caught_up_follower_heard_from_lately() -> None:
    clock = [100.0]
    cache = ScopeChangeCache(10, stale_after_s=25.0, clock=lambda: clock[0])
    assert not cache.healthy() and cache.position() is None
    cache.start(0)
    assert not cache.healthy()  # nothing heard yet
    cache.append([], 0, caught_up=True)
    assert cache.healthy()
    cache.append([("document:1", 1, (A,))], 1, caught_up=False)  # a full round: behind
    assert not cache.healthy()
    cache.heard(caught_up=True)
    clock[0] += 26
    assert not cache.healthy()
    cache.heard(caught_up=True)
    cache.lost()
    assert not cache.healthy()


def test_a_reset_starts_a_new_epoch_and_wakes_every_waiter() -> None:
    async def scenario() -> None:
        cache = _cache()
        cache.append([("document:1", 1, (A,))], 1, caught_up=True)
        old = cache.epoch
        with cache.watch([B]) as waiter:
            cache.reset(7)
            assert await waiter.wait(0.5)
        assert cache.epoch != old and len(cache) == 0 and cache.position() == Anchor(cache.epoch, 0, 7)

    asyncio.run(scenario())


def test_a_change_wakes_only_the_waiters_of_its_scopes() -> None:
    async def scenario() -> None:
        cache = _cache()
        with cache.watch([A]) as a, cache.watch([B]) as b, cache.watch([], everything=True) as admin:
            assert cache.waiter_count == 3
            cache.append([("document:2", 1, (OFFICE, B))], 1, caught_up=True)
            assert await b.wait(0.5) and await admin.wait(0.5)
            assert not await a.wait(0.05)
            # Nothing of anyone's scope (a receipt): nobody is woken, not even an admin.
            cache.append([("receipt:x", 2, ())], 2, caught_up=True)
            assert not await admin.wait(0.05)
            # A wake-up between a look and the wait is not slept through.
            cache.append([("seal:6471:9", 3, (OFFICE, A))], 3, caught_up=True)
            assert await a.wait(0.5)
        assert cache.waiter_count == 0

    asyncio.run(scenario())


def _measure(build: object) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = build() if callable(build) else None
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del kept
    return after - before


@pytest.mark.parametrize("seq_kind", ["pouchdb", "couchdb"])
def test_what_an_entry_costs(seq_kind: str) -> None:
    """Memory an entry keeps alive, its id and CouchDB sequence strings included, shaped as in production
    (an office and a courier scope each, 30 offices, 1,500 couriers; a sequence of a two-shard database).
    The figures go in docs/sync.md."""
    count = 20_000
    cache = ScopeChangeCache(count)
    cache.start(0)
    suffix = "g1AAAACheJzLYWBgYMpgTmEQTM4vTc5ISXIoLilNLEk11DFNTMvJS8svyUOJyUGY4UtEkG1bZ_QZrLEBAOhhG_M"

    def seq(number: int) -> object:
        return number if seq_kind == "pouchdb" else f"{number}-{suffix}{number:06d}"

    def fill() -> None:
        changes = [
            (
                f"handoff:{secrets.token_hex(8).upper()}",
                seq(n + 1),
                (f"office:64{n % 30:02d}", f"courier:kurir.{n % 1500}"),
            )
            for n in range(count)
        ]
        cache.append(changes, seq(count), caught_up=True)

    per_entry = _measure(fill) / count
    print(f"\n{seq_kind}: {per_entry:.0f} bytes per entry")
    assert per_entry < (300 if seq_kind == "pouchdb" else 450)


def test_what_a_waiting_phone_costs_in_the_cache() -> None:
    """A waiting phone's registration (its waiter, its place in its scope's set), and what its wait adds
    beyond the request's own task: a future and a timer, as much as an `asyncio.sleep`."""

    async def scenario() -> tuple[float, float, float]:
        cache = _cache()
        phones = 2_000
        waiters: list[Waiter] = []

        def register() -> None:
            waiters.extend(cache.watch([f"courier:kurir.{n}"]).__enter__() for n in range(phones))

        async def idle() -> None:
            await asyncio.sleep(5)

        async def in_tasks(make: object) -> float:
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            assert callable(make)
            tasks = [asyncio.ensure_future(make(n)) for n in range(phones)]
            await asyncio.sleep(0.05)
            during = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
            cache.append(
                [("document:x", 1, tuple(f"courier:kurir.{n}" for n in range(phones)))], 1, caught_up=True
            )
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            return (during - before) / phones

        registration = _measure(register) / phones
        waiting = await in_tasks(lambda n: waiters[n].wait(5))
        sleeping = await in_tasks(lambda n: idle())
        for waiter in waiters:
            waiter.__exit__(None, None, None)
        assert cache.waiter_count == 0
        return registration, waiting, sleeping

    registration, waiting, sleeping = asyncio.run(scenario())
    print(f"\nper waiting phone: {registration:.0f} bytes registered, {waiting:.0f} while waiting in a task")
    print(f"(a task sleeping in asyncio.sleep: {sleeping:.0f} bytes)")
    assert registration < 1_000
    assert waiting < sleeping + 300


def test_what_remembering_a_documents_scopes_costs() -> None:
    """The follower remembers each document's scopes for the seals, handoffs and photos that follow it."""
    cache = ScopeChangeCache(10)
    documents = DocumentScopes(20_000, cache.share)

    def fill() -> None:
        for n in range(20_000):
            record = {
                "type": "document",
                "office": f"64{n % 30:02d}",
                "assignment": {"courier": f"k.{n % 1500}"},
            }
            documents.put(f"document:{secrets.token_hex(8).upper()}", record)

    per_document = _measure(fill) / 20_000
    print(f"\n{per_document:.0f} bytes per remembered document")
    assert len(documents) == 20_000
    assert per_document < 250
