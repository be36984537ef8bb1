"""Assigning documents over HTTP with real sessions: only a real, active courier of the office can be
chosen, the partner comes from the courier's own record, and a refused choice changes nothing."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from server.identity.store import IdentityStore
from server.office.ledger import Ledger
from server.settings import Settings
from store.couch import CouchClient
from tests.integration.test_office_pages import as_user, csrf_of, register
from tests.support.identity import make_office, make_user

pytestmark = pytest.mark.anyio


@pytest.fixture
async def offices(couch: CouchClient, settings: Settings) -> None:
    await make_office(couch, settings, "6471", "Disdukcapil Kota Balikpapan")
    await make_office(couch, settings, "3273", "Disdukcapil Kota Bandung")
    await make_user(couch, settings, "budi.santoso", "staff", office="6471", name="Budi Santoso")
    await make_user(couch, settings, "root.admin", "admin", office=None, name="Admin")
    await make_user(couch, settings, "gojek.andi", "courier", office="6471", partner="gojek", name="Andi")
    await make_user(couch, settings, "grab.sari", "courier", office="6471", partner="grab", name="Sari")
    await make_user(couch, settings, "gojek.lama", "courier", office="6471", partner="gojek", name="Lama")
    await IdentityStore(couch, settings).revoke_user("gojek.lama")
    await make_user(couch, settings, "van.nur", "van_operator", office="6471", name="Nur")
    await make_user(couch, settings, "grab.bdg", "courier", office="3273", partner="grab", name="Bandung")


def _choices(page: str) -> list[str]:
    select = re.search(r'<select name="courier" id="assign-courier"[^>]*>(.*?)</select>', page, re.S)
    assert select is not None, page
    return re.findall(r'<option value="([^"]+)">', select.group(1))


def _assign(client: TestClient, document_id: str, **fields: str) -> tuple[int, str]:
    token = csrf_of(client.get("/office/intake").text)
    response = client.post(
        "/office/intake/assign",
        data={"csrf": token, "document_id": document_id, **fields},
        follow_redirects=False,
    )
    return response.status_code, response.text


async def _assignment(couch: CouchClient, settings: Settings, document_id: str) -> object:
    return (await Ledger.of(couch, settings).records.get(document_id)).get("assignment")


async def test_the_list_offers_active_couriers_of_the_own_office_only(
    client: TestClient, couch: CouchClient, settings: Settings, offices: None
) -> None:
    await as_user(client, couch, settings, "budi.santoso")
    page = client.get("/office/intake").text
    choices = _choices(page)
    assert choices[:2] == ["gojek.andi", "grab.sari"]  # couriers by partner, then the office's own staff
    assert "budi.santoso" in choices  # partner "office": staff of this office deliver themselves
    for absent in ("gojek.lama", "grab.bdg", "van.nur", "root.admin"):
        assert absent not in choices, absent
    assert "Andi (gojek.andi) · Gojek" in page and "Sari (grab.sari) · Grab" in page  # partners by name


async def test_refused_choices_change_nothing(
    client: TestClient, couch: CouchClient, settings: Settings, offices: None
) -> None:
    await as_user(client, couch, settings, "budi.santoso")
    document_id = register(client, name="Siti Aminah")
    for courier, words in (
        ("gojek.andy", "tidak terdaftar di kantor 6471"),  # the typo of the tester's report
        ("gojek.lama", "sudah dinonaktifkan"),
        ("grab.bdg", "tidak terdaftar di kantor 6471"),  # another office's courier, not revealed as such
        ("van.nur", "bukan kurir"),
        ("", "Pilih kurir dari daftar"),
    ):
        status, text = _assign(client, document_id, courier=courier, partner="gojek")
        assert status == 400, courier
        assert words in text and "Tersimpan" not in text, courier
        assert await _assignment(couch, settings, document_id) is None, courier


async def test_the_partner_comes_from_the_courier_record(
    client: TestClient, couch: CouchClient, settings: Settings, offices: None
) -> None:
    await as_user(client, couch, settings, "budi.santoso")
    document_id = register(client, name="Siti Aminah")
    status, _ = _assign(client, document_id, courier="gojek.andi", partner="grab", batch="B1")
    assert status == 303
    assignment = await _assignment(couch, settings, document_id)
    assert isinstance(assignment, dict)
    stored = (assignment["courier"], assignment["partner"], assignment["batch"])
    assert stored == ("gojek.andi", "gojek", "B1")  # the form said grab; the courier works for gojek

    status, _ = _assign(client, document_id, courier="budi.santoso")
    assert status == 303
    assignment = await _assignment(couch, settings, document_id)
    assert isinstance(assignment, dict)
    assert (assignment["courier"], assignment["partner"]) == ("budi.santoso", "office")


async def test_an_admin_assigns_within_the_office_they_chose(
    client: TestClient, couch: CouchClient, settings: Settings, offices: None
) -> None:
    await as_user(client, couch, settings, "budi.santoso")
    document_id = register(client, name="Siti Aminah")
    await as_user(client, couch, settings, "root.admin")
    page = client.get("/office/intake?office=3273").text
    assert _choices(page) == ["grab.bdg"]
    token = csrf_of(page)
    response = client.post(  # a Bandung courier for a Balikpapan document: refused
        "/office/intake/assign?office=3273",
        data={"csrf": token, "document_id": document_id, "courier": "grab.bdg"},
        follow_redirects=False,
    )
    assert response.status_code == 400 and "tidak ditemukan" in response.text
    assert await _assignment(couch, settings, document_id) is None
