"""What a pull and a waiting phone cost the database: an incremental pull reads its user's changes from the
process's change cache and never another office's; a waiting phone is woken only by a change of its scope.

The app runs in-process (real database, real lifespan and follower) with every database request it makes
recorded, so the tests can say which requests a pull made and which records they read.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx
import pytest

from server.settings import Settings
from store.couch import CouchClient
from sync.change_cache import Anchor
from sync.changes import BRIDGE_ROWS
from sync.since_tokens import Position, TokenSigner, since_key
from tests.support.couch_requests import InProcessApp, in_process_app, wait_until
from tests.support.identity import issue_device_token, make_user
from tests.support.pouch_client import document_record, handoff_record, seal_record

pytestmark = pytest.mark.anyio

CHANGES = "/sync/records/_changes"


async def _couriers(couch: CouchClient, settings: Settings) -> dict[str, dict[str, str]]:
    await make_user(couch, settings, "kurir.a", "courier")
    await make_user(couch, settings, "kurir.b", "courier")
    return {
        user: {"Authorization": f"Bearer {await issue_device_token(couch, settings, user)}"}
        for user in ("kurir.a", "kurir.b")
    }


async def _pull(
    app: InProcessApp, headers: dict[str, str], since: str, limit: int = 100
) -> tuple[list[str], str]:
    """Pull pages as a replicator does until an empty one; the ids of every row and the last token."""
    ids: list[str] = []
    for _ in range(1000):
        answer = await app.client.get(CHANGES, params={"since": since, "limit": limit}, headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        if not body["results"]:
            return ids, str(body["last_seq"])
        ids.extend(row["id"] for row in body["results"])
        since = body["results"][-1]["seq"]
    raise AssertionError("the pull never ended")


async def _write(couch: CouchClient, settings: Settings, docs: list[dict[str, Any]]) -> None:
    db = couch.db(settings.records_db)
    for start in range(0, len(docs), 500):
        await db.bulk_docs(docs[start : start + 500])


def _others(count: int) -> list[dict[str, Any]]:
    """Changes that concern neither courier: another office's documents, and kurir.b's."""
    return [
        document_record("kurir.z", office="6472") if number % 4 else document_record("kurir.b")
        for number in range(count)
    ]


async def test_incremental_pull_after_many_other_offices_changes_reads_only_the_couriers_own(
    couch: CouchClient, settings: Settings
) -> None:
    headers = (await _couriers(couch, settings))["kurir.a"]
    mine = document_record("kurir.a")
    await _write(couch, settings, [mine])
    async with in_process_app(settings) as app:
        pulled, since = await _pull(app, headers, "0")
        assert pulled == [mine["_id"]]

        later = document_record("kurir.a")
        mine_seal, later_seal = (
            seal_record(mine["_id"], "BP00000301"),
            seal_record(later["_id"], "BP00000302"),
        )
        handoff = handoff_record(mine["_id"], "kurir.a", seq=1)
        others = _others(2000)
        batch = [*others[:700], later, later_seal, *others[700:1400], mine_seal, handoff, *others[1400:]]
        await _write(couch, settings, batch)
        await app.settled(len(batch))

        mark = len(app.recorder.seen)
        pulled, _ = await _pull(app, headers, since)
        theirs = {str(doc["_id"]) for doc in (later, later_seal, mine_seal, handoff)}
        assert sorted(set(pulled)) == sorted(theirs)

        requests = app.recorder.since(mark, settings.records_db)
        assert [seen for seen in requests if seen.global_feed] == []
        read = {key for seen in requests for key in seen.keys}
        # The candidates of A's scope, and A's document that two of them belong to: nothing else.
        assert read <= theirs | {mine["_id"]}, sorted(read - theirs)[:5]
        assert len(requests) <= 4, requests


async def test_changes_during_an_initial_pull_are_not_missed_when_it_hands_over_to_the_cache(
    couch: CouchClient, settings: Settings
) -> None:
    headers = (await _couriers(couch, settings))["kurir.a"]
    documents = [document_record("kurir.a") for _ in range(5)]
    await _write(couch, settings, documents)
    async with in_process_app(settings) as app:
        answer = await app.client.get(CHANGES, params={"since": "0", "limit": 2}, headers=headers)
        first = answer.json()["results"]
        assert len(first) == 2
        # While the walk is half-way, staff assign a sixth document and bind a seal to the first one.
        sixth = document_record("kurir.a")
        seal = seal_record(documents[0]["_id"], "BP00000311")
        await _write(couch, settings, [sixth, seal])
        await app.settled(2)
        rest, _ = await _pull(app, headers, first[-1]["seq"], limit=2)
        everything = {row["id"] for row in first} | set(rest)
        assert everything == {str(doc["_id"]) for doc in [*documents, sixth, seal]}


async def test_a_token_of_another_instance_crosses_a_short_bridge_and_a_long_one_restarts_the_pull(
    couch: CouchClient, settings: Settings
) -> None:
    """Each in-process app is one life of a server: its cache starts empty, with an epoch of its own."""
    headers = (await _couriers(couch, settings))["kurir.a"]
    mine = document_record("kurir.a")
    await _write(couch, settings, [mine])
    async with in_process_app(settings) as first:
        _, since = await _pull(first, headers, "0")

    # A few changes while the phone is away, one of them A's: the next instance bridges them through the
    # global feed and hands over to its own cache.
    soon = document_record("kurir.a")
    await _write(couch, settings, [*_others(20), soon])
    async with in_process_app(settings) as second:
        mark = len(second.recorder.seen)
        pulled, since = await _pull(second, headers, since)
        assert pulled == [soon["_id"]]
        requests = second.recorder.since(mark, settings.records_db)
        assert any(seen.global_feed for seen in requests)
        assert not any("by_scope" in seen.path for seen in requests)
        # From here on the token is this instance's: no global read.
        later = document_record("kurir.a")
        await _write(couch, settings, [*_others(30), later])
        await second.settled(31)
        mark = len(second.recorder.seen)
        pulled, since = await _pull(second, headers, since)
        assert pulled == [later["_id"]]
        assert not any(seen.global_feed for seen in second.recorder.since(mark, settings.records_db))

    # Away for longer than a bridge may read: the pull starts again from the user's own rows.
    last = document_record("kurir.a")
    await _write(couch, settings, [*_others(BRIDGE_ROWS + 200), last])
    async with in_process_app(settings) as third:
        mark = len(third.recorder.seen)
        pulled, _ = await _pull(third, headers, since)
        assert sorted(pulled) == sorted(str(doc["_id"]) for doc in (mine, soon, later, last))
        requests = third.recorder.since(mark, settings.records_db)
        assert any("by_scope" in seen.path for seen in requests)
        feed_rows = sum(int(seen.params.get("limit", 0)) for seen in requests if seen.global_feed)
        assert feed_rows <= BRIDGE_ROWS


async def test_a_token_naming_exactly_a_sequence_the_cache_read_to_continues_from_the_cache(
    couch: CouchClient, settings: Settings
) -> None:
    """Another epoch's token whose CouchDB sequence this cache holds exactly: no bridge, no restart."""
    await _couriers(couch, settings)
    signer = TokenSigner(since_key(settings.secret_key), "kurir.a")
    headers = {"Authorization": f"Bearer {await issue_device_token(couch, settings, 'kurir.a')}"}
    async with in_process_app(settings) as app:
        before = document_record("kurir.a")
        await _write(couch, settings, [before])
        await app.settled(1)
        position = app.cache.position()
        assert position is not None
        after = document_record("kurir.a")
        await _write(couch, settings, [*_others(10), after])
        await app.settled(12)
        foreign = signer.encode(Position("cache", anchor=Anchor("0123456789abcdef", 3, position.seq)))
        mark = len(app.recorder.seen)
        pulled, _ = await _pull(app, headers, foreign)
        assert pulled == [after["_id"]]
        requests = app.recorder.since(mark, settings.records_db)
        assert not any(seen.global_feed or "by_scope" in seen.path for seen in requests)


async def test_pulls_read_the_global_feed_while_the_follower_is_not_trusted_and_come_back_to_the_cache(
    couch: CouchClient, settings: Settings
) -> None:
    headers = (await _couriers(couch, settings))["kurir.a"]
    async with in_process_app(settings) as app:
        _, since = await _pull(app, headers, "0")
        stale_after = app.cache.stale_after_s
        app.cache.stale_after_s = -1.0  # as if the follower had not been heard from
        assert not app.cache.healthy()
        mine = document_record("kurir.a")
        await _write(couch, settings, [*_others(50), mine])
        mark = len(app.recorder.seen)
        pulled, since = await _pull(app, headers, since)
        assert pulled == [mine["_id"]]
        assert any(seen.global_feed for seen in app.recorder.since(mark, settings.records_db))

        app.cache.stale_after_s = stale_after
        await app.settled(51)
        later = document_record("kurir.a")
        await _write(couch, settings, [*_others(50), later])
        await app.settled(102)
        pulled, since = await _pull(app, headers, since)  # reads the global feed to its end, hands over
        assert pulled == [later["_id"]]
        last = document_record("kurir.a")
        await _write(couch, settings, [*_others(50), last])
        await app.settled(153)
        mark = len(app.recorder.seen)
        pulled, _ = await _pull(app, headers, since)
        assert pulled == [last["_id"]]
        assert not any(seen.global_feed for seen in app.recorder.since(mark, settings.records_db))


async def _longpoll(app: InProcessApp, headers: dict[str, str], since: str) -> tuple[float, httpx.Response]:
    params = {"feed": "longpoll", "since": since, "timeout": "20000", "heartbeat": "10000"}
    answer = await app.client.get(CHANGES, params=params, headers=headers, timeout=30)
    return time.monotonic(), answer


async def test_a_waiting_courier_is_woken_by_a_change_of_their_document_and_not_by_anyone_elses(
    couch: CouchClient, settings: Settings
) -> None:
    tokens = await _couriers(couch, settings)
    mine, theirs = document_record("kurir.a"), document_record("kurir.b")
    moving = document_record("kurir.a")
    await _write(couch, settings, [mine, theirs, moving])
    db = couch.db(settings.records_db)
    async with in_process_app(settings) as app:
        _, since_a = await _pull(app, tokens["kurir.a"], "0")
        _, since_b = await _pull(app, tokens["kurir.b"], "0")
        answers: dict[str, tuple[float, httpx.Response]] = {}

        async def wait(user: str, since: str) -> None:
            answers[user] = await _longpoll(app, tokens[user], since)

        async with anyio.create_task_group() as group:
            group.start_soon(wait, "kurir.a", since_a)
            await wait_until(lambda: app.cache.waiter_count == 1, 10)
            woken = app.cache.stats.wakeups

            # Another courier's new document, another office's, and A's document moving to B: none is
            # A's any more, so A's phone is not woken at all.
            current = await db.get(moving["_id"])
            current["assignment"]["courier"] = "kurir.b"
            changes = [*_others(20), current]
            await _write(couch, settings, changes)
            await app.settled(len(changes))
            await anyio.sleep(0.5)
            assert app.cache.stats.wakeups == woken and "kurir.a" not in answers

            # B is woken by the document that came to them, with its history.
            group.start_soon(wait, "kurir.b", since_b)
            await wait_until(lambda: "kurir.b" in answers, 10)
            assert moving["_id"] in {row["id"] for row in answers["kurir.b"][1].json()["results"]}

            # Staff bind a seal to A's document: A's phone hears of it within about a second.
            seal = seal_record(mine["_id"], "BP00000321")
            written = time.monotonic()
            await _write(couch, settings, [seal])
            await wait_until(lambda: "kurir.a" in answers, 10)
        answered, answer = answers["kurir.a"]
        assert [row["id"] for row in answer.json()["results"]] == [seal["_id"]]
        assert answered - written < 1.5


async def test_a_change_in_one_office_wakes_no_waiting_phone_of_another(
    couch: CouchClient, settings: Settings
) -> None:
    """Office 6472's staff device and courier wait; a burst of office 6471's work (documents, one assigned
    to a 6471 courier, seals, handoffs) wakes neither. A record of 6472 then wakes 6472's staff device."""
    await make_user(couch, settings, "kurir.satu", "courier", office="6471")
    await make_user(couch, settings, "kurir.dua", "courier", office="6472")
    await make_user(couch, settings, "staf.dua", "staff", office="6472")
    tokens = {
        user: {"Authorization": f"Bearer {await issue_device_token(couch, settings, user)}"}
        for user in ("kurir.dua", "staf.dua")
    }
    theirs = document_record("kurir.dua", office="6472")
    await _write(couch, settings, [theirs])
    async with in_process_app(settings) as app:
        since = {user: (await _pull(app, headers, "0"))[1] for user, headers in tokens.items()}
        answers: dict[str, httpx.Response] = {}

        async def wait(user: str) -> None:
            answers[user] = (await _longpoll(app, tokens[user], since[user]))[1]

        async with anyio.create_task_group() as group:
            for user in tokens:
                group.start_soon(wait, user)
            await wait_until(lambda: app.cache.waiter_count == 2, 10)
            woken = app.cache.stats.wakeups

            office_a = [document_record("kurir.satu", office="6471") for _ in range(10)]
            office_a += [document_record(None, office="6471") for _ in range(5)]
            office_a += [seal_record(doc["_id"], f"BP{800 + n:08d}") for n, doc in enumerate(office_a[:5])]
            office_a += [
                handoff_record(doc["_id"], "kurir.satu", seq=n + 1) for n, doc in enumerate(office_a[:5])
            ]
            await _write(couch, settings, office_a)
            await app.settled(len(office_a))
            await anyio.sleep(0.5)
            assert app.cache.stats.wakeups == woken
            assert answers == {}

            news = document_record(None, office="6472")
            await _write(couch, settings, [news])
            await wait_until(lambda: "staf.dua" in answers, 10)
            await anyio.sleep(0.3)
            assert "kurir.dua" not in answers  # not assigned to them: their phone sleeps on
            group.cancel_scope.cancel()
        assert [row["id"] for row in answers["staf.dua"].json()["results"]] == [news["_id"]]


async def test_a_record_pushed_through_this_instance_wakes_its_office_without_being_read_back(
    couch: CouchClient, settings: Settings
) -> None:
    """A courier's handoff pushed through the gateway wakes the office's waiting staff device with it, and
    the follower takes its body from what the gateway stored instead of reading it from the database."""
    await make_user(couch, settings, "kurir.a", "courier", office="6471")
    await make_user(couch, settings, "staf.satu", "staff", office="6471")
    tokens = {
        user: {"Authorization": f"Bearer {await issue_device_token(couch, settings, user)}"}
        for user in ("kurir.a", "staf.satu")
    }
    mine = document_record("kurir.a")
    await _write(couch, settings, [mine])
    handoff = {**handoff_record(mine["_id"], "kurir.a", seq=1), "_rev": "1-" + "ab" * 16}
    async with in_process_app(settings) as app:
        _, since = await _pull(app, tokens["staf.satu"], "0")
        written = app.app.state.written_bodies
        answers: dict[str, httpx.Response] = {}

        async def wait() -> None:
            answers["staf.satu"] = (await _longpoll(app, tokens["staf.satu"], since))[1]

        async with anyio.create_task_group() as group:
            group.start_soon(wait)
            await wait_until(lambda: app.cache.waiter_count == 1, 10)
            pushed = await app.client.post(
                "/sync/records/_bulk_docs",
                json={"docs": [handoff], "new_edits": False},
                headers=tokens["kurir.a"],
            )
            assert pushed.status_code == 201 and pushed.json() == [], pushed.text
            await wait_until(lambda: "staf.satu" in answers, 10)
        assert [row["id"] for row in answers["staf.satu"].json()["results"]] == [handoff["_id"]]
        assert written.taken == 1 and len(written) == 0
