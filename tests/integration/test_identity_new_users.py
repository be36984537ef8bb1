"""Staff add a courier or a van crew member from the users page: checked field by field in Indonesian, nothing
saved on bad input, the new courier in the assignment list at once and enrolled with the link the page shows;
a courier, or staff of another office, cannot add anyone to this office."""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.testclient import TestClient

from server.identity.audit import events
from server.identity.store import IdentityStore
from server.settings import Settings
from store.couch import CouchClient
from tests.support.identity import enroll_with, login_with, make_office, make_user, open_session, sign_in
from tests.support.soft_authenticator import SoftAuthenticator

pytestmark = pytest.mark.anyio


@pytest.fixture
async def offices(couch: CouchClient, settings: Settings) -> None:
    await make_office(couch, settings, "6471", "Disdukcapil Kota Balikpapan")
    await make_office(couch, settings, "6472", "Disdukcapil Kota Samarinda")
    await make_user(couch, settings, "budi.santoso", "staff", office="6471", name="Budi Santoso")
    await make_user(couch, settings, "gojek.andi", "courier", office="6471", name="Andi Saputra")
    await make_user(couch, settings, "siti.smd", "staff", office="6472", name="Siti Samarinda")


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def _add(client: TestClient, office: str = "", **form: str) -> httpx.Response:
    token = _csrf(client.get(f"/auth/office/users{'?office=' + office if office else ''}").text)
    query = f"?office={office}" if office else ""
    return client.post(f"/auth/office/users/new{query}", data={"csrf_token": token, **form})


async def _user_ids(couch: CouchClient, settings: Settings, office: str) -> set[str]:
    return {str(u["user_id"]) for u in await IdentityStore(couch, settings).users_of_office(office)}


async def test_staff_add_a_courier_who_can_be_assigned_and_enrolls_with_the_link(
    client: TestClient, couch: CouchClient, settings: Settings, offices: None
) -> None:
    sign_in(client, settings, await open_session(couch, settings, "budi.santoso"))
    users = client.get("/auth/office/users")
    assert 'id="add-courier"' in users.text and 'id="add-van-operator"' in users.text
    # The partners by their names, never their identifiers; the office itself is no courier's partner.
    assert ">Pos Indonesia</option>" in users.text and 'value="office"' not in users.text

    added = _add(
        client, role="courier", name="Rudi  Hartono", partner="pos_indonesia", phone="0812-5478 1299"
    )
    assert added.status_code == 200
    html = added.text
    assert "Rudi Hartono ditambahkan (Kurir · Pos Indonesia), nama pengguna pos.rudi." in html
    assert "<svg" in html  # the QR code for the courier's phone
    user = await IdentityStore(couch, settings).get_user("pos.rudi")
    assert user is not None
    assert (user["role"], user["office"], user["partner"], user["phone"]) == (
        "courier",
        "6471",
        "pos_indonesia",
        "081254781299",
    )
    created = [e for e in await events(couch, settings) if e["event"] == "user_created"]
    assert [(e["user_id"], e["actor"], e["office"]) for e in created] == [
        ("pos.rudi", "budi.santoso", "6471")
    ]

    # In the assignment list at once, by name and partner.
    intake = client.get("/office/intake").text
    assert '<option value="pos.rudi">Rudi Hartono (pos.rudi) · Pos Indonesia</option>' in intake
    # The users page lists the courier with the phone the office reaches them on.
    assert "081254781299" in client.get("/auth/office/users").text

    # The link the page showed enrolls the courier's phone, who then signs in to the app.
    link = re.search(r'value="http://[^"]+/auth/enroll/([^"]+)"', html)
    assert link is not None
    client.cookies.clear()
    phone = SoftAuthenticator(origin=settings.origin)
    enrolled = enroll_with(client, phone, link.group(1))
    assert enrolled.status_code == 200 and enrolled.json()["redirect"] == "/app"
    client.cookies.clear()
    assert login_with(client, phone).json()["user_id"] == "pos.rudi"


async def test_a_van_crew_member_and_a_second_person_of_the_same_name(
    client: TestClient, couch: CouchClient, settings: Settings, offices: None
) -> None:
    sign_in(client, settings, await open_session(couch, settings, "budi.santoso"))
    first = _add(client, role="van_operator", name="Nur Aini", van="van-balikpapan-2", phone="+6281254780001")
    assert first.status_code == 200
    second = _add(
        client, role="van_operator", name="Nur Hidayah", van="van-balikpapan-2", phone="081254780002"
    )
    assert second.status_code == 200
    store = IdentityStore(couch, settings)
    nur, nur2 = await store.get_user("van.nur"), await store.get_user("van.nur2")
    assert nur is not None and nur2 is not None
    assert (nur["role"], nur["van"], nur["phone"], nur2["name"]) == (
        "van_operator",
        "van-balikpapan-2",
        "081254780001",
        "Nur Hidayah",
    )
    # The van typed once is offered next time.
    assert '<option value="van-balikpapan-2">' in client.get("/auth/office/users").text


async def test_bad_input_is_said_per_field_in_indonesian_and_nothing_is_saved(
    client: TestClient, couch: CouchClient, settings: Settings, offices: None
) -> None:
    sign_in(client, settings, await open_session(couch, settings, "budi.santoso"))
    before = await _user_ids(couch, settings, "6471")
    refused = _add(client, role="courier", name="R", partner="uber", phone="12345")
    assert refused.status_code == 400
    html = refused.text
    assert "Pengguna belum ditambahkan; perbaiki isian yang ditandai." in html
    assert "Tulis nama lengkap (2-100 huruf)." in html
    assert "Pilih mitra pengantaran kurir dari daftar." in html
    assert "Nomor HP Indonesia ditulis 08" in html
    assert 'value="12345"' in html  # what was typed stays in the form
    van = _add(client, role="van_operator", name="Agus Salim", van="Mobil 1", phone="081254780009")
    assert van.status_code == 400 and "van-balikpapan-1 (huruf kecil" in van.text
    # A phone already on an account of the office: the form was sent twice, or the person exists.
    assert _add(client, role="courier", name="Rudi", partner="grab", phone="081254780100").status_code == 200
    twice = _add(client, role="courier", name="Rudi", partner="grab", phone="0812 5478 0100")
    assert twice.status_code == 400 and "sudah dipakai Rudi di kantor ini" in twice.text
    staff_role = _add(client, role="staff", name="Orang Baru", phone="081254780200")
    assert staff_role.status_code == 400
    assert await _user_ids(couch, settings, "6471") == before | {"grab.rudi"}

    english = client.post(
        "/auth/office/users/new?lang=en",
        data={"csrf_token": _csrf(client.get("/auth/office/users").text), "role": "courier", "name": "R"},
    )
    assert english.status_code == 400 and "Write the full name (2-100 letters)." in english.text


async def test_a_courier_or_another_offices_staff_cannot_add_users_here(
    client: TestClient, couch: CouchClient, settings: Settings, offices: None
) -> None:
    before = await _user_ids(couch, settings, "6471")
    form = {"role": "courier", "name": "Penyusup", "partner": "gojek", "phone": "081254789999"}
    sign_in(client, settings, await open_session(couch, settings, "gojek.andi"))
    as_courier = client.post("/auth/office/users/new", data={"csrf_token": "x", **form})
    assert as_courier.status_code == 403

    client.cookies.clear()
    sign_in(client, settings, await open_session(couch, settings, "siti.smd"))
    token = _csrf(client.get("/auth/office/users").text)  # a valid token of her own session
    elsewhere = client.post("/auth/office/users/new?office=6471", data={"csrf_token": token, **form})
    assert elsewhere.status_code == 403 and "Penyusup" not in elsewhere.text
    forged = client.post("/auth/office/users/new", data={"csrf_token": "forged", **form})
    assert forged.status_code == 403
    assert await _user_ids(couch, settings, "6471") == before
    assert "gojek.penyusup" not in await _user_ids(couch, settings, "6472")
    assert not [e for e in await events(couch, settings) if e["event"] == "user_created"]

    client.cookies.clear()
    await make_user(couch, settings, "rina.admin", "admin", office=None)
    sign_in(client, settings, await open_session(couch, settings, "rina.admin"))
    by_admin = _add(client, office="6472", **form)
    assert by_admin.status_code == 200
    assert "gojek.penyusup" in await _user_ids(couch, settings, "6472")
    nowhere = client.post(
        "/auth/office/users/new?office=9999",
        data={"csrf_token": _csrf(client.get("/auth/office/users?office=6472").text), **form},
    )
    assert nowhere.status_code == 404 and "Kantor ini tidak terdaftar" in nowhere.text
