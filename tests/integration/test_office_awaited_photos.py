"""A handoff names seal photos that never reach the server (a phone broken or wiped before it sent them):
the office waits `SEGEL_PHOTO_WAIT_HOURS`, then puts it before staff; a photo that still arrives closes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from records.types import JSONDict
from server.office import intake
from server.office.awaited_photos import settle_awaited
from server.office.checks import run_checks
from server.office.config import OfficeConfig
from server.office.exceptions import list_queue, resolve
from server.office.ledger import Ledger
from server.office.senders import LogFileSender
from server.office.timeline import load_timeline
from server.office.worker import run_once
from server.settings import Settings
from store.couch import CouchClient
from tests.support.office import next_handoff, photo_for, put_document, ready_ledger, seal_image, staff

pytestmark = pytest.mark.anyio
CONFIG = OfficeConfig(photo_wait_hours=24)
LATER = datetime.now(UTC) + timedelta(hours=25)


async def handoff_naming_a_photo(ledger: Ledger, number: str) -> tuple[JSONDict, JSONDict]:
    """A picked-up handoff stored with the id of its photo; the photo itself is only built, not sent."""
    doc = await put_document(ledger)
    sealed = await intake.bind_seal(ledger, staff(), str(doc["_id"]), number)
    pickup = next_handoff(sealed, "picked_up")
    photo = photo_for(pickup, seal_image(int(number[-2:])))
    pickup["photos"] = [photo["_id"]]
    await ledger.records.put(pickup)
    return pickup, photo


async def not_arrived(ledger: Ledger) -> list[str]:
    return [item.subject for item in await list_queue(ledger, "6471") if item.kind == "photo_not_arrived"]


async def test_a_photo_that_never_arrives_is_put_before_staff_after_the_wait(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    lost, _ = await handoff_naming_a_photo(ledger, "BP00000011")
    late, late_photo = await handoff_naming_a_photo(ledger, "BP00000012")
    on_time, on_time_photo = await handoff_naming_a_photo(ledger, "BP00000013")
    await run_checks(ledger, CONFIG)

    # Within the wait nothing is flagged; a photo arriving in time just ends the wait.
    await ledger.records.put(on_time_photo)
    first = await settle_awaited(ledger, CONFIG)
    assert (first.arrived, first.flagged) == (1, 0)
    assert await ledger.office.get_or_none(f"awaited:{on_time['_id']}") is None
    assert await not_arrived(ledger) == []

    # Past the wait, both handoffs still without their photo are in the queue, and nothing more is noted.
    second = await settle_awaited(ledger, CONFIG, now=LATER)
    assert second.flagged == 2
    assert sorted(await not_arrived(ledger)) == sorted([lost["_id"], late["_id"]])
    assert (await settle_awaited(ledger, CONFIG, now=LATER)) == type(second)(0, 0)
    timeline = await load_timeline(ledger, await ledger.records.get(str(lost["document_id"])))
    event = next(e for e in timeline.events if e.handoff["_id"] == lost["_id"])
    assert event.awaited_photos == lost["photos"] and event.photos == []

    # The late photo still arrives: the checks close its exception; the lost one stays until staff act.
    await ledger.records.put(late_photo)
    await run_checks(ledger, CONFIG)
    assert await not_arrived(ledger) == [lost["_id"]]
    closed = await ledger.office.get(f"resolution:photo_not_arrived:{late['_id']}")
    assert closed["author"] == "segel" and closed["action"] == "arrived_late"
    await resolve(
        ledger,
        staff(),
        "photo_not_arrived",
        str(lost["_id"]),
        "accepted_without_photo",
        "Ponsel kurir rusak.",
    )
    assert await not_arrived(ledger) == []


async def test_a_round_cut_off_after_flagging_is_finished_by_the_next_without_a_duplicate(
    couch: CouchClient, settings: Settings
) -> None:
    """The process dies between writing the finding and dropping the note: the next round drops it."""
    ledger = await ready_ledger(couch, settings)
    lost, _ = await handoff_naming_a_photo(ledger, "BP00000021")
    await run_checks(ledger, CONFIG)
    note = await ledger.office.get(f"awaited:{lost['_id']}")
    real_delete = ledger.office.delete

    async def dies(doc_id: str, rev: str) -> str:
        raise ConnectionResetError("process killed")

    ledger.office.delete = dies  # type: ignore[method-assign]
    with pytest.raises(ConnectionResetError):
        await settle_awaited(ledger, CONFIG, now=LATER)
    ledger.office.delete = real_delete  # type: ignore[method-assign]
    assert (await ledger.office.get(note["_id"]))["_rev"] == note["_rev"]  # the note survived the cut

    again = await settle_awaited(ledger, CONFIG, now=LATER)
    assert again.flagged == 0  # the finding was already written: created once
    assert await ledger.office.get_or_none(note["_id"]) is None
    assert await not_arrived(ledger) == [lost["_id"]]


async def test_the_worker_round_flags_and_the_setting_comes_from_the_environment(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    lost, _ = await handoff_naming_a_photo(ledger, "BP00000031")
    config = OfficeConfig.from_env({"SEGEL_PHOTO_WAIT_HOURS": "0"})
    assert config.photo_wait_hours == 0
    done = await run_once(ledger, config, "http://localhost", LogFileSender(settings.data_dir))
    assert done.photos_flagged == 1
    assert await not_arrived(ledger) == [lost["_id"]]
    with pytest.raises(ValueError, match="SEGEL_PHOTO_WAIT_HOURS"):
        OfficeConfig.from_env({"SEGEL_PHOTO_WAIT_HOURS": "sehari"})
