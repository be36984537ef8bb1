"""Proof of delivery: the server checks the resident's code and the seal, and a delivery counts only once it
is proven, resolved by staff, or confirmed by the resident."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from records.receipt_proof import ReceiptKey
from records.types import JSONDict
from server.office import intake
from server.office.checks import run_checks
from server.office.config import OfficeConfig
from server.office.dashboard import load_dashboard
from server.office.delivery_checks import DELIVERY_KINDS, delivery_state
from server.office.exceptions import list_queue, resolve
from server.office.ledger import Ledger
from server.residents.links import issue_link
from server.settings import Settings
from store.couch import CouchClient
from tests.support.identity import make_user, open_session, sign_in
from tests.support.office import next_handoff, put_document, ready_ledger, staff

pytestmark = pytest.mark.anyio
CONFIG = OfficeConfig()


def key_of(settings: Settings) -> ReceiptKey:
    """The key the app derives from its secret: what the courier's phone seals codes to."""
    return ReceiptKey.from_secret(settings.secret_key)


async def picked_up(ledger: Ledger, seal: str) -> tuple[JSONDict, JSONDict]:
    doc = await put_document(ledger)
    sealed = await intake.bind_seal(ledger, staff(), str(doc["_id"]), seal)
    pickup = next_handoff(sealed, "picked_up")
    await ledger.records.put(pickup)
    return doc, pickup


def delivery(pickup: JSONDict, settings: Settings, code: str | None, **fields: object) -> JSONDict:
    """A delivery as the PWA records it: the code the resident gave, sealed to the server's key."""
    handoff = next_handoff(pickup, "delivered", **fields)
    handoff.pop("receipt_code", None)
    if code is not None:
        handoff["receipt_proof"] = key_of(settings).seal(code, str(pickup["document_id"]))
    return handoff


async def open_items(ledger: Ledger, handoff_id: str) -> set[str]:
    """The open proof-of-delivery exceptions of one handoff (these test handoffs also lack photos and a
    passkey signature, which the queue lists too)."""
    return {
        item.kind
        for item in await list_queue(ledger, "6471")
        if item.subject == handoff_id and item.kind in DELIVERY_KINDS
    }


async def delivered_today(ledger: Ledger, handoff: JSONDict) -> int:
    day = str(handoff["device_time"])[:10]
    data = await load_dashboard(ledger, "6471", days=1)
    return int(data.per_day.get(day, {}).get("delivered", 0))


async def test_the_right_code_and_seal_prove_the_delivery(couch: CouchClient, settings: Settings) -> None:
    ledger = await ready_ledger(couch, settings)
    doc, pickup = await picked_up(ledger, "BP00070001")
    handoff = delivery(pickup, settings, str(doc["receipt_code"]).lower())  # typed in lower case
    assert "receipt_code" not in handoff
    await ledger.records.put(handoff)

    await run_checks(ledger, CONFIG, receipt_key=key_of(settings))

    assert await delivery_state(ledger, str(handoff["_id"])) == "proven"
    assert await open_items(ledger, str(handoff["_id"])) == set()
    assert await delivered_today(ledger, handoff) == 1


async def test_a_wrong_code_is_an_exception_and_not_delivered_until_staff_confirm(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    _, pickup = await picked_up(ledger, "BP00070002")
    handoff = delivery(pickup, settings, "ABCDEF")
    await ledger.records.put(handoff)

    await run_checks(ledger, CONFIG, receipt_key=key_of(settings))

    assert await open_items(ledger, str(handoff["_id"])) == {"code_mismatch"}
    assert await delivery_state(ledger, str(handoff["_id"])) == "pending"
    assert await delivered_today(ledger, handoff) == 0
    data = await load_dashboard(ledger, "6471", days=1)
    assert data.total("delivery_pending") == 1
    # "Investigated" closes the item but the resident has not got the document: still not delivered.
    await resolve(ledger, staff(), "code_mismatch", str(handoff["_id"]), "investigate", "Kurir ditanya")
    assert await open_items(ledger, str(handoff["_id"])) == set()
    assert await delivered_today(ledger, handoff) == 0


async def test_staff_confirmation_by_phone_makes_a_disputed_delivery_count(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    _, pickup = await picked_up(ledger, "BP00070003")
    handoff = delivery(pickup, settings, "ABCDEF")
    await ledger.records.put(handoff)
    await run_checks(ledger, CONFIG, receipt_key=key_of(settings))

    await resolve(
        ledger, staff(), "code_mismatch", str(handoff["_id"]), "confirmed_by_phone", "Ditelepon: sudah terima"
    )

    assert await delivery_state(ledger, str(handoff["_id"])) == "settled"
    assert await delivered_today(ledger, handoff) == 1


async def test_a_delivery_without_a_code_is_an_exception(couch: CouchClient, settings: Settings) -> None:
    ledger = await ready_ledger(couch, settings)
    _, pickup = await picked_up(ledger, "BP00070004")
    handoff = delivery(
        pickup,
        settings,
        None,
        to={"party": "representative", "name": "Siti Rahma"},
        representative={"name": "Siti Rahma", "relation": "istri"},
    )
    await ledger.records.put(handoff)

    await run_checks(ledger, CONFIG, receipt_key=key_of(settings))

    assert await open_items(ledger, str(handoff["_id"])) == {"code_missing"}
    assert await delivered_today(ledger, handoff) == 0
    await resolve(
        ledger, staff(), "code_missing", str(handoff["_id"]), "confirmed_by_phone", "Penduduk sudah terima"
    )
    assert await open_items(ledger, str(handoff["_id"])) == set()
    assert await delivered_today(ledger, handoff) == 1


async def test_a_wrong_seal_is_an_exception_even_with_the_right_code(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    doc, pickup = await picked_up(ledger, "BP00070005")
    honest = delivery(
        pickup, settings, str(doc["receipt_code"]), seal_number_scanned="BP00079999", seal_match=False
    )
    await ledger.records.put(honest)
    await run_checks(ledger, CONFIG, receipt_key=key_of(settings))
    assert await open_items(ledger, str(honest["_id"])) == {"seal_mismatch"}
    assert await delivered_today(ledger, honest) == 0

    # Staff open the envelope's story with the resident: the contents were right, so it counts.
    await resolve(ledger, staff(), "seal_mismatch", str(honest["_id"]), "checked_ok", "Isi amplop diperiksa")
    assert await open_items(ledger, str(honest["_id"])) == set()
    assert await delivery_state(ledger, str(honest["_id"])) == "settled"
    assert await delivered_today(ledger, honest) == 1


async def test_a_delivery_with_two_faults_counts_only_once_staff_resolved_both(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    _, pickup = await picked_up(ledger, "BP00070010")
    handoff = delivery(pickup, settings, "ABCDEF", seal_number_scanned="BP00079998", seal_match=False)
    await ledger.records.put(handoff)
    await run_checks(ledger, CONFIG, receipt_key=key_of(settings))
    handoff_id = str(handoff["_id"])
    assert await open_items(ledger, handoff_id) == {"code_mismatch", "seal_mismatch"}

    await resolve(
        ledger, staff(), "code_mismatch", handoff_id, "confirmed_by_phone", "Ditelepon: sudah terima"
    )
    assert await open_items(ledger, handoff_id) == {"seal_mismatch"}
    assert await delivery_state(ledger, handoff_id) == "pending"  # the seal is still unexplained
    assert await delivered_today(ledger, handoff) == 0

    await resolve(ledger, staff(), "seal_mismatch", handoff_id, "checked_ok", "Isi amplop diperiksa")
    assert await delivery_state(ledger, handoff_id) == "settled"
    assert await delivered_today(ledger, handoff) == 1


async def test_a_phone_that_calls_a_foreign_seal_matching_is_caught_by_the_server(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    doc, pickup = await picked_up(ledger, "BP00070006")
    # The phone copied the scanned number as "expected" and claims a match: the office bound another seal.
    lying = delivery(
        pickup,
        settings,
        str(doc["receipt_code"]),
        seal_number_scanned="BP00078888",
        seal_number_expected="BP00078888",
        seal_match=True,
    )
    await ledger.records.put(lying)
    await run_checks(ledger, CONFIG, receipt_key=key_of(settings))
    assert await open_items(ledger, str(lying["_id"])) == {"seal_unexpected"}
    assert await delivery_state(ledger, str(lying["_id"])) == "pending"


async def test_a_code_sealed_to_another_key_cannot_be_read_and_is_an_exception(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    doc, pickup = await picked_up(ledger, "BP00070007")
    handoff = next_handoff(pickup, "delivered")
    handoff.pop("receipt_code")
    other = ReceiptKey.from_secret("a different deployment's secret key, 32+ chars")
    handoff["receipt_proof"] = other.seal(str(doc["receipt_code"]), str(doc["_id"]))
    await ledger.records.put(handoff)
    await run_checks(ledger, CONFIG, receipt_key=key_of(settings))
    assert await open_items(ledger, str(handoff["_id"])) == {"code_mismatch"}


async def test_the_residents_confirmation_closes_the_exception_and_counts_the_delivery(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    doc, pickup = await picked_up(ledger, "BP00070008")
    handoff = delivery(
        pickup,
        settings,
        None,
        to={"party": "representative", "name": "Siti Rahma"},
        representative={"name": "Siti Rahma", "relation": "istri"},
    )
    await ledger.records.put(handoff)
    await run_checks(ledger, CONFIG, receipt_key=key_of(settings))
    assert await open_items(ledger, str(handoff["_id"])) == {"code_missing"}

    link = await issue_link(ledger, doc)
    page = client.get(f"/r/{link}")
    assert "Mohon konfirmasi" in page.text
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    assert client.post(f"/r/{link}/confirm", data={"csrf": csrf}).status_code == 200

    assert await open_items(ledger, str(handoff["_id"])) == set()
    assert await delivery_state(ledger, str(handoff["_id"])) == "settled"
    assert await delivered_today(ledger, handoff) == 1
    assert "Dokumen sudah diterima." in client.get(f"/r/{link}").text


async def test_the_timeline_gives_one_verdict_per_delivery(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    _, pickup = await picked_up(ledger, "BP00070009")
    handoff = delivery(pickup, settings, "ABCDEF")
    await ledger.records.put(handoff)
    await make_user(couch, settings, "budi.santoso", "staff", office="6471")
    sign_in(client, settings, await open_session(couch, settings, "budi.santoso"))

    page = client.get(f"/office/documents/{pickup['document_id']}")  # runs the checks on demand

    assert page.status_code == 200
    verdict = page.text.split('data-role="delivery-verdict"')[1].split("</div>")[0]
    assert 'data-state="pending"' in verdict and "Belum dihitung diterima" in verdict
    assert "Kode penerimaan TIDAK cocok" in verdict
    assert "Nomor segel cocok: dipindai BP00070009, dipasang kantor BP00070009" in verdict
    assert "Foto segel: 0 diterima" in verdict and "Tanpa tanda tangan passkey" in verdict
    assert "ABCDEF" not in page.text  # what the courier typed is evidence for staff, not shown as a code
