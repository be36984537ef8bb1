"""Passkeys in real headless Chromium with its virtual authenticator: enroll from a link, log out, log in,
sign a record while offline with passkey.js, then verify it as the gateway verifies a pushed handoff."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TypeVar

from playwright.sync_api import BrowserContext, Page, expect

from records.custody import record_hash
from records.principal import Principal
from records.types import JSONDict
from server.settings import Settings, open_couch
from store.couch import CouchClient
from sync.signatures import verify_handoff
from sync.verdicts import SignatureVerdict
from tests.browser.conftest import VirtualAuthenticator
from tests.support.identity import enrollment_token, make_office, make_user
from tests.support.records import pickup
from tests.support.servers import ServerProcess

T = TypeVar("T")


def _run(settings: Settings, action: Callable[[CouchClient], Awaitable[T]]) -> T:
    async def go() -> T:
        couch = open_couch(settings)
        try:
            return await action(couch)
        finally:
            await couch.aclose()

    # Playwright's sync API keeps an event loop running in this thread: run the setup in another one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, go()).result()


def _courier_link(settings: Settings) -> str:
    async def setup(couch: CouchClient) -> str:
        await make_office(couch, settings)
        await make_user(couch, settings, "gojek.andi", "courier", partner="gojek", name="Andi Saputra")
        return await enrollment_token(couch, settings, "gojek.andi")

    return _run(settings, setup)


def test_enroll_logout_login_and_sign_offline(
    page: Page,
    context: BrowserContext,
    live_server: ServerProcess,
    authenticator: VirtualAuthenticator,
    settings: Settings,
) -> None:
    base = f"http://localhost:{live_server.port}"
    page.goto(f"{base}/auth/enroll/{_courier_link(settings)}")
    expect(page.locator("#enroll-name")).to_have_text("Andi Saputra")
    page.fill("#label", "Ponsel uji")
    page.click("#enroll-button")
    expect(page.locator("#status")).to_have_attribute("data-state", "enrolled")
    assert len(authenticator.credentials()) == 1
    assert authenticator.credentials()[0]["isResidentCredential"] is True

    page.goto(f"{base}/auth/login")
    expect(page.locator("#signed-in-as")).to_contain_text("Andi Saputra")
    page.click("#logout")
    expect(page.locator("#logged-out")).to_be_visible()
    assert page.evaluate("fetch('/auth/me').then((r) => r.status)") == 401

    page.goto(f"{base}/auth/login?next=/auth/login")
    page.click("#login-button")
    expect(page.locator("#signed-in-as")).to_contain_text("Andi Saputra")
    me = page.evaluate("fetch('/auth/me').then((r) => r.json())")
    assert me["user_id"] == "gojek.andi" and len(me["credential_ids"]) == 1

    record = pickup(0, "gojek.andi")
    page.evaluate("import('/static/js/lib/passkey.js').then((m) => { window.passkey = m; })")
    context.set_offline(True)
    assert page.evaluate("navigator.onLine") is False
    signature = page.evaluate(
        "([hash, ids]) => window.passkey.signRecordHash(hash, ids)",
        [record_hash(record), me["credential_ids"]],
    )
    assert set(signature) >= {"credential_id", "authenticator_data", "client_data_json", "signature"}
    context.set_offline(False)

    # Verified as the gateway verifies a pushed handoff, with the origin and passkey of the live server.
    live = replace(settings, origin=base, rp_id="localhost")
    andi = Principal(user_id="gojek.andi", role="courier", office="6471", partner="gojek")

    def verdict_of(signed: JSONDict) -> SignatureVerdict:
        return _run(
            settings,
            lambda couch: verify_handoff(
                couch, live.identity_db, signed, andi, origin=live.origin, rp_id=live.rp_id
            ),
        )

    assert verdict_of({**record, "signature": signature}) == SignatureVerdict(
        "verified", None, me["credential_ids"][0]
    )
    altered = verdict_of({**record, "signature": signature, "seq": record["seq"] + 1})
    assert altered.status == "invalid"


def test_browser_without_passkeys_gets_a_clear_message(
    page: Page, live_server: ServerProcess, settings: Settings
) -> None:
    page.add_init_script("delete window.PublicKeyCredential")
    page.goto(f"http://localhost:{live_server.port}/auth/enroll/{_courier_link(settings)}")
    expect(page.locator("#status")).to_have_attribute("data-state", "unsupported")
    expect(page.locator("#status")).to_contain_text("tidak mendukung passkey")
    expect(page.locator("#enroll-button")).to_be_disabled()
