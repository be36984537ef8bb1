"""Staff pages of identity: office A never sees or acts on office B, couriers never use staff pages."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from server.identity.audit import events
from server.settings import Settings
from store.couch import CouchClient
from tests.support.identity import (
    enroll_passkey,
    enroll_with,
    login_with,
    make_office,
    make_user,
    open_session,
    sign_in,
)
from tests.support.soft_authenticator import SoftAuthenticator

pytestmark = pytest.mark.anyio


@pytest.fixture
async def two_offices(couch: CouchClient, settings: Settings) -> None:
    await make_office(couch, settings, "6471", "Disdukcapil Kota Balikpapan")
    await make_office(couch, settings, "6472", "Disdukcapil Kota Samarinda")
    await make_user(couch, settings, "budi.santoso", "staff", office="6471", name="Budi Santoso")
    await make_user(couch, settings, "gojek.andi", "courier", office="6471", name="Andi Saputra")
    await make_user(couch, settings, "siti.smd", "staff", office="6472", name="Siti Samarinda")
    await make_user(
        couch, settings, "grab.rudi", "courier", office="6472", partner="grab", name="Rudi Samarinda"
    )


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def test_staff_sees_only_their_own_office(
    client: TestClient, couch: CouchClient, settings: Settings, two_offices: None
) -> None:
    sign_in(client, settings, await open_session(couch, settings, "budi.santoso"))
    page = client.get("/auth/office/users")
    assert page.status_code == 200
    assert "Andi Saputra" in page.text and "Rudi Samarinda" not in page.text
    other = client.get("/auth/office/users?office=6472")
    assert other.status_code == 403 and "kantor lain" in other.text and "Rudi" not in other.text


async def test_staff_cannot_issue_a_link_for_another_offices_courier(
    client: TestClient, couch: CouchClient, settings: Settings, two_offices: None
) -> None:
    sign_in(client, settings, await open_session(couch, settings, "budi.santoso"))
    token = _csrf(client.get("/auth/office/users").text)
    refused = client.post("/auth/office/users/grab.rudi/enroll-link", data={"csrf_token": token})
    # Another office's courier answers exactly like a user that does not exist.
    missing = client.post("/auth/office/users/grab.nobody/enroll-link", data={"csrf_token": token})
    assert refused.status_code == missing.status_code == 404 and "/auth/enroll/" not in refused.text
    assert refused.text.replace("grab.rudi", "") == missing.text.replace("grab.nobody", "")
    assert not [e for e in await events(couch, settings) if e["event"] == "enrollment_link_issued"]


async def test_courier_cannot_use_staff_pages(
    client: TestClient, couch: CouchClient, settings: Settings, two_offices: None
) -> None:
    sign_in(client, settings, await open_session(couch, settings, "gojek.andi"))
    assert client.get("/auth/office/users").status_code == 403
    response = client.post("/auth/office/users/gojek.andi/enroll-link", data={"csrf_token": "x"})
    assert response.status_code == 403


async def test_anonymous_staff_page_sends_to_login(client: TestClient, two_offices: None) -> None:
    response = client.get("/auth/office/users", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/auth/login")


async def test_form_without_csrf_token_is_refused(
    client: TestClient, couch: CouchClient, settings: Settings, two_offices: None
) -> None:
    sign_in(client, settings, await open_session(couch, settings, "budi.santoso"))
    response = client.post("/auth/office/users/gojek.andi/enroll-link", data={"csrf_token": "forged"})
    assert response.status_code == 403 and "/auth/enroll/" not in response.text


def _issue_link(client: TestClient, **form: str) -> tuple[str, str]:
    """As signed-in staff: press "Buat tautan" for Andi; returns (link token, page html)."""
    token = _csrf(client.get("/auth/office/users").text)
    issued = client.post("/auth/office/users/gojek.andi/enroll-link", data={"csrf_token": token, **form})
    assert issued.status_code == 200 and "<svg" in issued.text  # the QR code to scan with the new phone
    link = re.search(r'value="http://[^"]+/auth/enroll/([^"]+)"', issued.text)
    assert link is not None
    return link.group(1), issued.text


async def test_new_link_for_a_courier_keeps_old_passkey_unless_asked(
    client: TestClient, couch: CouchClient, settings: Settings, two_offices: None
) -> None:
    old_phone = SoftAuthenticator(origin=settings.origin)
    await enroll_passkey(client, couch, settings, "gojek.andi", old_phone)
    client.cookies.clear()
    sign_in(client, settings, await open_session(couch, settings, "budi.santoso"))
    link, _ = _issue_link(client)
    client.cookies.clear()
    new_phone = SoftAuthenticator(origin=settings.origin)
    assert enroll_with(client, new_phone, link).status_code == 200
    client.cookies.clear()
    assert login_with(client, old_phone).status_code == 200  # a new phone does not lock out the old one
    assert login_with(client, new_phone).status_code == 200

    client.cookies.clear()
    sign_in(client, settings, await open_session(couch, settings, "budi.santoso"))
    link, page = _issue_link(client, revoke_old="1")  # the phone was lost: revoke what exists
    assert 'id="revoked"' in page
    client.cookies.clear()
    assert login_with(client, old_phone).status_code == 401
    assert enroll_with(client, SoftAuthenticator(origin=settings.origin), link).status_code == 200


async def test_staff_cannot_issue_links_for_staff(
    client: TestClient, couch: CouchClient, settings: Settings, two_offices: None
) -> None:
    await make_user(couch, settings, "siti.rahmawati", "staff", office="6471")
    sign_in(client, settings, await open_session(couch, settings, "budi.santoso"))
    token = _csrf(client.get("/auth/office/users").text)
    response = client.post("/auth/office/users/siti.rahmawati/enroll-link", data={"csrf_token": token})
    assert response.status_code == 403


async def test_admin_may_view_any_office(
    client: TestClient, couch: CouchClient, settings: Settings, two_offices: None
) -> None:
    await make_user(couch, settings, "rina.admin", "admin", office=None)
    sign_in(client, settings, await open_session(couch, settings, "rina.admin"))
    page = client.get("/auth/office/users?office=6472")
    assert page.status_code == 200 and "Rudi Samarinda" in page.text and "Andi" not in page.text
