"""The courier's app confirms a drive-thru handover by scanning the QR code on the office's screen: Chromium's
fake camera plays the QR of the confirm address, and the confirmation goes through the office's confirm route
(the courier's own session and CSRF token)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from server.identity.sessions import SESSION_COOKIE
from server.office import intake
from server.office.handover import Courier, create_handover
from server.office.ledger import Ledger
from server.settings import Settings, open_couch
from tests.browser.conftest import CHROMIUM_ARGS
from tests.browser.test_pwa_camera import qr_video
from tests.support.identity import make_office, make_user, open_session
from tests.support.office import NIKS, put_document, ready_ledger, staff
from tests.support.servers import ServerProcess
from tests.support.threads import run_async


async def _handover_for_andi(settings: Settings) -> dict[str, Any]:
    """Two sealed envelopes assigned to Andi, handed over at the window, not confirmed yet."""
    couch = open_couch(settings)
    try:
        ledger = await ready_ledger(couch, settings)
        await make_office(couch, settings, "6471", "Disdukcapil Kota Balikpapan")
        await make_user(couch, settings, "budi.santoso", "staff", office="6471", name="Budi Santoso")
        await make_user(couch, settings, "gojek.andi", "courier", office="6471", partner="gojek", name="Andi")
        numbers = []
        for number, (name, nik) in enumerate((("Siti Aminah", NIKS[0]), ("Yusuf Hidayat", NIKS[1]))):
            document = await put_document(ledger, name=name, nik=nik)
            await intake.assign(ledger, staff(), [str(document["_id"])], "gojek.andi", "gojek", None)
            await intake.bind_seal(ledger, staff(), str(document["_id"]), f"BP0001700{number}")
            numbers.append(f"BP0001700{number}")
        handover = await create_handover(
            ledger, staff(), "6471", Courier("gojek.andi", "Andi", "gojek"), numbers
        )
        return {"handover": handover, "cookie": await open_session(couch, settings, "gojek.andi")}
    finally:
        await couch.aclose()


async def _confirmation(settings: Settings, handover_id: str) -> dict[str, Any] | None:
    couch = open_couch(settings)
    try:
        return await Ledger.of(couch, settings).office.get_or_none(
            handover_id.replace("handover:", "handover_confirmation:")
        )
    finally:
        await couch.aclose()


@pytest.fixture
def handover(settings: Settings) -> dict[str, Any]:
    return run_async(_handover_for_andi, settings)


@pytest.fixture
def courier_camera(
    playwright_instance: Playwright, live_server: ServerProcess, handover: dict[str, Any], tmp_path: Path
) -> Iterator[Page]:
    """Andi's phone, signed in, whose camera sees the QR code on the office's handover screen."""
    origin = f"http://localhost:{live_server.port}"
    confirm_url = f"{origin}/office/handovers/{handover['handover']['_id']}/confirm"
    video = qr_video(confirm_url, tmp_path / "handover.y4m")
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is needed"
    browser: Browser = playwright_instance.chromium.launch(
        executable_path=executable,
        headless=True,
        args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={video}"],
    )
    context = browser.new_context(viewport={"width": 360, "height": 640}, locale="id-ID")
    context.add_cookies([{"name": SESSION_COOKIE, "value": handover["cookie"], "url": origin}])
    context.grant_permissions(["camera"], origin=origin)
    yield context.new_page()
    context.close()
    browser.close()


def test_courier_confirms_a_handover_by_scanning_the_offices_qr_code(
    courier_camera: Page, live_server: ServerProcess, settings: Settings, handover: dict[str, Any]
) -> None:
    page = courier_camera
    origin = f"http://localhost:{live_server.port}"
    handover_id = handover["handover"]["_id"]
    page.goto(f"{origin}/app")
    page.wait_for_selector("#app[data-ready='true']")
    page.get_by_role("link", name="Serah terima di kantor").click()
    waiting = page.locator("[data-role='waiting-handovers'] li")
    expect(waiting).to_have_count(1)
    expect(waiting.first).to_have_attribute("data-handover", handover_id)
    expect(waiting.first).to_contain_text("2 amplop · Disdukcapil Kota Balikpapan")
    expect(page.locator("[data-role='handover-screen']")).not_to_contain_text("Siti")  # least data
    assert run_async(_confirmation, settings, handover_id) is None

    page.get_by_role("button", name="Pindai QR").click()
    expect(page.locator("[data-role='handover-status']")).to_have_text(
        "Terkonfirmasi: Anda menerima 2 amplop. Petugas kini dapat mencetak berita acara.", timeout=30000
    )
    confirmation = run_async(_confirmation, settings, handover_id)
    assert confirmation is not None and confirmation["courier"] == "gojek.andi"
    expect(waiting).to_have_text(["Tidak ada serah terima yang menunggu konfirmasi Anda."])
    expect(page.locator("video.scanner-video")).to_be_hidden()  # the camera is released after the read

    page.get_by_role("button", name="Pindai QR").click()  # the same QR again: confirmed once, said so
    expect(page.locator("[data-role='handover-status']")).to_have_text(
        "Serah terima ini sudah Anda konfirmasi sebelumnya.", timeout=30000
    )
    assert run_async(_confirmation, settings, handover_id) == confirmation


def test_the_app_speaks_the_language_chosen_on_the_pages_and_back(
    courier_camera: Page, live_server: ServerProcess
) -> None:
    """One `lang` cookie: English chosen on a server page (?lang=en) is the app's language, the handover
    screen's texts included (from the catalogue), and the app's own switch changes the pages' language too."""
    page = courier_camera
    origin = f"http://localhost:{live_server.port}"
    page.goto(f"{origin}/auth/login?lang=en")
    page.goto(f"{origin}/app")
    page.wait_for_selector("#app[data-ready='true']")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("link", name="Handover at the office").click()
    expect(page.locator("[data-role='handover-screen'] h1")).to_have_text("Handover")
    expect(page.get_by_role("button", name="Scan QR")).to_be_visible()
    expect(page.locator("[data-role='waiting-handovers'] li").first).to_contain_text(
        "2 envelopes · Disdukcapil Kota Balikpapan"
    )

    page.locator("[data-role='lang']").click()  # the app's switch: back to Indonesian
    expect(page.get_by_role("button", name="Pindai QR")).to_be_visible()
    [cookie] = [c for c in page.context.cookies(origin) if c["name"] == "lang"]
    assert cookie["value"] == "id" and cookie["sameSite"] == "Lax" and not cookie["httpOnly"]
    page.goto(f"{origin}/auth/login")
    expect(page.locator("html")).to_have_attribute("lang", "id")
