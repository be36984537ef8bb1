"""The field PWA against the real gateway and CouchDB: offline work reaches the database when the phone is
back online, a refused record shows the gateway's reason, and a record that left the courier's scope is
purged from the phone."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from server.identity.auth import device_id_for_credential
from server.identity.sessions import SESSION_COOKIE, sign_session_id
from server.identity.store import IdentityStore
from server.settings import Settings, open_couch
from tests.browser.test_pwa_offline import qr_png, seal_photo
from tests.support.identity import make_user, open_session
from tests.support.records import document_records
from tests.support.servers import ServerProcess
from tests.support.threads import run_async


async def _prepare(settings: Settings, docs: list[dict[str, Any]]) -> str:
    couch = open_couch(settings)
    try:
        await make_user(couch, settings, "gojek.andi", "courier", name="Andi Saputra")
        await make_user(couch, settings, "grab.dedi", "courier", partner="grab", name="Dedi Kurniawan")
        await couch.db(settings.records_db).bulk_docs(docs)
        return await open_session(couch, settings, "gojek.andi")
    finally:
        await couch.aclose()


def _couch_get(settings: Settings, path: str) -> httpx.Response:
    auth = (settings.couchdb_user or "", settings.couchdb_password or "")
    return httpx.get(f"{settings.couchdb_url}/{settings.records_db}/{path}", auth=auth, timeout=10)


def _reassign(settings: Settings, document_id: str, courier: str) -> None:
    auth = (settings.couchdb_user or "", settings.couchdb_password or "")
    document = _couch_get(settings, document_id).json()
    document["assignment"] = {**document["assignment"], "courier": courier, "partner": "grab"}
    url = f"{settings.couchdb_url}/{settings.records_db}/{document_id}"
    assert httpx.put(url, json=document, auth=auth, timeout=10).status_code in (200, 201)


def test_offline_work_syncs_refusals_show_and_out_of_scope_records_leave(
    page: Page, context: BrowserContext, live_server: ServerProcess, settings: Settings, tmp_path: Path
) -> None:
    kept = document_records("S0001", "Siti Rahmawati", "6471054506900012", "BP00013001")
    moved = document_records("S0002", "Budi Hartono", "6471021203850007", "BP00013002")
    cookie = run_async(_prepare, settings, [*kept, *moved])
    origin = f"http://localhost:{live_server.port}"
    context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": origin}])

    page.goto(f"{origin}/app")
    page.wait_for_function("() => navigator.serviceWorker.ready.then(() => true)")
    expect(page.locator("[data-role='who']")).to_have_text("Andi Saputra")
    expect(page.locator("a[data-doc]")).to_have_count(2, timeout=20000)  # pulled through the gateway
    page.wait_for_function("() => document.documentElement.dataset.scanner !== undefined", timeout=20000)

    context.set_offline(True)
    page.reload()
    page.wait_for_selector("#app[data-ready='true']")
    page.get_by_role("link", name="Ambil 2 dokumen di kantor").click()
    row1 = page.locator("li[data-doc='document:01JDTESTS0001']")
    row1.locator("[data-role='seal-image']").set_input_files(qr_png("BP00013001", tmp_path / "seal.png"))
    expect(row1.locator("[data-role='seal-verdict']")).to_have_text("Cocok: BP00013001", timeout=20000)
    row1.locator("[data-role='seal-photo']").set_input_files(seal_photo(tmp_path / "photo.jpg"))
    expect(row1.locator("[data-role='photo-status']")).to_contain_text("1 foto siap", timeout=20000)
    page.locator("li[data-doc='document:01JDTESTS0002'] [data-role='seal-number']").fill("BP00013002")
    page.get_by_label("Sertakan lokasi GPS").uncheck()
    page.get_by_role("button", name="Konfirmasi pengambilan").click()
    expect(page.locator("[data-role='pending-records']")).to_have_text("2 catatan menunggu")
    expect(page.locator("[data-role='pending-photos']")).to_have_text("1 foto menunggu")

    # Meanwhile the office gives the second document to another courier.
    _reassign(settings, "document:01JDTESTS0002", "grab.dedi")

    context.set_offline(False)
    expect(page.locator("[data-role='pending-records']")).to_have_text("0 catatan menunggu", timeout=30000)
    expect(page.locator("[data-role='pending-photos']")).to_have_text("0 foto menunggu", timeout=30000)
    denials = page.locator("[data-role='denials']")
    expect(denials).to_contain_text("1 catatan ditolak server")
    expect(denials).to_contain_text("tidak (lagi) ditugaskan kepada Anda")

    # In CouchDB: the accepted pickup and its photo, whose bytes match the digest the phone computed.
    local = {
        h["document_id"]: h
        for h in page.evaluate("window.segelData.localDocs('handoff:')")
        if h["author"] == "gojek.andi"
    }
    pickup = _couch_get(settings, local["document:01JDTESTS0001"]["_id"]).json()
    assert pickup["kind"] == "picked_up" and pickup["seal_match"] is True
    assert pickup["unsigned_reason"]
    photo_id = pickup["photos"][0]
    photo = _couch_get(settings, photo_id).json()
    image = _couch_get(settings, f"{photo_id}/{photo['attachment']}").content
    assert hashlib.sha256(image).hexdigest() == photo["sha256"]
    assert _couch_get(settings, local["document:01JDTESTS0002"]["_id"]).status_code == 404  # refused

    # The reassigned document left this courier's scope: it disappears from the phone once synced...
    page.goto(f"{origin}/app#/")
    expect(page.locator("a[data-doc='document:01JDTESTS0002']")).to_have_count(0, timeout=40000)
    expect(page.locator("a[data-doc='document:01JDTESTS0001']")).to_have_count(1)
    remaining = page.evaluate("window.segelData.localDocs('document:')")
    assert [d["_id"] for d in remaining] == ["document:01JDTESTS0001"]
    # ...but the refused handoff the courier made stays visible until it is resolved.
    assert local["document:01JDTESTS0002"]["_id"] in [
        h["_id"] for h in page.evaluate("window.segelData.localDocs('handoff:')")
    ]


async def _open_session(settings: Settings, user_id: str) -> tuple[str, str]:
    """A real server-side session; returns its id (to end it later) and the signed cookie value."""
    couch = open_couch(settings)
    try:
        session = await IdentityStore(couch, settings).create_session(
            user_id, device_id=device_id_for_credential("phone-1"), credential_id="phone-1"
        )
    finally:
        await couch.aclose()
    session_id = str(session["_id"]).removeprefix("session:")
    return session_id, sign_session_id(settings, session_id)


async def _end_session(settings: Settings, session_id: str) -> None:
    couch = open_couch(settings)
    try:
        assert await IdentityStore(couch, settings).end_session(session_id)
    finally:
        await couch.aclose()


def test_sync_stops_when_the_session_ends_and_resumes_after_signing_in_again(
    page: Page, context: BrowserContext, live_server: ServerProcess, settings: Settings
) -> None:
    run_async(
        _prepare, settings, document_records("L0001", "Siti Rahmawati", "6471054506900012", "BP00015001")
    )
    session_id, cookie = run_async(_open_session, settings, "gojek.andi")
    origin = f"http://localhost:{live_server.port}"
    context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": origin}])
    page.goto(f"{origin}/app")
    expect(page.locator("a[data-doc]")).to_have_count(1, timeout=20000)

    run_async(_end_session, settings, session_id)  # logged out elsewhere, or expired
    page.get_by_role("link", name="Ambil 1 dokumen di kantor").click()
    page.locator("[data-role='seal-number']").fill("BP00015001")
    page.get_by_label("Sertakan lokasi GPS").uncheck()
    page.get_by_role("button", name="Konfirmasi pengambilan").click()
    expect(page.locator("#sync-bar")).to_contain_text("Sesi berakhir", timeout=30000)
    expect(page.locator("[data-role='pending-records']")).to_have_text("1 catatan menunggu")
    expect(page.locator("#sync-bar [data-role='login']")).to_have_attribute(
        "href", "/auth/login?next=%2Fapp%23%2F"
    )

    _, fresh = run_async(_open_session, settings, "gojek.andi")  # the courier signs in again
    context.add_cookies([{"name": SESSION_COOKIE, "value": fresh, "url": origin}])
    page.reload()
    expect(page.locator("[data-role='pending-records']")).to_have_text("0 catatan menunggu", timeout=30000)
    expect(page.locator("#sync-bar")).not_to_contain_text("Sesi berakhir")
