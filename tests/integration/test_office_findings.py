"""A finding of the office checks is stored as data and worded on the page in the reader's language; a
finding stored as a sentence only (before findings kept their arguments) still shows that sentence."""

from __future__ import annotations

import html

import pytest
from starlette.testclient import TestClient

from server.office import intake
from server.office.checks import run_checks
from server.office.config import OfficeConfig
from server.settings import Settings
from store.couch import CouchClient
from tests.support.identity import make_user, open_session, sign_in
from tests.support.office import (
    next_handoff,
    put_document,
    put_handoff_with_photo,
    ready_ledger,
    seal_image,
    staff,
)

pytestmark = pytest.mark.anyio


async def test_a_far_delivery_reads_in_the_pages_language_and_an_old_finding_as_it_was(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    doc = await put_document(ledger)
    sealed = await intake.bind_seal(ledger, staff(), str(doc["_id"]), "BP00000777")
    pickup = next_handoff(sealed, "picked_up")
    await put_handoff_with_photo(ledger, pickup, seal_image(7))
    far = {"lat": -1.2595, "lon": 116.8275, "accuracy_m": 10}  # about 1.7 km north of the address
    delivered = next_handoff(pickup, "delivered", place=far, receipt_code=doc["receipt_code"])
    await put_handoff_with_photo(ledger, delivered, seal_image(8))
    await run_checks(ledger, OfficeConfig(gps_far_m=500))

    stored = await ledger.office.get(f"finding:gps_far:{delivered['_id']}")
    assert stored["detail_args"] == {"distance_m": stored["detail_args"]["distance_m"], "limit_m": 500}
    assert stored["detail"].startswith("Penyerahan dicatat 1,")  # the Indonesian sentence, kept as well
    # A finding written by an older version: its sentence, no arguments.
    await ledger.office.put(
        {
            "_id": f"finding:check_failed:{pickup['_id']}",
            "type": "finding",
            "kind": "check_failed",
            "subject": pickup["_id"],
            "office": "6471",
            "document_id": doc["_id"],
            "detail": "Pemeriksaan otomatis catatan ini gagal (KeyError); periksa catatannya secara manual.",
            "created_at": "2026-11-17T10:00:00+08:00",
        }
    )

    await make_user(couch, settings, "budi.santoso", "staff", office="6471")
    sign_in(client, settings, await open_session(couch, settings, "budi.santoso"))
    page = client.get(f"/office/documents/{doc['_id']}").text
    assert (
        "Temuan pemeriksaan: Penyerahan dicatat 1," in page
        and "km dari alamat penduduk (batas 500 m)" in page
    )
    assert "Pemeriksaan otomatis catatan ini gagal (KeyError)" in page
    english = html.unescape(client.get(f"/office/documents/{doc['_id']}?lang=en").text)
    assert (
        "The delivery was recorded 1." in english and "from the resident's address (limit 500 m)" in english
    )
    assert "Penyerahan dicatat" not in english
    assert "Pemeriksaan otomatis catatan ini gagal (KeyError)" in english  # stored before: as it was written
