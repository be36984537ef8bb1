"""Office pages an office can work all day: times in the office's zone in one format, the residents' story
in the order the server received it, surnames found, each document's status, and only the actions that
apply offered."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from starlette.testclient import TestClient

from server.identity.store import IdentityStore
from server.office import intake
from server.office.checks import run_checks
from server.office.config import OfficeConfig
from server.office.deliveries import update_open_deliveries
from server.office.handover import DOC_KIND_LABELS
from server.office.ledger import Ledger
from server.residents.links import issue_link
from server.settings import Settings
from store.couch import CouchClient
from tests.integration.test_office_pages import as_user, csrf_of, people, register, seal
from tests.integration.test_office_search import found
from tests.support.office import document_fields, next_handoff, put_document, ready_ledger, staff

pytestmark = pytest.mark.anyio


async def receive(ledger: Ledger, handoff: dict[str, object], received_at: str) -> None:
    """Store a handoff and the server's receipt of it, as the sync gateway does when it arrives."""
    await ledger.records.put(handoff)
    await ledger.receipts.put(
        {
            "_id": f"receipt:{handoff['_id']}",
            "type": "receipt",
            "record_id": handoff["_id"],
            "record_type": "handoff",
            "received_at": received_at,
        }
    )


async def test_offices_get_their_provinces_zone_unless_one_is_given(
    couch: CouchClient, settings: Settings
) -> None:
    await ready_ledger(couch, settings)
    store = IdentityStore(couch, settings)
    balikpapan, _ = await store.create_office("6471", "Disdukcapil Kota Balikpapan")
    bandung, _ = await store.create_office("3273", "Disdukcapil Kota Bandung")
    jayapura, _ = await store.create_office("9471", "Disdukcapil Kota Jayapura", "Asia/Jayapura")
    assert (balikpapan["timezone"], bandung["timezone"], jayapura["timezone"]) == (
        "Asia/Makassar",
        "Asia/Jakarta",
        "Asia/Jayapura",
    )
    with pytest.raises(ValueError, match="IANA"):
        await store.create_office("9472", "Disdukcapil Kota Sorong", "Papua/Sorong")


async def test_the_timeline_and_pdf_show_receipt_times_in_wita_and_a_wrong_phone_clock_marked(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    ledger = await ready_ledger(couch, settings)
    doc = await put_document(ledger)
    sealed = await intake.bind_seal(ledger, staff(), str(doc["_id"]), "BP00000901")
    # The pickup phone is eight hours fast; the server received the pickup at 10.41 WITA.
    pickup = next_handoff(sealed, "picked_up", device_time="2026-11-17T18:38:00+08:00")
    await receive(ledger, pickup, "2026-11-17T02:41:55.000Z")
    # The failed attempt's phone keeps UTC and is right: no mark.
    failed = next_handoff(pickup, "failed_attempt", device_time="2026-11-17T03:10:00+00:00")
    await receive(ledger, failed, "2026-11-17T03:11:30.500Z")

    staff_client = await as_user(client, couch, settings, "budi.santoso")
    page = staff_client.get(f"/office/documents/{doc['_id']}").text
    times = re.findall(r'data-role="event-time">(.*?)</dd>', page)
    assert "17 Nov 2026 10.41 WITA" in times[1] and "jam ponsel: 17 Nov 2026 18.38 WITA" in times[1]
    assert "17 Nov 2026 11.11 WITA" in times[2] and "jam ponsel" not in times[2]
    assert "+08:00" not in page and "T02:41" not in page

    pdf = staff_client.get(f"/office/exports/documents/{doc['_id']}.pdf")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "10.41 WITA (jam ponsel: 17 Nov 2026 18.38 WITA)" in text
    assert "18:38" not in text


async def test_the_residents_story_runs_in_the_order_the_server_received_it(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    """Sealed by a phone eight hours fast ("18.38"), picked up at 10.41: the story must not run backwards."""
    ledger = await ready_ledger(couch, settings)
    doc = await put_document(ledger)
    sealed = await intake.bind_seal(ledger, staff(), str(doc["_id"]), "BP00000902")
    sealed_doc = await ledger.records.get(str(sealed["_id"]))
    sealed_doc["device_time"] = "2026-11-17T18:38:00+08:00"  # as if the office phone had written it
    await ledger.records.put(sealed_doc)
    await ledger.receipts.put(
        {
            "_id": f"receipt:{sealed['_id']}",
            "type": "receipt",
            "record_id": sealed["_id"],
            "record_type": "handoff",
            "received_at": "2026-11-17T02:30:00Z",
        }
    )
    pickup = next_handoff(sealed_doc, "picked_up", device_time="2026-11-17T10:41:00+08:00")
    await receive(ledger, pickup, "2026-11-17T02:41:20Z")
    link = await issue_link(ledger, doc)

    page = client.get(f"/r/{link}").text
    sealed_at = page.index("17 Nov 2026 10.30 WITA")
    picked_at = page.index("17 Nov 2026 10.41 WITA")
    assert sealed_at < picked_at
    assert page.index("amplop bersegel") < page.index("Amplop dibawa")
    assert "jam ponsel: 17 Nov 2026 18.38 WITA" in page


async def test_a_surname_finds_the_resident_in_any_case(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    staff_client = await as_user(client, couch, settings, "budi.santoso")
    dewi = register(staff_client, name="Dewi Ayu Maharani").removeprefix("document:")
    other = register(staff_client, name="Maharani Putri").removeprefix("document:")
    register(staff_client, name="Eko Wijaya")

    assert found(staff_client, "Maharani") == {dewi, other}
    assert found(staff_client, "maharani") == {dewi, other}
    assert found(staff_client, "ayu") == {dewi}
    assert found(staff_client, "dewi mah") == {dewi}
    assert found(staff_client, "ayu putri") == set()  # every word must be in the name
    bandung = await as_user(client, couch, settings, "rina.bandung")
    assert found(bandung, "Maharani") == set()


def offered(page: str) -> tuple[bool, bool]:
    return "/lost" in page, "/reprint" in page


async def test_lost_and_reprint_are_offered_only_when_they_apply_and_the_list_shows_status(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    staff_client = await as_user(client, couch, settings, "budi.santoso")
    ledger = await ready_ledger(couch, settings)
    carried, delivered, unsealed = (register(staff_client, name=n) for n in ("Ani", "Budi", "Cici"))
    path = f"/office/documents/{carried}"

    assert offered(staff_client.get(f"/office/documents/{unsealed}").text) == (False, False)
    seal(staff_client, carried, "BP00000911")
    seal(staff_client, delivered, "BP00000912")
    assert offered(staff_client.get(path).text) == (False, False)  # sealed, still at the office

    handoffs = [r["doc"] for r in (await ledger.records.all_docs(include_docs=True))["rows"]]
    by_doc = {h["document_id"]: h for h in handoffs if h.get("type") == "handoff"}
    pickup = next_handoff(by_doc[carried], "picked_up")
    await ledger.records.put(pickup)
    assert offered(staff_client.get(path).text) == (True, False)  # with the courier: may be lost

    other_pickup = next_handoff(by_doc[delivered], "picked_up")
    await ledger.records.put(other_pickup)
    await ledger.records.put(next_handoff(other_pickup, "delivered"))
    assert offered(staff_client.get(f"/office/documents/{delivered}").text) == (False, False)

    listing = staff_client.get("/office/documents").text
    statuses = dict(re.findall(r'href="/office/documents/([^"]+)">.*?data-status="([a-z_]+)"', listing, re.S))
    assert statuses == {carried: "picked_up", delivered: "delivered", unsealed: "unsealed"}
    assert "Dibawa kurir" in listing and "Belum disegel" in listing

    token = csrf_of(staff_client.get(path).text)
    lost = staff_client.post(
        f"{path}/lost", data={"csrf": token, "note": "Tas kurir dicuri"}, follow_redirects=False
    )
    assert lost.status_code == 303
    assert offered(staff_client.get(path).text) == (False, True)  # after the loss: only the reprint

    token = csrf_of(staff_client.get(path).text)
    reprint = staff_client.post(
        f"{path}/reprint", data={"csrf": token, "seal_number": "BP00000913"}, follow_redirects=False
    )
    assert reprint.status_code == 303
    assert offered(staff_client.get(path).text) == (False, False)  # resealed at the office


async def test_the_overdue_list_names_the_resident_kind_and_seal(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    ledger = await ready_ledger(couch, settings)
    doc = await put_document(ledger, name="Siti Terlambat")
    sealed = await intake.bind_seal(ledger, staff(), str(doc["_id"]), "BP00000921")
    three_days_ago = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="seconds")
    await ledger.records.put(next_handoff(sealed, "picked_up", device_time=three_days_ago))
    await update_open_deliveries(ledger, max_batches=4)  # what `segel worker` does

    page = (await as_user(client, couch, settings, "budi.santoso")).get("/office").text
    overdue = page[page.index('<ul class="overdue">') :]
    overdue = overdue[: overdue.index("</ul>")]
    assert "Siti Terlambat" in overdue and "BP00000921" in overdue
    assert DOC_KIND_LABELS[str(doc["doc_kind"])] in overdue
    assert f">{doc['_id']}<" not in overdue  # the id stays in the link, not in the text
    assert "WITA" in overdue


async def test_a_refused_registration_keeps_the_delivery_choice(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    staff_client = await as_user(client, couch, settings, "budi.santoso")
    token = csrf_of(staff_client.get("/office/intake").text)
    fields = {**document_fields(name="Ani"), "nik": "123", "delivery": "self_pickup"}
    refused = staff_client.post("/office/intake/document", data={"csrf": token, **fields})
    assert refused.status_code == 400
    assert re.search(r'<option value="self_pickup" selected>', refused.text)
    assert not re.search(r'<option value="undecided" selected>', refused.text)


async def test_the_residents_message_tells_the_server_time_in_the_offices_zone(
    couch: CouchClient, settings: Settings
) -> None:
    """A courier's phone eight hours fast must not tell the resident their envelope left at 18.38."""
    ledger = await ready_ledger(couch, settings)
    doc = await put_document(ledger)
    sealed = await intake.bind_seal(ledger, staff(), str(doc["_id"]), "BP00000931")
    pickup = next_handoff(sealed, "picked_up", device_time="2026-11-17T18:38:00+08:00")
    await receive(ledger, pickup, "2026-11-17T02:41:55Z")
    await run_checks(ledger, OfficeConfig(), origin="https://segel.example")

    message = await ledger.office.get(f"notification:picked_up:{pickup['_id']}")
    assert "sedang diantar kurir pada 17 Nov 2026 10.41 WITA." in message["text"]
    assert "18.38" not in message["text"]
