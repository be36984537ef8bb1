"""Each exception kind is raised by the records that cause it and cleared by its action (real CouchDB)."""

from __future__ import annotations

import html as html_lib
import io
import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image
from starlette.testclient import TestClient

from records.nik import mask_nik
from records.schemas import validate_record
from records.types import JSONDict
from server.office import intake, open_items, queue
from server.office.checks import haversine_m, run_checks
from server.office.config import OfficeConfig
from server.office.design import OFFICE_DESIGN, REPORTS_DESIGN
from server.office.exceptions import ResolutionError, list_queue, resolve
from server.office.ledger import OFFICE_TZ, Ledger, new_id, now_iso
from server.office.lost import record_lost
from server.office.timeline import load_timeline
from server.settings import Settings
from store.couch import CouchClient, Database
from tests.integration.test_office_pages import as_user, csrf_of, people
from tests.support.office import (
    NIKS,
    next_handoff,
    photo_for,
    put_document,
    put_handoff_with_photo,
    ready_ledger,
    seal_image,
    staff,
)

pytestmark = pytest.mark.anyio
CONFIG = OfficeConfig(gps_far_m=500)


async def sealed_document(ledger: Ledger, number: str, **fields: str) -> tuple[JSONDict, JSONDict]:
    doc = await put_document(ledger, **fields)
    sealed = await intake.bind_seal(ledger, staff(), str(doc["_id"]), number)
    return doc, sealed


async def open_kinds(ledger: Ledger, office: str = "6471") -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {}
    for item in await list_queue(ledger, office):
        kinds.setdefault(item.kind, []).append(item.subject)
    return kinds


async def test_a_clean_delivery_raises_no_exception(couch: CouchClient, settings: Settings) -> None:
    ledger = await ready_ledger(couch, settings)
    _, sealed = await sealed_document(ledger, "BP00000001")
    pickup = next_handoff(sealed, "picked_up")
    await put_handoff_with_photo(ledger, pickup, seal_image(2))
    delivered = next_handoff(pickup, "delivered", place={"lat": -1.27431, "lon": 116.82852, "accuracy_m": 8})
    await put_handoff_with_photo(ledger, delivered, seal_image(3))
    await run_checks(ledger, CONFIG)

    kinds = await open_kinds(ledger)
    assert kinds.get("seal_mismatch") is None and kinds.get("seal_damaged") is None
    assert kinds.get("gps_far") is None and kinds.get("photo_reused") is None
    assert pickup["_id"] not in kinds.get("photo_missing", [])
    assert sealed["_id"] not in kinds.get("photo_missing", [])  # sealed at the desk: no camera there


async def test_seal_mismatch_is_raised_and_cleared_by_its_action(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    _, sealed = await sealed_document(ledger, "BP00000002")
    pickup = next_handoff(sealed, "picked_up", seal_number_scanned="BP00000020", seal_match=False)
    await put_handoff_with_photo(ledger, pickup, seal_image(4))

    assert pickup["_id"] in (await open_kinds(ledger))["seal_mismatch"]
    with pytest.raises(ResolutionError, match="tindakan"):
        await resolve(ledger, staff(), "seal_mismatch", str(pickup["_id"]), "delete_it", "hapus saja")
    with pytest.raises(ResolutionError, match="tidak ditemukan"):
        await resolve(
            ledger, staff("3273", "rina.bdg"), "seal_mismatch", str(pickup["_id"]), "checked_ok", "ok ok"
        )

    await resolve(
        ledger, staff(), "seal_mismatch", str(pickup["_id"]), "checked_ok", "Amplop dibuka, isi benar"
    )

    assert "seal_mismatch" not in await open_kinds(ledger)
    assert (await ledger.records.get(str(pickup["_id"])))["seal_match"] is False  # history untouched
    with pytest.raises(ResolutionError, match="sudah diselesaikan"):
        await resolve(ledger, staff(), "seal_mismatch", str(pickup["_id"]), "checked_ok", "sekali lagi")


async def test_damaged_seal_and_missing_photo_are_raised_and_cleared(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    _, sealed = await sealed_document(ledger, "BP00000003")
    pickup = next_handoff(sealed, "picked_up", seal_condition="damaged")
    await ledger.records.put(pickup)  # no photo either

    kinds = await open_kinds(ledger)
    assert pickup["_id"] in kinds["seal_damaged"] and pickup["_id"] in kinds["photo_missing"]
    await resolve(ledger, staff(), "seal_damaged", str(pickup["_id"]), "reprint", "Dicetak ulang besok")
    await resolve(
        ledger, staff(), "photo_missing", str(pickup["_id"]), "accepted_without_photo", "Kamera ponsel rusak"
    )
    kinds = await open_kinds(ledger)
    assert pickup["_id"] not in kinds.get("seal_damaged", []) + kinds.get("photo_missing", [])


async def test_photo_digest_mismatch_is_found_and_cleared(couch: CouchClient, settings: Settings) -> None:
    ledger = await ready_ledger(couch, settings)
    _, sealed = await sealed_document(ledger, "BP00000004")
    pickup = next_handoff(sealed, "picked_up")
    photo = await put_handoff_with_photo(ledger, pickup, seal_image(5), sha256="0" * 64)

    await run_checks(ledger, CONFIG)
    assert (await open_kinds(ledger))["photo_digest"] == [photo["_id"]]
    await resolve(ledger, staff(), "photo_digest", str(photo["_id"]), "photo_rejected", "Foto tidak sah")
    assert "photo_digest" not in await open_kinds(ledger)


async def test_same_photo_for_two_documents_is_found_and_cleared(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    _, first = await sealed_document(ledger, "BP00000005")
    _, second = await sealed_document(ledger, "BP00000006", nik=NIKS[1])
    picture = seal_image(6)
    await put_handoff_with_photo(ledger, next_handoff(first, "picked_up"), picture)
    await run_checks(ledger, CONFIG)
    assert "photo_reused" not in await open_kinds(ledger)

    reused = await put_handoff_with_photo(ledger, next_handoff(second, "picked_up"), picture)
    await run_checks(ledger, CONFIG)
    assert (await open_kinds(ledger))["photo_reused"] == [reused["_id"]]
    await resolve(ledger, staff(), "photo_reused", str(reused["_id"]), "courier_warned", "Kurir ditegur")
    assert "photo_reused" not in await open_kinds(ledger)


async def test_delivery_far_from_the_address_is_found_and_cleared(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    _, sealed = await sealed_document(ledger, "BP00000007")
    pickup = next_handoff(sealed, "picked_up")
    await put_handoff_with_photo(ledger, pickup, seal_image(7))
    far = {"lat": -1.2260, "lon": 116.9740, "accuracy_m": 10}  # Balikpapan Timur, ~16 km away
    assert haversine_m(-1.27431, 116.82852, far["lat"], far["lon"]) > 10_000
    delivered = next_handoff(pickup, "delivered", place=far)
    await put_handoff_with_photo(ledger, delivered, seal_image(8))

    await run_checks(ledger, CONFIG)
    assert (await open_kinds(ledger))["gps_far"] == [delivered["_id"]]
    await resolve(
        ledger, staff(), "gps_far", str(delivered["_id"]), "resident_confirmed", "Ditelepon, sudah terima"
    )
    assert "gps_far" not in await open_kinds(ledger)


async def test_broken_chain_is_found_and_cleared(couch: CouchClient, settings: Settings) -> None:
    ledger = await ready_ledger(couch, settings)
    _, sealed = await sealed_document(ledger, "BP00000008")
    pickup = next_handoff(sealed, "picked_up")
    # A delivery that names a previous handoff that is not the pickup: a withheld or altered link.
    delivered = next_handoff(pickup, "delivered", prev_hash="a" * 64)
    await put_handoff_with_photo(ledger, pickup, seal_image(9))
    await put_handoff_with_photo(ledger, delivered, seal_image(10))

    await run_checks(ledger, CONFIG)
    assert (await open_kinds(ledger))["chain_broken"] == [delivered["_id"]]
    await resolve(
        ledger, staff(), "chain_broken", str(delivered["_id"]), "investigate", "Diperiksa dengan kurir"
    )
    assert "chain_broken" not in await open_kinds(ledger)


async def test_invalid_signature_receipt_is_found_and_cleared(couch: CouchClient, settings: Settings) -> None:
    ledger = await ready_ledger(couch, settings)
    _, sealed = await sealed_document(ledger, "BP00000009")
    pickup = next_handoff(sealed, "picked_up")
    await put_handoff_with_photo(ledger, pickup, seal_image(11))
    await ledger.receipts.put(
        {
            "_id": f"receipt:{pickup['_id']}",
            "type": "receipt",
            "record_id": pickup["_id"],
            "office": "6471",
            "document_id": pickup["document_id"],
            "received_at": now_iso(),
            "signature": {"status": "invalid", "reason": "challenge mismatch", "credential_id": "AbCd"},
        }
    )

    await run_checks(ledger, CONFIG)
    assert (await open_kinds(ledger))["signature_invalid"] == [pickup["_id"]]
    await resolve(ledger, staff(), "signature_invalid", str(pickup["_id"]), "explained", "Ponsel diganti")
    assert "signature_invalid" not in await open_kinds(ledger)


async def test_complaint_is_queued_and_cleared(couch: CouchClient, settings: Settings) -> None:
    ledger = await ready_ledger(couch, settings)
    doc, _ = await sealed_document(ledger, "BP00000010")
    complaint = {
        "_id": f"complaint:{new_id()}",
        "type": "complaint",
        "schema_version": 1,
        "office": "6471",
        "created_at": now_iso(),
        "author": "resident",
        "document_id": doc["_id"],
        "kind": "not_received",
        "description": "Belum sampai di rumah",
        "channel": "resident_page",
    }
    await ledger.records.put(complaint)
    assert (await open_kinds(ledger))["complaint"] == [complaint["_id"]]
    assert "complaint" not in await open_kinds(ledger, "3273")  # another office sees nothing of it
    await resolve(ledger, staff(), "complaint", str(complaint["_id"]), "answered", "Ditelepon balik")
    assert "complaint" not in await open_kinds(ledger)


async def test_record_refused_by_the_gateway_is_queued_and_cleared(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    doc, sealed = await sealed_document(ledger, "BP00000011")
    refused = next_handoff(sealed, "picked_up")
    refusal_id = f"refusal:{refused['_id']}:1-{'c' * 32}"
    # The shape the sync gateway writes when it refuses a pushed record.
    await ledger.records.put(
        {
            "_id": refusal_id,
            "type": "refusal",
            "record_id": refused["_id"],
            "record_type": "handoff",
            "rev": f"1-{'c' * 32}",
            "office": "6471",
            "user": "gojek.andi",
            "device_id": "passkey-0123456789abcdef",
            "code": "signature_invalid",
            "reason": "Tanda tangan tidak cocok dengan catatan.",
            "refused_at": now_iso(),
            "record": {k.lstrip("_"): v for k, v in refused.items()},
        }
    )
    [item] = [i for i in await list_queue(ledger, "6471") if i.kind == "refused"]
    assert item.subject == refusal_id and item.document_id == doc["_id"]
    assert "Tanda tangan tidak cocok" in item.detail
    assert [i for i in await list_queue(ledger, "3273") if i.kind == "refused"] == []
    await resolve(
        ledger, staff(), "refused", refusal_id, "explained", "Kurir mengirim ulang dari ponsel baru"
    )
    assert "refused" not in await open_kinds(ledger)


async def test_unsigned_courier_handoff_is_flagged_but_a_desk_seal_is_not(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    _, sealed = await sealed_document(ledger, "BP00000012")
    pickup = next_handoff(sealed, "picked_up", unsigned_reason="Ponsel kurir belum punya passkey")
    await put_handoff_with_photo(ledger, pickup, seal_image(12))

    kinds = await open_kinds(ledger)
    assert kinds["unsigned"] == [pickup["_id"]]  # the desk's own seal (unsigned by design) is not listed
    await resolve(
        ledger, staff(), "unsigned", str(pickup["_id"]), "accepted_unsigned", "Passkey didaftarkan besok"
    )
    assert "unsigned" not in await open_kinds(ledger)


async def test_a_recompressed_copy_of_a_photo_counts_as_reused(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    _, first = await sealed_document(ledger, "BP00000013")
    _, second = await sealed_document(ledger, "BP00000014", nik=NIKS[1])
    original = seal_image(13)
    copy = io.BytesIO()
    Image.open(io.BytesIO(original)).resize((150, 112)).save(copy, format="JPEG", quality=60)
    assert copy.getvalue() != original  # different bytes, different SHA-256: the same picture all the same
    await put_handoff_with_photo(ledger, next_handoff(first, "picked_up"), original)
    reused = await put_handoff_with_photo(ledger, next_handoff(second, "picked_up"), copy.getvalue())
    await run_checks(ledger, CONFIG)
    assert (await open_kinds(ledger))["photo_reused"] == [reused["_id"]]


async def test_an_old_open_exception_is_not_hidden_behind_newer_resolved_ones(
    couch: CouchClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The queue reads each kind newest first, page by page, past the resolved ones (pages of 3 here)."""
    monkeypatch.setattr(open_items, "PAGE", 3)
    ledger = await ready_ledger(couch, settings)
    pickups = []
    for number in range(8):
        _, sealed = await sealed_document(ledger, f"BP0000070{number}")
        pickup = next_handoff(sealed, "picked_up", device_time=f"2026-11-0{number + 1}T10:00:00+08:00")
        await ledger.records.put(pickup)
        pickups.append(pickup)
    oldest, newer = pickups[0], pickups[1:]
    for pickup in newer:
        subject = str(pickup["_id"])
        await resolve(ledger, staff(), "unsigned", subject, "accepted_unsigned", "Alasan masuk akal.")

    found = await queue.open_queue(ledger, "6471")
    assert [item.subject for item in found.items if item.kind == "unsigned"] == [oldest["_id"]]
    assert "unsigned" not in found.more

    # Fewer shown than are open: the page says so.
    for pickup in newer[:2]:
        await ledger.office.delete(
            f"resolution:unsigned:{pickup['_id']}",
            (await ledger.office.get(f"resolution:unsigned:{pickup['_id']}"))["_rev"],
        )
    limited = await queue.open_queue(ledger, "6471", limit=2)
    assert len([item for item in limited.items if item.kind == "unsigned"]) == 2
    assert "unsigned" in limited.more
    # A kind with more exceptions ever raised than one page load reads is named as cut, not silently short.
    monkeypatch.setattr(open_items, "MAX_SCANNED", 6)
    _, cut = await queue.open_rows(ledger, "6471")
    # Of "unsigned" only the three open days are read; all eight days of "photo_missing" (these pickups
    # have no photo either) are open.
    assert cut == {"photo_missing"}


async def test_the_later_photo_is_the_reuse_whichever_the_checks_read_first(
    couch: CouchClient, settings: Settings
) -> None:
    """A clustered changes feed brings records in no set order: the copy, taken later, is the reuse even
    when it reaches the checks before the original."""
    ledger = await ready_ledger(couch, settings)
    _, first = await sealed_document(ledger, "BP00000015")
    _, second = await sealed_document(ledger, "BP00000016", nik=NIKS[1])
    picture = seal_image(15)
    copy = await put_handoff_with_photo(
        ledger, next_handoff(second, "picked_up"), picture, captured_at="2026-11-20T11:00:00+08:00"
    )
    await run_checks(ledger, CONFIG)
    assert "photo_reused" not in await open_kinds(ledger)
    await put_handoff_with_photo(
        ledger, next_handoff(first, "picked_up"), picture, captured_at="2026-11-20T09:00:00+08:00"
    )
    await run_checks(ledger, CONFIG)
    assert (await open_kinds(ledger))["photo_reused"] == [copy["_id"]]


# --- a queue for a working day: filters, counts, paging, losses ------------------------------------------

#: The office's users as the identity database lists them (the queue names couriers by these).
PEOPLE = queue.people_of(
    [
        {"user_id": "gojek.andi", "role": "courier", "partner": "gojek", "name": "Andi Saputra"},
        {"user_id": "grab.sari", "role": "courier", "partner": "grab", "name": "Sari Dewi"},
        {"user_id": "budi.santoso", "role": "staff", "name": "Budi Santoso"},
    ]
)
SIGNATURE = {
    "credential_id": "AbCd",
    "authenticator_data": "AAAA",
    "client_data_json": "AAAA",
    "signature": "AAAA",
}


def signed(previous: JSONDict, kind: str, **fields: object) -> JSONDict:
    """A handoff as a phone with a passkey writes it: signed, so it is not also an "unsigned" item."""
    handoff = next_handoff(previous, kind, **fields)
    del handoff["unsigned_reason"]
    handoff["signature"] = SIGNATURE
    assert validate_record(handoff) == []
    return handoff


def courier_party(user_id: str, name: str) -> JSONDict:
    return {"party": "courier", "id": user_id, "name": name}


async def assigned_and_sealed(
    ledger: Ledger, number: str, courier: str, partner: str, **fields: str
) -> tuple[JSONDict, JSONDict]:
    doc = await put_document(ledger, **fields)
    await intake.assign(ledger, staff(), [str(doc["_id"])], courier, partner, None)
    sealed = await intake.bind_seal(ledger, staff(), str(doc["_id"]), number)
    return await ledger.records.get(str(doc["_id"])), sealed


def complaint_about(document: JSONDict, description: str) -> JSONDict:
    return {
        "_id": f"complaint:{new_id()}",
        "type": "complaint",
        "schema_version": 1,
        "office": "6471",
        "created_at": now_iso(),
        "author": "resident",
        "document_id": document["_id"],
        "kind": "not_received",
        "description": description,
        "channel": "resident_page",
    }


async def a_working_day(ledger: Ledger) -> dict[str, JSONDict]:
    """Two couriers of two partners: Andi's two seal mismatches (5 and 2 days old), Sari's damaged seal
    today, and a complaint about a document Sari carries (the complaint itself names no courier)."""
    now = datetime.now(OFFICE_TZ)
    andi, sari = courier_party("gojek.andi", "Andi Saputra"), courier_party("grab.sari", "Sari Dewi")
    siti, sealed_a = await assigned_and_sealed(
        ledger, "BP00000101", "gojek.andi", "gojek", name="Siti Aminah"
    )
    old = signed(
        sealed_a,
        "picked_up",
        to=andi,
        seal_number_scanned="BP00000110",
        seal_match=False,
        device_time=now_iso(now - timedelta(days=5)),
    )
    await put_handoff_with_photo(ledger, old, seal_image(51))
    _, sealed_b = await assigned_and_sealed(
        ledger, "BP00000102", "grab.sari", "grab", name="Yusuf Hidayat", nik=NIKS[1], doc_kind="kk"
    )
    damaged = signed(sealed_b, "picked_up", author="grab.sari", to=sari, seal_condition="damaged")
    await put_handoff_with_photo(ledger, damaged, seal_image(52))
    dewi, _ = await assigned_and_sealed(ledger, "BP00000103", "grab.sari", "grab", name="Dewi Lestari")
    complaint = complaint_about(dewi, "Belum sampai di rumah")
    await ledger.records.put(complaint)
    _, sealed_d = await assigned_and_sealed(ledger, "BP00000104", "gojek.andi", "gojek", name="Eko Wijaya")
    recent = signed(
        sealed_d,
        "picked_up",
        to=andi,
        seal_number_scanned="BP00000140",
        seal_match=False,
        device_time=now_iso(now - timedelta(days=2)),
    )
    await put_handoff_with_photo(ledger, recent, seal_image(53))
    return {"old": old, "damaged": damaged, "complaint": complaint, "recent": recent, "siti": siti}


def subjects(page: queue.QueuePage) -> list[str]:
    return [item.subject for item in page.items]


async def test_the_queue_filters_by_kind_courier_partner_and_age_and_counts_each_kind_under_the_others(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    day = await a_working_day(ledger)
    old, damaged, complaint, recent = (str(day[k]["_id"]) for k in ("old", "damaged", "complaint", "recent"))

    async def page(**wanted: str) -> queue.QueuePage:
        return await queue.load_page(ledger, "6471", queue.QueueFilter(**wanted), PEOPLE)  # type: ignore[arg-type]

    everything = await page()
    assert everything.counts == {"seal_mismatch": 2, "seal_damaged": 1, "complaint": 1}
    assert everything.total == 4 and subjects(everything)[-1] == old  # newest first, the oldest last

    by_andi = await page(courier="gojek.andi")
    assert subjects(by_andi) == [recent, old] and by_andi.counts == {"seal_mismatch": 2}
    # The complaint names no courier: it is Sari's through the document she carries.
    by_grab = await page(partner="grab")
    assert set(subjects(by_grab)) == {damaged, complaint}
    complaints_of_sari = await page(courier="grab.sari", kind="complaint")
    assert subjects(complaints_of_sari) == [complaint] and complaints_of_sari.total == 1
    assert complaints_of_sari.counts == {"seal_damaged": 1, "complaint": 1}  # every kind, under the courier

    assert set(subjects(await page(age="today"))) == {damaged, complaint}
    assert subjects(await page(age="1")) == [recent, old]
    assert subjects(await page(age="3")) == [old]
    assert subjects(await page(age="7")) == [] and (await page(age="7")).counts == {}
    assert subjects(await page(partner="maxim")) == []


async def test_each_item_names_the_resident_the_document_the_seal_and_the_courier(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    day = await a_working_day(ledger)
    items = {
        item.subject: item
        for item in (await queue.load_page(ledger, "6471", queue.QueueFilter(), PEOPLE)).items
    }

    mismatch = items[str(day["old"]["_id"])]
    assert (mismatch.resident_name, mismatch.doc_kind, mismatch.seal) == ("Siti Aminah", "ektp", "BP00000101")
    assert mismatch.nik_masked == mask_nik(NIKS[0]) and NIKS[0] not in mismatch.nik_masked
    assert (mismatch.courier, mismatch.courier_name, mismatch.partner) == (
        "gojek.andi",
        "Andi Saputra",
        "gojek",
    )
    assert mismatch.document_id == day["siti"]["_id"]
    damaged = items[str(day["damaged"]["_id"])]
    assert (damaged.resident_name, damaged.doc_kind, damaged.courier_name) == (
        "Yusuf Hidayat",
        "kk",
        "Sari Dewi",
    )
    assert damaged.detail == "Segel rusak saat diambil kurir oleh Sari Dewi."
    # A complaint carries no seal and no courier: both come from its document.
    complaint = items[str(day["complaint"]["_id"])]
    assert (complaint.resident_name, complaint.seal, complaint.courier_name) == (
        "Dewi Lestari",
        "BP00000103",
        "Sari Dewi",
    )
    assert complaint.partner == "grab"


async def test_the_queue_pages_with_exact_totals_and_a_page_past_the_end_shows_the_last(
    couch: CouchClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue, "PER_PAGE", 3)
    monkeypatch.setattr(open_items, "PAGE", 2)  # the views are read two rows at a time: paging on past them
    ledger = await ready_ledger(couch, settings)
    pickups = []
    for number in range(8):
        _, sealed = await sealed_document(ledger, f"BP0000080{number}")
        pickup = signed(
            sealed, "picked_up", seal_condition="damaged", device_time=f"2026-11-1{number}T09:00:00+08:00"
        )
        await put_handoff_with_photo(ledger, pickup, seal_image(60 + number))
        pickups.append(str(pickup["_id"]))
    await resolve(ledger, staff(), "seal_damaged", pickups[6], "checked_ok", "Amplop dibuka, isi benar")
    newest_first = [p for p in reversed(pickups) if p != pickups[6]]

    pages = [await queue.load_page(ledger, "6471", queue.QueueFilter(page=n), PEOPLE) for n in range(3)]
    assert [subjects(p) for p in pages] == [newest_first[:3], newest_first[3:6], newest_first[6:]]
    assert {(p.total, p.pages) for p in pages} == {(7, 3)}
    assert (pages[1].first, pages[1].last) == (4, 6)
    assert pages[0].following == queue.anchor_of(f"seal_damaged:{newest_first[3]}")  # what moves up next
    assert pages[2].following is None
    beyond = await queue.load_page(ledger, "6471", queue.QueueFilter(page=9), PEOPLE)
    assert beyond.page == 2 and subjects(beyond) == newest_first[6:]


async def test_a_loss_the_courier_reported_is_one_item_that_reads_as_a_loss(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    andi = courier_party("gojek.andi", "Andi Saputra")
    _, sealed = await assigned_and_sealed(ledger, "BP00000201", "gojek.andi", "gojek", name="Siti Aminah")
    pickup = signed(sealed, "picked_up", to=andi)
    await put_handoff_with_photo(ledger, pickup, seal_image(71))
    # What the courier's app writes for "Laporkan hilang": no seal to scan, the courier keeps custody.
    lost = next_handoff(
        pickup,
        "lost",
        **{"from": andi, "to": andi},
        seal_number_scanned=None,
        seal_match=False,
        seal_condition="missing",
        note="Tas dicuri di angkot",
    )
    await ledger.records.put(lost)

    kinds = await open_kinds(ledger)
    assert kinds == {"lost": [lost["_id"]]}  # not also "seal not scanned", "seal missing" and "unsigned"
    [item] = (await queue.load_page(ledger, "6471", queue.QueueFilter(kind="lost"), PEOPLE)).items
    assert item.label == "Dokumen hilang"
    assert item.detail == "Dilaporkan hilang oleh Andi Saputra. Kronologi: Tas dicuri di angkot"
    assert [value for value, _ in item.actions] == ["lost_reprinted", "lost_liability"]
    assert "Amplop diperiksa, isi benar" not in [words for _, words in item.actions]
    assert (item.seal, item.courier_name, item.partner) == ("BP00000201", "Andi Saputra", "gojek")
    with pytest.raises(ResolutionError, match="tindakan"):
        await resolve(ledger, staff(), "lost", str(lost["_id"]), "checked_ok", "Amplop diperiksa")


async def test_settling_a_loss_records_the_liability_and_reprints_under_a_new_seal(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    andi = courier_party("gojek.andi", "Andi Saputra")
    doc, sealed = await assigned_and_sealed(ledger, "BP00000301", "gojek.andi", "gojek")
    pickup = signed(sealed, "picked_up", to=andi)
    await put_handoff_with_photo(ledger, pickup, seal_image(72))
    lost = signed(
        pickup, "lost", to=andi, seal_number_scanned=None, seal_match=False, seal_condition="missing"
    )
    await ledger.records.put(lost)
    await sealed_document(ledger, "BP00000399", nik=NIKS[1])  # a seal already on another envelope
    subject = str(lost["_id"])

    # What a reprint would refuse is refused before anything is written.
    for number, reason in (("", "2 huruf lalu 6–10 angka"), ("BP00000399", "sudah pernah dipakai")):
        with pytest.raises(ResolutionError, match=reason):
            await resolve(
                ledger, staff(), "lost", subject, "lost_reprinted", "Kurir ganti biaya", seal_number=number
            )
    timeline = await load_timeline(ledger, doc)
    assert timeline.office_entries == [] and timeline.last_handoff["_id"] == subject  # type: ignore[index]
    with pytest.raises(ResolutionError, match="tidak ditemukan"):  # another office's staff
        await resolve(
            ledger,
            staff("3273", "rina.bdg"),
            "lost",
            subject,
            "lost_reprinted",
            "bukan kami",
            seal_number="BP00000302",
        )

    resolution = await resolve(
        ledger,
        staff(),
        "lost",
        subject,
        "lost_reprinted",
        "Kurir mengganti biaya cetak",
        seal_number="bp00000302",
    )

    timeline = await load_timeline(ledger, doc)
    assert [e.handoff["kind"] for e in timeline.events] == [
        "sealed",
        "picked_up",
        "lost",
        "reprinted",
        "sealed",
    ]
    assert timeline.chain.ok and timeline.current_seal == "BP00000302"
    [liability] = [e for e in timeline.office_entries if e["type"] == "liability"]
    assert (liability["courier"], liability["partner"], liability["seal_number"]) == (
        "gojek.andi",
        "gojek",
        "BP00000301",
    )
    assert liability["note"] == "Kurir mengganti biaya cetak"
    assert resolution["loss"] == {
        "liability_id": liability["_id"],
        "courier": "gojek.andi",
        "partner": "gojek",
        "new_seal": "BP00000302",
    }
    assert [e["status"] for e in timeline.office_entries if e["type"] == "reprint_request"] == ["done"]
    # Nothing left to follow up: the loss is closed, and the reprint at the desk (no seal to scan) is no
    # "seal mismatch".
    assert await open_kinds(ledger) == {}


async def test_a_loss_recorded_at_the_desk_keeps_its_one_liability_when_settled_from_the_queue(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    doc, sealed = await assigned_and_sealed(ledger, "BP00000401", "gojek.andi", "gojek")
    await put_handoff_with_photo(ledger, signed(sealed, "picked_up"), seal_image(73))
    await record_lost(ledger, staff(), doc, "Kurir menelepon: tas dicuri")
    [lost] = [e.handoff for e in (await load_timeline(ledger, doc)).events if e.handoff["kind"] == "lost"]

    [item] = (await queue.load_page(ledger, "6471", queue.QueueFilter(kind="lost"), PEOPLE)).items
    assert item.detail == (
        "Dicatat hilang oleh Budi Santoso; terakhir dibawa Andi Saputra. "
        "Kronologi: Kurir menelepon: tas dicuri"
    )
    await resolve(ledger, staff(), "lost", str(lost["_id"]), "lost_liability", "Cetak ulang minggu depan")

    entries = (await load_timeline(ledger, doc)).office_entries
    assert len([e for e in entries if e["type"] == "liability"]) == 1
    assert [e["status"] for e in entries if e["type"] == "reprint_request"] == ["requested"]
    assert "lost" not in await open_kinds(ledger)


async def test_a_loss_closed_before_losses_had_their_own_kind_stays_closed(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    _, sealed = await sealed_document(ledger, "BP00000501")
    pickup = signed(sealed, "picked_up")
    await put_handoff_with_photo(ledger, pickup, seal_image(74))
    lost = signed(pickup, "lost", seal_number_scanned=None, seal_match=False, seal_condition="missing")
    await ledger.records.put(lost)
    # Then it showed as these two, and staff closed both.
    for kind in ("seal_mismatch", "seal_damaged"):
        await ledger.office.put(
            {
                "_id": f"resolution:{kind}:{lost['_id']}",
                "type": "resolution",
                "kind": kind,
                "subject": lost["_id"],
                "action": "reprint",
                "note": "Dicetak ulang",
                "office": "6471",
                "author": "budi.santoso",
                "created_at": now_iso(),
            }
        )
    assert "lost" not in await open_kinds(ledger)
    await ledger.office.delete(
        f"resolution:seal_damaged:{lost['_id']}",
        (await ledger.office.get(f"resolution:seal_damaged:{lost['_id']}"))["_rev"],
    )
    assert (await open_kinds(ledger))["lost"] == [lost["_id"]]  # half closed then: still open now


# --- the queue page over HTTP ------------------------------------------------------------------------------


def cards(html: str) -> list[str]:
    """The queue's item cards, in page order, each as its HTML."""
    return re.findall(r'<li class="card exc exc-.*?</li>', html, re.S)


def card_of(html: str, kind: str, subject: object) -> str:
    [card] = [c for c in cards(html) if f'data-kind="{kind}" data-subject="{subject}"' in c]
    return card


def visible(html: str) -> str:
    """The words of a page, without its tags and attributes (where ids may be: links, hidden fields)."""
    body = re.sub(r"<(script|style|title)\b.*?</\1>", " ", html, flags=re.S)
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


def form_of(card: str) -> tuple[str, dict[str, str]]:
    """The resolve form of a card: its action and its hidden fields."""
    action = html_lib.unescape(re.search(r'<form method="post" action="([^"]+)"', card).group(1))  # type: ignore[union-attr]
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', card))
    return action, {name: html_lib.unescape(value) for name, value in hidden.items()}


async def test_a_filtered_view_is_an_address_and_resolving_comes_back_to_it_at_the_next_item(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    day = await a_working_day(Ledger.of(couch, settings))
    old, recent = str(day["old"]["_id"]), str(day["recent"]["_id"])
    await as_user(client, couch, settings, "budi.santoso")

    page = client.get("/office/exceptions?courier=gojek.andi")
    assert page.status_code == 200
    assert [re.search(r'data-subject="([^"]+)"', c).group(1) for c in cards(page.text)] == [recent, old]  # type: ignore[union-attr]
    words = visible(page.text)
    assert "Semua jenis 2" in words and "Nomor segel tidak cocok 2" in words  # the counts, under the courier
    assert "Segel rusak atau hilang" not in words  # Sari's kind has nothing of Andi's: not offered
    kind_link = re.search(r'<a href="([^"]+)" data-kind="seal_mismatch"', page.text).group(1)  # type: ignore[union-attr]
    assert "courier=gojek.andi" in kind_link and "kind=seal_mismatch" in kind_link

    page = client.get(html_lib.unescape(kind_link))
    card = card_of(page.text, "seal_mismatch", old)
    text = visible(card)
    assert "Siti Aminah" in text and mask_nik(NIKS[0]) in text and "e-KTP" in text and "BP00000101" in text
    assert "Kurir: Andi (Gojek)" in text  # named as the office knows him (his user record)
    assert f'href="/office/documents/{day["siti"]["_id"]}"' in card and "Riwayat dokumen" in text
    assert NIKS[0] not in page.text
    assert not re.search(r"\b(handoff|document|complaint):", visible(page.text))  # ids only inside links

    action, fields = form_of(card_of(page.text, "seal_mismatch", recent))
    assert fields["next"] == queue.anchor_of(f"seal_mismatch:{old}")
    response = client.post(
        action,
        data={**fields, "action": "checked_ok", "note": "Amplop dibuka bersama kurir, isi benar"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    location = response.headers["location"]
    path, _, fragment = location.partition("#")
    query = parse_qs(urlsplit(path).query)
    assert fragment == "flash" and urlsplit(path).path == "/office/exceptions"
    assert query["courier"] == ["gojek.andi"] and query["kind"] == ["seal_mismatch"] and query["ok"] == ["1"]
    assert query["at"] == [fields["next"]]

    back = client.get(location)
    # The message stands just above the item that followed, where the page opens (#flash).
    assert re.search(
        rf'<li class="notice ok" role="status" id="flash"[^>]*>Tindakan dicatat.</li>\s*'
        rf'<li class="card exc exc-seal_mismatch" id="{fields["next"]}"',
        back.text,
    )
    assert [c for c in cards(back.text) if recent in c] == []
    assert "Nomor segel tidak cocok 1" in visible(back.text)


async def test_the_queue_page_shows_its_pages_and_a_page_keeps_its_place_after_a_resolution(
    client: TestClient, couch: CouchClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue, "PER_PAGE", 2)
    await people(couch, settings)
    day = await a_working_day(Ledger.of(couch, settings))
    old, recent = str(day["old"]["_id"]), str(day["recent"]["_id"])
    await as_user(client, couch, settings, "budi.santoso")

    first = client.get("/office/exceptions")
    assert len(cards(first.text)) == 2 and "1–2 dari 4 terbuka" in visible(first.text)
    assert 'aria-current="page">1</a>' in first.text and "page=1" in first.text
    second = client.get("/office/exceptions?page=1")  # newest first: the two older mismatches
    assert [c for c in cards(second.text) if recent in c or old in c] == cards(second.text)
    assert "3–4 dari 4 terbuka" in visible(second.text)

    # The last item of the last page: after it is closed, the one above it is the next.
    action, fields = form_of(card_of(second.text, "seal_mismatch", old))
    assert "page=1" in action and fields["next"] == queue.anchor_of(f"seal_mismatch:{recent}")
    response = client.post(
        action, data={**fields, "action": "checked_ok", "note": "Isi benar"}, follow_redirects=False
    )
    assert response.status_code == 303 and "page=1" in response.headers["location"]
    back = client.get(response.headers["location"])
    assert "3–3 dari 3 terbuka" in visible(back.text)
    anchor = fields["next"]
    assert re.search(
        rf'id="flash"[^>]*>Tindakan dicatat.</li>\s*<li class="card exc exc-seal_mismatch" id="{anchor}"',
        back.text,
    )


async def test_a_reported_loss_on_the_page_offers_liability_and_reprint_and_a_refusal_keeps_the_note(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    ledger = Ledger.of(couch, settings)
    andi = courier_party("gojek.andi", "Andi Saputra")
    doc, sealed = await assigned_and_sealed(ledger, "BP00000601", "gojek.andi", "gojek", name="Siti Aminah")
    pickup = signed(sealed, "picked_up", to=andi)
    await put_handoff_with_photo(ledger, pickup, seal_image(81))
    lost = signed(
        pickup, "lost", to=andi, seal_number_scanned=None, seal_match=False, seal_condition="missing"
    )
    await ledger.records.put(lost)
    await sealed_document(ledger, "BP00000699", nik=NIKS[1])
    await as_user(client, couch, settings, "budi.santoso")

    page = client.get("/office/exceptions?kind=lost")
    card = card_of(page.text, "lost", lost["_id"])
    text = visible(card)
    assert "Dokumen hilang" in text and "Dilaporkan hilang oleh Andi Saputra." in text
    assert "Amplop diperiksa, isi benar" not in text and "Nomor segel tidak cocok" not in visible(page.text)
    assert "Catat tanggung jawab kurir dan cetak ulang dengan segel baru" in text
    assert 'name="seal_number"' in card and 'value="lost_liability"' in card

    action, fields = form_of(card)
    note = "Kurir mengganti biaya cetak, laporan polisi LP/77"
    refused = client.post(
        action, data={**fields, "action": "lost_reprinted", "note": note, "seal_number": "BP00000699"}
    )
    assert refused.status_code == 400
    card = card_of(refused.text, "lost", lost["_id"])
    assert 'role="alert"' in card and "Segel BP00000699 sudah pernah dipakai" in card and note in card
    assert (await load_timeline(ledger, doc)).last_handoff["_id"] == lost["_id"]  # type: ignore[index]

    done = client.post(
        action,
        data={**fields, "action": "lost_reprinted", "note": note, "seal_number": "BP00000602"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and "ok=cetak" in done.headers["location"]
    back = client.get(done.headers["location"])
    assert "dicetak ulang dengan segel baru" in visible(back.text) and cards(back.text) == []
    timeline = client.get(f"/office/documents/{doc['_id']}").text
    assert "Tanggung jawab kurir Andi (Gojek) atas segel BP00000601" in timeline and note in timeline
    assert (await load_timeline(ledger, doc)).current_seal == "BP00000602"


async def test_another_offices_staff_neither_see_nor_resolve_the_queue(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    ledger = Ledger.of(couch, settings)
    day = await a_working_day(ledger)
    await as_user(client, couch, settings, "budi.santoso")
    action, fields = form_of(
        card_of(client.get("/office/exceptions").text, "seal_mismatch", day["old"]["_id"])
    )

    await as_user(client, couch, settings, "rina.bandung")
    for path in (
        "/office/exceptions",
        "/office/exceptions?courier=gojek.andi",
        "/office/exceptions?kind=complaint",
    ):
        page = client.get(path)
        assert page.status_code == 200 and cards(page.text) == [], path
        assert "Siti Aminah" not in page.text and "BP00000101" not in page.text
    assert client.get("/office/exceptions?office=6471").status_code == 403
    token = csrf_of(client.get("/office/intake").text)
    data = {**fields, "csrf": token, "action": "checked_ok", "note": "bukan urusan kami"}
    assert client.post(action, data=data).status_code == 403  # the form names office 6471
    refused = client.post("/office/exceptions/resolve", data=data)
    assert refused.status_code == 400 and "tidak ditemukan di kantor Anda" in refused.text
    assert "Siti Aminah" not in refused.text
    assert await ledger.office.get_or_none(f"resolution:seal_mismatch:{day['old']['_id']}") is None


async def test_a_filter_the_queue_does_not_know_is_refused_with_a_reason(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    await as_user(client, couch, settings, "budi.santoso")
    for query, reason in (
        ("kind=delete_all", "Jenis pengecualian tidak dikenal"),
        ("age=99", "Umur pengecualian tidak dikenal"),
        ("partner=ojek", "Mitra tidak dikenal"),
        ("courier=%3Cscript%3E", "Kurir tidak dikenal"),
    ):
        response = client.get(f"/office/exceptions?{query}")
        assert response.status_code == 400 and reason in response.text, query
    assert client.get("/office/exceptions?page=abc").status_code == 200  # a page that is no number: the first


async def test_the_queue_answers_while_the_older_design_documents_still_serve(
    couch: CouchClient, settings: Settings
) -> None:
    """After an upgrade bootstrap builds the new views staged, and the older design documents serve until
    then: no `office/resolved` view, view values of the older shape. The queue still lists what is open."""
    ledger = await ready_ledger(couch, settings)
    day = await a_working_day(ledger)
    await resolve(ledger, staff(), "seal_mismatch", str(day["old"]["_id"]), "checked_ok", "Isi benar")
    older_office = {**OFFICE_DESIGN, "views": dict(OFFICE_DESIGN["views"])}
    del older_office["views"]["resolved"]
    older_office["views"]["findings"] = {
        "map": "function (doc) { if (doc.type === 'finding') "
        "{ emit([doc.office, doc.kind, doc.created_at, doc._id], doc.subject); } }",
        "reduce": "_count",
    }
    older_reports = {**REPORTS_DESIGN, "views": dict(REPORTS_DESIGN["views"])}
    older_reports["views"]["exceptions"] = {
        "map": "function (doc) { if (doc.type === 'handoff' && doc.seal_match === false) "
        "{ emit([doc.office, 'seal_mismatch', doc.device_time, doc._id], null); } }",
        "reduce": "_count",
    }
    for db, design in ((ledger.office, older_office), (ledger.records, older_reports)):
        current = await db.get(str(design["_id"]))
        await db.put({**design, "_rev": current["_rev"]})

    page = await queue.load_page(ledger, "6471", queue.QueueFilter(courier="gojek.andi"), PEOPLE)
    assert subjects(page) == [day["recent"]["_id"]]  # the resolved one stays closed
    [item] = page.items
    assert item.resident_name == "Eko Wijaya" and item.courier_name == "Andi Saputra"


async def test_only_the_days_with_something_open_are_read_and_a_day_half_closed_still_shows_its_open_item(
    couch: CouchClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = await ready_ledger(couch, settings)
    by_day: dict[str, list[str]] = {}
    for number, day in enumerate(["2026-10-01", "2026-10-01", "2026-10-02", "2026-10-02", "2026-10-03"]):
        _, sealed = await sealed_document(ledger, f"BP0000090{number}")
        pickup = signed(
            sealed, "picked_up", seal_condition="damaged", device_time=f"{day}T09:0{number}:00+08:00"
        )
        await put_handoff_with_photo(ledger, pickup, seal_image(100 + number))
        by_day.setdefault(day, []).append(str(pickup["_id"]))
    for subject in [*by_day["2026-10-01"], by_day["2026-10-02"][0]]:
        await resolve(ledger, staff(), "seal_damaged", subject, "checked_ok", "Isi benar")
    assert (await ledger.office.get(f"resolution:seal_damaged:{by_day['2026-10-01'][0]}"))["raised_at"] == (
        "2026-10-01T09:00:00+08:00"
    )
    read: list[str] = []
    original = Database.view_rows

    async def counted(self: Database, ddoc: str, view: str, **params: str | int | bool) -> list[JSONDict]:
        rows = await original(self, ddoc, view, **params)
        if view == "exceptions" and not params.get("reduce"):
            read.extend(str(row["id"]) for row in rows)
        return rows

    monkeypatch.setattr(Database, "view_rows", counted)
    page = await queue.load_page(ledger, "6471", queue.QueueFilter(kind="seal_damaged"), PEOPLE)

    assert subjects(page) == [by_day["2026-10-03"][0], by_day["2026-10-02"][1]]
    assert set(read) == set(by_day["2026-10-02"] + by_day["2026-10-03"])  # the closed day was not read


async def test_a_closed_photo_that_arrived_later_does_not_hide_another_of_its_day(
    couch: CouchClient, settings: Settings
) -> None:
    """A photo record without its image is an item until the image arrives; the resolution of one whose
    image came later must not count for another one of the same day still waiting."""
    ledger = await ready_ledger(couch, settings)
    _, sealed = await sealed_document(ledger, "BP00000951")
    pickup = signed(sealed, "picked_up")
    first, second = (photo_for(pickup, seal_image(n)) for n in (111, 112))
    pickup["photos"] = [first["_id"], second["_id"]]
    await ledger.records.put(pickup)
    attachments = {}
    for photo in (first, second):
        attachments[photo["_id"]] = photo.pop("_attachments")
        photo["_rev"] = await ledger.records.put(photo)
    assert set((await open_kinds(ledger))["photo_missing"]) == {first["_id"], second["_id"]}
    await resolve(
        ledger, staff(), "photo_missing", str(first["_id"]), "asked_courier", "Kurir diminta sinkron"
    )
    await ledger.records.put({**first, "_attachments": attachments[first["_id"]]})  # it arrives after all

    assert (await open_kinds(ledger))["photo_missing"] == [second["_id"]]
