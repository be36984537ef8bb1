"""The one rate limiter (`server.ratelimit`): counts shared in CouchDB, counters of ended windows purged."""

from __future__ import annotations

import time

import pytest

from server.office.config import OfficeConfig
from server.office.senders import LogFileSender
from server.office.worker import run_once
from server.ratelimit import PREFIX, count_hit, purge_expired_counters
from server.settings import Settings
from store.couch import CouchClient
from tests.support.office import ready_ledger

pytestmark = pytest.mark.anyio


async def _counter_ids(couch: CouchClient, settings: Settings) -> list[str]:
    ledger = await ready_ledger(couch, settings)
    result = await ledger.office.all_docs(startkey=f'"{PREFIX}"', endkey=f'"{PREFIX}\ufff0"')
    return [row["id"] for row in result["rows"]]


async def test_hits_count_per_key_and_the_count_slides_instead_of_restarting_at_a_window_boundary(
    couch: CouchClient, settings: Settings
) -> None:
    db = (await ready_ledger(couch, settings)).office
    start = 1_800_000_000.0  # the start of a 60 s window
    assert [await count_hit(db, "addr-a", 60, at=start + s) for s in (0, 1, 59)] == [1, 2, 3]
    assert await count_hit(db, "addr-b", 60, at=start) == 1  # another client counts apart
    # Just past the boundary the three earlier hits still count (a burst across it gains nothing) ...
    assert await count_hit(db, "addr-a", 60, at=start + 60) == 1 + 3
    # ... half a window on, half of them do; two windows on, none.
    assert await count_hit(db, "addr-a", 60, at=start + 90) == 2 + 1
    assert await count_hit(db, "addr-a", 60, at=start + 180) == 1


async def test_counters_of_ended_windows_are_purged_and_the_current_one_kept(
    couch: CouchClient, settings: Settings
) -> None:
    db = (await ready_ledger(couch, settings)).office
    now = time.time()
    await count_hit(db, "old", 60, at=now - 3600)
    await count_hit(db, "current", 3600, at=now)
    assert await purge_expired_counters(db, at=now) == 1
    ids = await _counter_ids(couch, settings)
    assert len(ids) == 1 and ids[0].startswith(f"{PREFIX}current:")
    assert await count_hit(db, "current", 3600, at=now) == 2  # purging never resets a live window


async def test_the_worker_round_purges_the_resident_pages_old_counters(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    await count_hit(ledger.office, "resident-miss-somebody", 3600, at=time.time() - 2 * 3600)
    done = await run_once(ledger, OfficeConfig(), settings.origin, LogFileSender(settings.data_dir))
    assert done.counters_purged == 1 and await _counter_ids(couch, settings) == []
