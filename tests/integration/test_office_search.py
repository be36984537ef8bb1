"""Finding a document at the desk by receipt code, NIK, phone, name or scanned seal, within one's own
office only; and paging through the newest documents."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from server.office import search
from server.settings import Settings
from store.couch import CouchClient
from tests.integration.test_office_pages import as_user, people, register, seal
from tests.support.office import NIKS

pytestmark = pytest.mark.anyio


def ids_on(html: str) -> set[str]:
    """The documents a page links to (their ids without the `document:` prefix)."""
    return {part.split('"')[0] for part in html.split('href="/office/documents/document:')[1:]}


def found(client: TestClient, query: str, **params: str) -> set[str]:
    response = client.get("/office/documents", params={"q": query, **params})
    assert response.status_code == 200, response.text
    return ids_on(response.text)


async def test_staff_find_a_document_by_anything_the_resident_or_envelope_gives(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    staff = await as_user(client, couch, settings, "budi.santoso")
    eko = register(staff, name="Eko Wijaya", nik=NIKS[1], phone="081299887766")
    sri = register(staff, name="Sri Wahyuni", nik=NIKS[0], phone="081211112222")
    seal(staff, eko, "BP00031337")
    document = await couch.db(settings.records_db).get(eko)
    ids = {eko.removeprefix("document:")}

    assert found(staff, "eko") == ids  # the start of the name, any case
    assert found(staff, "EKO WIJ") == ids
    assert found(staff, NIKS[1]) == ids
    assert found(staff, "081299887766") == ids
    assert found(staff, str(document["receipt_code"]).lower()) == ids
    assert found(staff, "bp00031337") == ids  # a scanner types the seal number
    assert found(staff, "Wahyu") == {sri.removeprefix("document:")}  # any word of the name, from its start
    assert found(staff, "ahyu") == set()  # not from inside a word
    assert found(staff, "sri") == {sri.removeprefix("document:")}
    page = staff.get("/office/documents", params={"q": "zzz"})
    assert "Tidak ada dokumen kantor ini yang cocok" in page.text
    # NIKs are shown masked in the list.
    assert NIKS[1] not in staff.get("/office/documents", params={"q": "eko"}).text


async def test_another_office_and_couriers_find_nothing(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    staff = await as_user(client, couch, settings, "budi.santoso")
    eko = register(staff, name="Eko Wijaya", nik=NIKS[1])
    code = (await couch.db(settings.records_db).get(eko))["receipt_code"]

    bandung = await as_user(client, couch, settings, "rina.bandung")
    for query in ("eko", NIKS[1], str(code), eko):
        assert found(bandung, query) == set(), query
    assert bandung.get("/office/documents", params={"q": "eko", "office": "6471"}).status_code == 403
    courier = await as_user(client, couch, settings, "gojek.andi")
    assert courier.get("/office/documents", params={"q": "eko"}).status_code == 403
    client.cookies.clear()
    signed_out = client.get("/office/documents", params={"q": "eko"}, follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/auth/login?next=/office/documents%3Fq%3Deko"


async def test_the_newest_documents_come_in_pages(
    client: TestClient, couch: CouchClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "PAGE", 2)
    await people(couch, settings)
    staff = await as_user(client, couch, settings, "budi.santoso")
    made = [register(staff, name=f"Penduduk {letter}") for letter in "ABCDE"]
    pages = [staff.get("/office/documents", params={"page": str(n)}) for n in range(3)]
    shown = [
        {part.split('"')[0] for part in p.text.split('href="/office/documents/document:')[1:]} for p in pages
    ]
    assert [len(s) for s in shown] == [2, 2, 1]
    assert set().union(*shown) == {doc.removeprefix("document:") for doc in made}
    assert "Lebih lama" in pages[0].text and "Lebih lama" not in pages[2].text


async def test_handover_reports_come_in_pages_and_only_the_offices_own(
    client: TestClient, couch: CouchClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.office import routes

    monkeypatch.setattr(routes, "HANDOVERS_PER_PAGE", 2)
    await people(couch, settings)
    office_db = couch.db(f"{settings.db_prefix}_office")
    for number, office in enumerate(["6471", "6471", "6471", "3273"]):
        await office_db.put(
            {
                "_id": f"handover:test{number}",
                "type": "handover",
                "office": office,
                "courier": "gojek.andi",
                "partner": "gojek",
                "documents": [],
                "created_at": f"2026-11-2{number}T10:00:00+08:00",
            }
        )
    staff = await as_user(client, couch, settings, "budi.santoso")
    pages = [staff.get("/office/handovers", params={"page": str(n)}).text for n in range(2)]
    shown = [set(re.findall(r'href="/office/handovers/(handover:test\d)"', page)) for page in pages]
    assert shown == [{"handover:test2", "handover:test1"}, {"handover:test0"}]
    assert "Lebih lama" in pages[0] and "Lebih lama" not in pages[1]
