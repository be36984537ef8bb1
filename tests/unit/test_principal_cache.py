"""The principal cache's rules, on a clock the test turns: what it keeps, what evicts it, when it is off."""

from __future__ import annotations

from records.types import JSONDict
from server.identity.principal_cache import PrincipalCache

DB = "t_identity"
SESSION = (DB, "session:abc")
TOKEN = (DB, "token:def")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def session(user_id: str = "gojek.andi", rev: str = "1-a") -> JSONDict:
    return {"_id": "session:abc", "_rev": rev, "user_id": user_id, "expires_at": 9e9}


def token(user_id: str = "gojek.andi", rev: str = "1-t") -> JSONDict:
    return {"_id": "token:def", "_rev": rev, "user_id": user_id, "token_id": "def"}


def user(user_id: str = "gojek.andi", rev: str = "1-u") -> JSONDict:
    return {"_id": f"user:{user_id}", "_rev": rev, "user_id": user_id, "role": "courier", "revoked": False}


def followed(**kwargs: float) -> tuple[PrincipalCache, Clock]:
    clock = Clock()
    cache = PrincipalCache(clock=clock, **kwargs)  # type: ignore[arg-type]
    cache.feed_opened()
    return cache, clock


def test_a_read_is_kept_and_handed_out_as_copies() -> None:
    cache, _ = followed()
    assert cache.put(SESSION, session(), user(), cache.ticket())
    doc, person = cache.get(SESSION) or ({}, {})
    doc["expires_at"] = 0  # the caller slides its copy; the cache's stays
    person["revoked"] = True
    assert cache.get(SESSION) == (session(), user())


def test_nothing_is_kept_or_served_until_the_feed_is_open_nor_after_it_is_lost() -> None:
    cache = PrincipalCache()
    assert cache.ticket() is None and not cache.put(SESSION, session(), user(), 0)
    cache.feed_opened()
    cache.put(SESSION, session(), user(), cache.ticket())
    cache.feed_lost()
    assert cache.get(SESSION) is None and len(cache) == 0 and cache.ticket() is None


def test_a_read_under_way_during_an_eviction_keeps_nothing() -> None:
    cache, _ = followed()
    ticket = cache.ticket()
    cache.changed(DB, "user:gojek.andi", "2-u")  # revoked while the request was reading the old user
    assert not cache.put(SESSION, session(), user(), ticket)
    assert cache.get(SESSION) is None
    assert cache.put(SESSION, session(), user(rev="2-u"), cache.ticket())  # the next read is kept


def test_a_reconnection_voids_a_ticket_of_the_previous_feed() -> None:
    cache, _ = followed()
    ticket = cache.ticket()
    cache.feed_lost()
    cache.feed_opened()
    assert not cache.put(SESSION, session(), user(), ticket)


def test_a_user_change_evicts_all_their_sessions_and_tokens_and_nobody_else() -> None:
    cache, _ = followed()
    other = (DB, "session:other")
    cache.put(SESSION, session(), user(), cache.ticket())
    cache.put(TOKEN, token(), user(), cache.ticket())
    cache.put(other, {**session("grab.sari"), "_id": "session:other"}, user("grab.sari"), cache.ticket())
    cache.changed(DB, "user:gojek.andi", "2-u")
    assert cache.get(SESSION) is None and cache.get(TOKEN) is None
    assert cache.get(other) is not None
    cache.changed("another_identity", "user:grab.sari", "2-u")  # another deployment's database
    assert cache.get(other) is not None


def test_a_session_or_token_change_evicts_itself_unless_the_copy_is_that_revision() -> None:
    cache, _ = followed()
    cache.put(SESSION, session(rev="2-a"), user(), cache.ticket())
    cache.put(TOKEN, token(), user(), cache.ticket())
    cache.changed(DB, "session:abc", "2-a")  # the change a login's own write brings back, read already
    assert cache.get(SESSION) is not None
    cache.changed(DB, "session:abc", "3-a")  # ended (deleted) or slid elsewhere
    cache.changed(DB, "token:def", None)
    assert cache.get(SESSION) is None and cache.get(TOKEN) is None


def test_other_documents_evict_nothing_and_void_no_read() -> None:
    cache, _ = followed()
    ticket = cache.ticket()
    cache.put(SESSION, session(), user(), ticket)
    for doc_id in ("credential:xyz", "signed:00ff", "ratelimit:login:a:1", "challenge:c", "office:6471"):
        cache.changed(DB, doc_id, "9-z")
    assert cache.get(SESSION) is not None
    assert cache.put(TOKEN, token(), user(), ticket)


def test_an_entry_expires_after_its_ttl() -> None:
    cache, clock = followed(ttl_s=60)
    cache.put(SESSION, session(), user(), cache.ticket())
    for _ in range(118):  # the feed's heartbeats every half second
        clock.now += 0.5
        cache.heard()
    assert cache.get(SESSION) is not None
    clock.now += 1.5
    assert cache.get(SESSION) is None and len(cache) == 0


def test_a_silent_feed_is_not_trusted_and_its_entries_are_dropped_when_it_speaks_again() -> None:
    cache, clock = followed(stale_after_s=2)
    cache.put(SESSION, session(), user(), cache.ticket())
    clock.now += 2.5
    assert not cache.current and cache.get(SESSION) is None and cache.ticket() is None
    cache.heard()
    assert cache.current and len(cache) == 0


def test_the_least_recently_used_entry_goes_beyond_the_limit() -> None:
    cache, _ = followed(limit=2)
    keys = [(DB, f"session:{n}") for n in range(3)]
    for key in keys[:2]:
        cache.put(key, {**session(), "_id": key[1]}, user(), cache.ticket())
    cache.get(keys[0])
    cache.put(keys[2], {**session(), "_id": keys[2][1]}, user(), cache.ticket())
    assert [cache.get(key) is not None for key in keys] == [True, False, True]
    cache.changed(DB, "user:gojek.andi", "2-u")  # the index forgot the dropped one too
    assert len(cache) == 0
