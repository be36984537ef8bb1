"""The residents' page: a link opens one document only, shows no NIK, takes complaints, is rate limited."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from server.office import intake
from server.office.config import OfficeConfig
from server.office.exceptions import list_queue, resolve
from server.office.ledger import Ledger
from server.residents.links import issue_link, token_hash
from server.settings import Settings
from store.couch import CouchClient
from tests.support.office import NIKS, next_handoff, put_document, ready_ledger, seal_image, staff

pytestmark = pytest.mark.anyio


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match
    return match.group(1)


async def two_residents(couch: CouchClient, settings: Settings) -> tuple[Ledger, list[tuple[dict, str]]]:
    ledger = await ready_ledger(couch, settings)
    out = []
    for name, nik in (("Siti Aminah", NIKS[0]), ("Yusuf Hidayat", NIKS[1])):
        doc = await put_document(ledger, name=name, nik=nik)
        out.append((doc, await issue_link(ledger, doc)))
    return ledger, out


async def test_a_link_shows_only_its_own_document_and_never_a_nik(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    ledger, [(siti, siti_link), (yusuf, _)] = await two_residents(couch, settings)
    await intake.bind_seal(ledger, staff(), str(siti["_id"]), "BP00000777")

    page = client.get(f"/r/{siti_link}")

    assert page.status_code == 200
    assert "Siti Aminah" in page.text and "Yusuf Hidayat" not in page.text
    assert siti["receipt_code"] in page.text and yusuf["receipt_code"] not in page.text
    assert NIKS[0] not in page.text and NIKS[0][:6] + "*" not in page.text
    assert "amplop bersegel" in page.text
    assert page.headers["cache-control"] == "no-store"
    stored = await ledger.office.get(f"resident_link:{token_hash(siti_link)}")
    assert siti_link not in str(stored)  # only the hash is stored


async def test_unknown_or_malformed_links_are_not_found(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await two_residents(couch, settings)
    assert client.get("/r/" + "x" * 32).status_code == 404
    assert client.get("/r/short").status_code == 404


async def test_complaint_with_photo_lands_in_the_exceptions_queue(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    ledger, [(siti, link), _] = await two_residents(couch, settings)
    token = csrf_of(client.get(f"/r/{link}").text)
    refused = client.post(f"/r/{link}/complaint", data={"kind": "seal_broken", "description": "Segel sobek"})
    assert refused.status_code == 403
    short = client.post(
        f"/r/{link}/complaint", data={"csrf": token, "kind": "seal_broken", "description": "x"}
    )
    assert short.status_code == 400 and "minimal 5 huruf" in short.text

    response = client.post(
        f"/r/{link}/complaint",
        data={"csrf": token, "kind": "seal_broken", "description": "Segel sobek waktu diterima"},
        files={"photo": ("segel.jpg", seal_image(3), "image/jpeg")},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert "Pengaduan Anda sudah kami terima" in client.get(response.headers["location"]).text
    [item] = [i for i in await list_queue(ledger, "6471") if i.kind == "complaint"]
    complaint = await ledger.records.get(item.subject)
    assert complaint["document_id"] == siti["_id"] and complaint["author"] == "resident"
    assert complaint["photo_attachment"] == "photo.jpg" and "photo.jpg" in complaint["_attachments"]
    assert "Segel rusak atau terbuka · <strong>sedang ditangani" in client.get(f"/r/{link}").text
    await resolve(ledger, staff(), "complaint", item.subject, "answered", "Ditelepon, segel diganti")
    page = client.get(f"/r/{link}").text
    assert "sudah ditanggapi petugas" in page and "Ditelepon" not in page  # staff notes stay in the office


async def test_resident_chooses_delivery_and_confirms_receipt(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    ledger, [(siti, link), _] = await two_residents(couch, settings)
    token = csrf_of(client.get(f"/r/{link}").text)
    client.post(f"/r/{link}/delivery", data={"csrf": token, "delivery": "self_pickup"})
    assert (await ledger.records.get(str(siti["_id"])))["delivery"] == "self_pickup"
    assert client.post(f"/r/{link}/confirm", data={"csrf": token}).status_code == 400  # not delivered yet

    sealed = await intake.bind_seal(ledger, staff(), str(siti["_id"]), "BP00000778")
    pickup = next_handoff(sealed, "picked_up")
    await ledger.records.put(pickup)
    await ledger.records.put(next_handoff(pickup, "delivered"))  # a code that is not Siti's
    page = client.get(f"/r/{link}")
    # Recorded, not yet proven: the resident is asked, and their word makes it count.
    assert "Benar? Mohon konfirmasi" in page.text and siti["receipt_code"] not in page.text
    response = client.post(f"/r/{link}/confirm", data={"csrf": csrf_of(page.text)})
    assert response.status_code == 200 and "penerimaan Anda sudah dicatat" in response.text
    assert await ledger.office.get_or_none(f"resident_confirmation:{siti['_id']}") is not None


async def test_the_page_is_rate_limited_per_link(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    _, [(_, link), (_, other)] = await two_residents(couch, settings)
    client.app.state.office_config = OfficeConfig(resident_rate_per_hour=3)  # type: ignore[attr-defined]
    assert [client.get(f"/r/{link}").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert client.get(f"/r/{other}").status_code == 200  # another link has its own budget
