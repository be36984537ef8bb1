"""A courier with a passkey: the PWA signs each handoff offline with it, and the gateway verifies the
signature when the phone is back online (the server's receipt says "verified")."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from records.custody import record_hash
from server.settings import Settings, open_couch
from tests.browser.conftest import VirtualAuthenticator
from tests.support.identity import enrollment_token, make_office, make_user
from tests.support.records import document_records
from tests.support.servers import ServerProcess
from tests.support.threads import run_async


async def _prepare(settings: Settings, docs: list[dict[str, Any]]) -> str:
    couch = open_couch(settings)
    try:
        await make_office(couch, settings)
        await make_user(couch, settings, "gojek.andi", "courier", partner="gojek", name="Andi Saputra")
        await couch.db(settings.records_db).bulk_docs(docs)
        return await enrollment_token(couch, settings, "gojek.andi")
    finally:
        await couch.aclose()


def _couch_doc(settings: Settings, doc_id: str, database: str | None = None) -> dict[str, Any]:
    auth = (settings.couchdb_user or "", settings.couchdb_password or "")
    name = database or settings.records_db
    response = httpx.get(f"{settings.couchdb_url}/{name}/{doc_id}", auth=auth, timeout=10)
    assert response.status_code == 200, (doc_id, response.text)
    return dict(response.json())


def test_handoff_signed_offline_is_verified_by_the_gateway(
    page: Page,
    context: BrowserContext,
    live_server: ServerProcess,
    authenticator: VirtualAuthenticator,
    settings: Settings,
) -> None:
    docs = document_records("P0001", "Siti Rahmawati", "6471054506900012", "BP00014001")
    token = run_async(_prepare, settings, docs)
    base = f"http://localhost:{live_server.port}"
    page.goto(f"{base}/auth/enroll/{token}")
    page.fill("#label", "Ponsel kurir")
    page.click("#enroll-button")
    expect(page.locator("#status")).to_have_attribute("data-state", "enrolled")

    page.goto(f"{base}/app")
    expect(page.locator("[data-role='who']")).to_have_text("Andi Saputra")
    expect(page.locator("a[data-doc]")).to_have_count(1, timeout=20000)
    page.wait_for_function("() => navigator.serviceWorker.ready.then(() => true)")

    context.set_offline(True)
    page.reload()
    page.wait_for_selector("#app[data-ready='true']")
    page.get_by_role("link", name="Ambil 1 dokumen di kantor").click()
    page.locator("[data-role='seal-number']").fill("BP00014001")
    page.get_by_label("Sertakan lokasi GPS").uncheck()
    page.get_by_role("button", name="Konfirmasi pengambilan").click()
    expect(page.locator("[data-role='flash']")).to_have_text("1 dokumen dicatat sudah diambil.")
    handoffs = page.evaluate("window.segelData.localDocs('handoff:')")
    local = [h for h in handoffs if h["author"] == "gojek.andi"]
    me = page.evaluate("window.segelData.currentUser()")
    assert len(local) == 1 and "unsigned_reason" not in local[0]
    assert local[0]["signature"]["credential_id"] in me["credential_ids"]

    context.set_offline(False)
    expect(page.locator("[data-role='pending-records']")).to_have_text("0 catatan menunggu", timeout=30000)
    stored = _couch_doc(settings, local[0]["_id"])
    assert record_hash(stored) == record_hash(local[0])
    assert stored["prev_hash"] == record_hash(docs[2])
    receipt = _couch_doc(settings, f"receipt:{local[0]['_id']}", settings.receipts_db)
    assert receipt["signature"]["status"] == "verified", receipt
    assert receipt["needs_review"] is False
