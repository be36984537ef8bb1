"""Each exception kind is raised by the records that cause it and cleared by its action (real CouchDB)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from records.types import JSONDict
from server.office import intake
from server.office.checks import haversine_m, run_checks
from server.office.config import OfficeConfig
from server.office.exceptions import ResolutionError, list_queue, resolve
from server.office.ledger import Ledger, new_id, now_iso
from server.settings import Settings
from store.couch import CouchClient
from tests.support.office import (
    NIKS,
    next_handoff,
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
    await ledger.records.put(
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
    from server.office import exceptions

    monkeypatch.setattr(exceptions, "PAGE", 3)
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

    queue = await exceptions.open_queue(ledger, "6471")
    assert [item.subject for item in queue.items if item.kind == "unsigned"] == [oldest["_id"]]
    assert "unsigned" not in queue.more

    # Fewer shown than are open: the page says so.
    for pickup in newer[:2]:
        await ledger.office.delete(
            f"resolution:unsigned:{pickup['_id']}",
            (await ledger.office.get(f"resolution:unsigned:{pickup['_id']}"))["_rev"],
        )
    limited = await exceptions.open_queue(ledger, "6471", limit=2)
    assert len([item for item in limited.items if item.kind == "unsigned"]) == 2
    assert "unsigned" in limited.more


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
