"""Dashboard figures come from the report views: per day, per courier and partner, and overdue pickups."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

import pytest
from starlette.testclient import TestClient

from records.types import JSONDict
from server.office import intake
from server.office.checks import run_checks
from server.office.config import OfficeConfig
from server.office.dashboard import Dashboard, load_dashboard
from server.office.deliveries import CHECKPOINT_ID, update_open_deliveries
from server.office.ledger import OFFICE_TZ, Ledger, key
from server.settings import Settings
from store.couch import CouchClient
from tests.support.identity import make_user, open_session, sign_in
from tests.support.office import NIKS, next_handoff, put_document, ready_ledger, staff

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 11, 23, 16, 0, tzinfo=OFFICE_TZ)


async def rolled_up(ledger: Ledger, office: str, **options: object) -> Dashboard:
    """The dashboard after a rollup round of `segel worker` (pages only read what the worker wrote)."""
    await update_open_deliveries(ledger, max_batches=4)
    return await load_dashboard(ledger, office, **options)  # type: ignore[arg-type]


async def story(
    ledger: Ledger, number: str, courier: str, partner: str, days: list[tuple[str, str]]
) -> JSONDict:
    """A document sealed, assigned to `courier`, then handoffs of the given (kind, device time)."""
    doc = await put_document(ledger, nik=NIKS[int(number[-1]) % 3])
    previous = await intake.bind_seal(ledger, staff(), str(doc["_id"]), number)
    await intake.assign(ledger, staff(), [str(doc["_id"])], courier, partner, None)
    for kind, at in days:
        code = {"receipt_code": doc["receipt_code"]} if kind == "delivered" else {}
        handoff = next_handoff(previous, kind, author=courier, device_time=at, created_at=at, **code)
        await ledger.records.put(handoff)
        previous = handoff
    return doc


async def test_counts_per_day_courier_partner_and_overdue(couch: CouchClient, settings: Settings) -> None:
    ledger = await ready_ledger(couch, settings)
    await story(
        ledger,
        "BP00000001",
        "gojek.andi",
        "gojek",
        [("picked_up", "2026-11-22T09:00:00+08:00"), ("delivered", "2026-11-23T10:00:00+08:00")],
    )
    await story(
        ledger,
        "BP00000002",
        "gojek.andi",
        "gojek",
        [("picked_up", "2026-11-20T09:00:00+08:00"), ("failed_attempt", "2026-11-20T15:00:00+08:00")],
    )
    late = await story(
        ledger, "BP00000003", "grab.sari", "grab", [("picked_up", "2026-11-19T09:00:00+08:00")]
    )
    await story(ledger, "BP00000004", "grab.sari", "grab", [("picked_up", "2026-11-23T11:00:00+08:00")])

    before = await rolled_up(ledger, "6471", now=NOW, sla_hours=48)
    # A delivery counts once the server has judged it (code and seal matched): not before the checks ran.
    assert "delivered" not in before.per_day["2026-11-23"]
    await run_checks(ledger, OfficeConfig())
    data = await rolled_up(ledger, "6471", now=NOW, sla_hours=48)

    assert data.per_day["2026-11-22"]["picked_up"] == 1
    assert data.per_day["2026-11-23"]["picked_up"] == 1 and data.per_day["2026-11-23"]["delivered"] == 1
    assert data.per_day["2026-11-21"] == {}
    assert data.total("picked_up") == 4 and data.total("failed_attempt") == 1
    couriers = {row.courier: row for row in data.couriers}
    assert couriers["gojek.andi"].counts == {"picked_up": 2, "delivered": 1, "failed_attempt": 1}
    assert couriers["grab.sari"].partner == "grab"
    assert data.partners["gojek"]["delivered"] == 1 and data.partners["grab"]["picked_up"] == 2
    # Overdue: picked up more than 48 h ago and not delivered; the failed one is overdue too.
    assert [doc for doc, _ in data.overdue] == [late["_id"], data.overdue[1][0]]
    assert len(data.overdue) == 2
    other = await rolled_up(ledger, "3273", now=NOW)
    assert other.total("picked_up") == 0 and other.couriers == [] and other.overdue == []


async def test_dashboard_page_shows_the_figures(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    await make_user(couch, settings, "budi.santoso", "staff", office="6471")
    today = datetime.now(OFFICE_TZ).isoformat(timespec="seconds")
    await story(ledger, "BP00000005", "gojek.andi", "gojek", [("picked_up", today), ("delivered", today)])
    sign_in(client, settings, await open_session(couch, settings, "budi.santoso"))
    assert client.get("/office").status_code == 200
    # A page load writes nothing: the rollup waits for `segel worker`, whatever instance served the page.
    assert await ledger.office.get_or_none(CHECKPOINT_ID) is None
    await update_open_deliveries(ledger, max_batches=4)
    await run_checks(ledger, OfficeConfig())
    page = client.get("/office")
    assert page.status_code == 200
    assert "<svg" in page.text and "Diterima penduduk" in page.text
    assert "gojek.andi" in page.text


async def test_dashboard_counts_each_record_once_and_closes_delivered_pickups(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    # Documents are registered today (their created_at is the real clock): the span ends today.
    doc = await story(
        ledger, "BP00000006", "gojek.andi", "gojek", [("picked_up", "2026-11-19T09:00:00+08:00")]
    )
    # The span ends on the day the document was registered, read from it: a run that crosses the office's
    # midnight (00:00 WITA is 16:00 UTC) must not look for it on the day before.
    # and starts on the pickup's day however long ago that now is.
    registered = datetime.fromisoformat(str(doc["created_at"])).astimezone(OFFICE_TZ).date()
    span = {"end": registered, "days": (registered - date(2026, 11, 19)).days + 1}
    first = await rolled_up(ledger, "6471", now=NOW, **span)
    assert [d for d, _ in first.overdue] == [doc["_id"]]
    # The document is edited again (re-assigned) and delivered: counted once, and no longer overdue.
    await intake.assign(ledger, staff(), [str(doc["_id"])], "grab.sari", "grab", None)
    rows = await ledger.records.view(
        "reports",
        "by_document",
        startkey=key([doc["_id"], 1]),
        endkey=key([doc["_id"], 1, {}]),
        include_docs=True,
    )
    last = [r["doc"] for r in rows["rows"] if r["doc"]["type"] == "handoff"][-1]
    at = "2026-11-23T09:00:00+08:00"
    delivered = next_handoff(
        last, "delivered", device_time=at, created_at=at, receipt_code=doc["receipt_code"]
    )
    await ledger.records.put(delivered)
    await run_checks(ledger, OfficeConfig())
    second = await rolled_up(ledger, "6471", now=NOW, **span)
    assert second.overdue == []
    assert second.total("ready") == first.total("ready") == 1
    assert second.total("picked_up") == 1 and second.total("delivered") == 1


async def test_changes_feed_read_again_from_the_start_changes_no_figure(
    couch: CouchClient, settings: Settings
) -> None:
    """A clustered `_changes` may repeat rows or start again from an earlier point after a node fails:
    reading the whole feed again (as after a rewind) leaves the overdue list and every count as they were."""
    ledger = await ready_ledger(couch, settings)
    delivered = await story(
        ledger,
        "BP00000007",
        "gojek.andi",
        "gojek",
        [("picked_up", "2026-11-19T09:00:00+08:00"), ("delivered", "2026-11-19T15:00:00+08:00")],
    )
    late = await story(
        ledger, "BP00000008", "grab.sari", "grab", [("picked_up", "2026-11-20T09:00:00+08:00")]
    )
    before = await rolled_up(ledger, "6471", now=NOW)
    checkpoint = await ledger.office.get(CHECKPOINT_ID)
    await ledger.office.put({**checkpoint, "since": "0"})
    assert await update_open_deliveries(ledger, max_batches=10) > 0
    after = await rolled_up(ledger, "6471", now=NOW)
    assert [d for d, _ in after.overdue] == [late["_id"]] and delivered["_id"] != late["_id"]
    assert after.per_day == before.per_day and after.total("picked_up") == 2


async def test_concurrent_worker_rollups_list_each_overdue_envelope_once(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    docs = [
        await story(
            ledger, f"BP0000010{n}", "gojek.andi", "gojek", [("picked_up", "2026-11-19T09:00:00+08:00")]
        )
        for n in range(3)
    ]
    results = await asyncio.gather(*(load_dashboard(ledger, "6471", now=NOW) for _ in range(4)))
    final = await rolled_up(ledger, "6471", now=NOW)
    assert final.per_day["2026-11-19"]["picked_up"] == 3
    assert sorted(d for d, _ in final.overdue) == sorted(str(doc["_id"]) for doc in docs)
    assert all(r.per_day["2026-11-19"]["picked_up"] == 3 for r in results)
