"""A photo whose header claims 30000x30000 pixels, or bytes that are not the image they say: refused at the
gateway, and set aside by the office checks when an older version stored one (real CouchDB)."""

from __future__ import annotations

import hashlib
import io
import struct

import pytest
from PIL import Image
from starlette.testclient import TestClient

from records.types import JSONDict
from server.office import intake
from server.office.checks import run_checks
from server.office.config import OfficeConfig
from server.office.exceptions import list_queue
from server.settings import Settings
from store.couch import CouchClient
from tests.support.identity import issue_device_token, make_office, make_user, open_session, sign_in
from tests.support.office import next_handoff, put_document, put_handoff_with_photo, ready_ledger, seal_image
from tests.support.office import staff as staff_of
from tests.support.pouch_client import document_record, handoff_record, photo_record

pytestmark = pytest.mark.anyio
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def poison_jpeg(width: int = 30000, height: int = 30000) -> bytes:
    """A real small JPEG whose frame header (SOF0) is rewritten to claim `width`x`height` pixels."""
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 10, 10)).save(out, format="JPEG", quality=50)
    data = bytearray(out.getvalue())
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def test_the_poison_photo_is_small_and_claims_900_megapixels() -> None:
    data = poison_jpeg()
    assert len(data) < 1000
    with pytest.raises(Image.DecompressionBombError):  # what the office checks used to do, and fail on
        Image.open(io.BytesIO(data))


def _push(client: TestClient, token: str, docs: list[JSONDict]) -> list[JSONDict]:
    for number, doc in enumerate(docs, start=1):
        doc["_rev"] = f"1-{number:032x}"
    answer = client.post(
        "/sync/records/_bulk_docs",
        json={"docs": docs, "new_edits": False},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 201, answer.text
    result: list[JSONDict] = answer.json()
    return result


async def test_the_gateway_refuses_a_decompression_bomb_and_html_declared_as_jpeg(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await make_user(couch, settings, "kurir.a", "courier")
    token = await issue_device_token(couch, settings, "kurir.a")
    db = couch.db(settings.records_db)
    document = document_record("kurir.a")
    await db.bulk_docs([document])
    handoff = handoff_record(document["_id"], "kurir.a", seq=1)
    bomb = photo_record(handoff["_id"], document["_id"], "kurir.a", poison_jpeg())
    html = photo_record(handoff["_id"], document["_id"], "kurir.a", HTML)

    answers = {entry["id"]: entry for entry in _push(client, token, [handoff, bomb, html])}

    assert answers[bomb["_id"]]["error"] == "forbidden"
    assert "30000x30000" in answers[bomb["_id"]]["reason"]
    assert "terlalu besar" in answers[bomb["_id"]]["reason"]
    assert answers[html["_id"]]["error"] == "forbidden" and "bukan JPEG" in answers[html["_id"]]["reason"]
    assert await db.get_or_none(bomb["_id"]) is None and await db.get_or_none(html["_id"]) is None
    refusals = await db.all_docs(startkey='"refusal:"', endkey='"refusal:\ufff0"', include_docs=True)
    assert sorted(row["doc"]["code"] for row in refusals["rows"]) == ["image_too_large", "image_type"]
    assert await db.get_or_none(handoff["_id"]) is not None  # the rest of the batch went through


async def test_the_image_put_refuses_html_bytes_for_a_waiting_jpeg_photo(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await make_user(couch, settings, "kurir.a", "courier")
    token = await issue_device_token(couch, settings, "kurir.a")
    db = couch.db(settings.records_db)
    document = document_record("kurir.a")
    await db.bulk_docs([document])
    handoff = handoff_record(document["_id"], "kurir.a", seq=1)
    waiting = photo_record(handoff["_id"], document["_id"], "kurir.a", None)
    waiting.update(sha256=hashlib.sha256(HTML).hexdigest(), size=len(HTML))
    assert all("error" not in entry for entry in _push(client, token, [handoff, waiting]))

    put = client.put(
        f"/sync/records/{waiting['_id']}/seal.jpg",
        params={"rev": waiting["_rev"]},
        content=HTML,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"},
    )

    assert put.status_code == 403 and "bukan JPEG" in put.json()["reason"]
    assert not (await db.get(waiting["_id"])).get("_attachments")
    served = client.get(
        f"/sync/records/{waiting['_id']}/seal.jpg", headers={"Authorization": f"Bearer {token}"}
    )
    assert HTML not in served.content


async def test_a_stored_bomb_is_set_aside_and_the_checks_go_on(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    """As if an older version had accepted it: the checks turn it into an exception and check the next
    record, and the exceptions page answers."""
    ledger = await ready_ledger(couch, settings)
    await make_office(couch, settings, "6471", "Disdukcapil Kota Balikpapan")
    await make_user(couch, settings, "budi.santoso", "staff", office="6471", name="Budi Santoso")
    document = await put_document(ledger)
    sealed = await intake.bind_seal(ledger, staff_of(), str(document["_id"]), "BP00000091")
    pickup = next_handoff(sealed, "picked_up")
    bomb = await put_handoff_with_photo(ledger, pickup, poison_jpeg())
    failed = next_handoff(pickup, "failed_attempt")
    altered = await put_handoff_with_photo(ledger, failed, seal_image(11), sha256="0" * 64)

    run = await run_checks(ledger, OfficeConfig())
    assert run.checked >= 5  # document, seal, sealed, pickup, bomb, failed attempt, its photo
    again = await run_checks(ledger, OfficeConfig())  # the checkpoint moved past the bomb
    assert again.checked == 0

    kinds = {(item.kind, item.subject) for item in await list_queue(ledger, "6471")}
    assert ("photo_unreadable", bomb["_id"]) in kinds
    assert ("photo_digest", altered["_id"]) in kinds  # the record after the bomb was still checked
    sign_in(client, settings, await open_session(couch, settings, "budi.santoso"))
    page = client.get("/office/exceptions")
    assert page.status_code == 200
    assert "Foto tidak dapat dibuka" in page.text and "30000x30000" in page.text


async def test_a_record_whose_check_fails_becomes_an_exception(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    document = await put_document(ledger)
    sealed = await intake.bind_seal(ledger, staff_of(), str(document["_id"]), "BP00000092")
    pickup = next_handoff(sealed, "picked_up")
    photo = await put_handoff_with_photo(ledger, pickup, seal_image(12))
    broken = await ledger.records.get(str(photo["_id"]))
    del broken["document_id"]  # a field every check expects, removed by a direct database write
    await ledger.records.put(broken)
    later = next_handoff(pickup, "failed_attempt", prev_hash="b" * 64)
    await put_handoff_with_photo(ledger, later, seal_image(13))

    await run_checks(ledger, OfficeConfig())

    kinds = {(item.kind, item.subject) for item in await list_queue(ledger, "6471")}
    assert ("check_failed", photo["_id"]) in kinds
    assert ("chain_broken", later["_id"]) in kinds
