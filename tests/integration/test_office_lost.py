"""A lost envelope: liability, reprint request, new seal and new delivery, all in one verifiable timeline."""

from __future__ import annotations

import pytest

from server.office import intake
from server.office.lost import LostError, record_lost, record_reprint
from server.office.timeline import load_timeline
from server.settings import Settings
from store.couch import CouchClient
from tests.support.office import next_handoff, put_document, ready_ledger, staff

pytestmark = pytest.mark.anyio


async def test_lost_document_is_reprinted_resealed_and_reassigned(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    doc = await put_document(ledger)
    await intake.assign(ledger, staff(), [str(doc["_id"])], "gojek.andi", "gojek", None)
    doc = await ledger.records.get(str(doc["_id"]))
    sealed = await intake.bind_seal(ledger, staff(), str(doc["_id"]), "BP00000501")
    with pytest.raises(LostError, match="tidak sedang dibawa kurir"):
        await record_lost(ledger, staff(), doc, "Hilang di kantor")
    await ledger.records.put(next_handoff(sealed, "picked_up"))
    with pytest.raises(LostError, match="hilang atau dikembalikan"):
        await record_reprint(ledger, staff(), doc, "BP00000502", "")

    liability = await record_lost(ledger, staff(), doc, "Tas kurir dicuri, laporan polisi LP/123")
    await record_reprint(ledger, staff(), doc, "BP00000502", "Dicetak ulang")
    await intake.assign(ledger, staff(), [str(doc["_id"])], "grab.sari", "grab", "B2")

    timeline = await load_timeline(ledger, doc)
    kinds = [e.handoff["kind"] for e in timeline.events]
    assert kinds == ["sealed", "picked_up", "lost", "reprinted", "sealed"]
    assert timeline.chain.ok
    assert timeline.current_seal == "BP00000502"
    assert liability["courier"] == "gojek.andi" and liability["partner"] == "gojek"
    entry_types = {entry["type"] for entry in timeline.office_entries}
    assert {"liability", "reprint_request"} <= entry_types
    assert (await ledger.records.get(str(doc["_id"])))["assignment"]["courier"] == "grab.sari"
    with pytest.raises(intake.IntakeError, match="sudah pernah dipakai"):
        await intake.bind_seal(ledger, staff(), str((await put_document(ledger))["_id"]), "BP00000502")
