"""Where people land: staff stay at the office pages (never the field app), signed-out page visits are sent
to the login page and brought back, and API routes keep answering 401 JSON."""

from __future__ import annotations

import html
import re

import pytest
from starlette.testclient import TestClient

from server.settings import Settings
from store.couch import CouchClient
from tests.support.identity import (
    enroll_with,
    enrollment_token,
    login_with,
    make_office,
    make_user,
    open_session,
    sign_in,
)
from tests.support.soft_authenticator import SoftAuthenticator

pytestmark = pytest.mark.anyio


@pytest.fixture
async def people(couch: CouchClient, settings: Settings) -> None:
    await make_office(couch, settings, "6471", "Disdukcapil Kota Balikpapan")
    await make_user(couch, settings, "budi.santoso", "staff", office="6471", name="Budi Santoso")
    await make_user(couch, settings, "root.admin", "admin", office=None, name="Admin")
    await make_user(couch, settings, "gojek.andi", "courier", office="6471", partner="gojek", name="Andi")
    await make_user(couch, settings, "van.nur", "van_operator", office="6471", name="Nur")


def _next_of(page: str) -> str:
    found = re.search(r'id="login" data-next="([^"]*)"', page)
    assert found is not None, page
    return html.unescape(found.group(1))


async def test_staff_and_admins_are_sent_from_the_app_to_the_office(
    client: TestClient, couch: CouchClient, settings: Settings, people: None
) -> None:
    for user_id in ("budi.santoso", "root.admin"):
        client.cookies.clear()
        sign_in(client, settings, await open_session(couch, settings, user_id))
        for path in ("/app", "/"):
            response = client.get(path, follow_redirects=False)
            assert response.status_code == 303, (user_id, path)
            assert response.headers["location"] == "/office"
    for user_id in ("gojek.andi", "van.nur"):
        client.cookies.clear()
        sign_in(client, settings, await open_session(couch, settings, user_id))
        shell = client.get("/app", follow_redirects=False)
        assert shell.status_code == 200 and 'id="app"' in shell.text, user_id
    client.cookies.clear()
    signed_out = client.get("/app", follow_redirects=False)  # offline-first: opens without a session
    assert signed_out.status_code == 200 and 'id="app"' in signed_out.text


async def test_login_without_next_follows_the_role_landing(
    client: TestClient, couch: CouchClient, settings: Settings, people: None
) -> None:
    """The page used to carry next="/" (the app) by default, which overrode the staff landing."""
    assert _next_of(client.get("/auth/login").text) == ""
    staff_phone = SoftAuthenticator(origin=settings.origin)
    enroll_with(client, staff_phone, await enrollment_token(couch, settings, "budi.santoso"))
    client.cookies.clear()
    client.headers["Origin"] = settings.origin
    answer = login_with(client, staff_phone)
    assert answer.status_code == 200 and answer.json()["redirect"] == "/office"
    signed_in = client.get("/auth/login").text
    assert re.search(r'id="continue" href="/office"', signed_in), signed_in


async def test_signed_out_pages_send_to_login_and_back(
    client: TestClient, couch: CouchClient, settings: Settings, people: None
) -> None:
    for path, expected in (
        ("/office", "/auth/login?next=/office"),
        ("/office/documents?q=siti&page=2", "/auth/login?next=/office/documents%3Fq%3Dsiti%26page%3D2"),
        ("/office/intake?office=6471", "/auth/login?next=/office/intake%3Foffice%3D6471"),
        ("/auth/office/users?office=6471", "/auth/login?next=/auth/office/users%3Foffice%3D6471"),
    ):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == expected
        login = client.get(expected)
        assert login.status_code == 200
        assert _next_of(login.text) == path  # the login page takes the browser back there
        assert "Masuk dulu untuk membuka halaman itu" in login.text

    posted = client.post(
        "/office/intake/assign",
        data={"courier": "gojek.andi"},
        headers={"Referer": "http://localhost:8000/office/intake?office=6471"},
        follow_redirects=False,
    )
    assert posted.status_code == 303  # a form sent after the session ended: back to the form's page
    assert posted.headers["location"] == "/auth/login?next=/office/intake%3Foffice%3D6471"
    elsewhere = client.post(
        "/office/intake/assign",
        data={"courier": "gojek.andi"},
        headers={"Referer": "https://evil.example/office"},
        follow_redirects=False,
    )
    assert elsewhere.headers["location"] == "/auth/login"


async def test_next_is_same_site_only(client: TestClient, people: None) -> None:
    for bad in ("https://evil.example/", "//evil.example/office", "/\\evil.example", "javascript:alert(1)"):
        assert _next_of(client.get("/auth/login", params={"next": bad}).text) == "", bad
    assert _next_of(client.get("/auth/login", params={"next": "/office/visits"}).text) == "/office/visits"


async def test_api_routes_still_answer_401_json(client: TestClient, people: None) -> None:
    for path in ("/auth/me", "/sync/records/"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 401 and response.json()["error"] == "unauthorized", path
    fetched = client.get("/office", headers={"Accept": "application/json"}, follow_redirects=False)
    assert fetched.status_code == 401 and fetched.json()["error"] == "unauthorized"
