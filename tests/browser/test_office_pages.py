"""Office and resident pages in headless Chromium, against the real server; screenshots go to docs/screens."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from records.receipt_proof import ReceiptKey
from server.identity.sessions import SESSION_COOKIE
from server.office import intake
from server.office.config import OfficeConfig
from server.office.ledger import OFFICE_TZ, Ledger
from server.office.senders import LogFileSender
from server.office.worker import run_once
from server.residents.links import issue_link
from server.settings import Settings, open_couch
from tests.support.identity import make_user, open_session
from tests.support.office import (
    NIKS,
    next_handoff,
    put_document,
    put_handoff_with_photo,
    ready_ledger,
    seal_image,
    staff,
)
from tests.support.servers import REPO_ROOT, ServerProcess
from tests.support.threads import run_async

SCREENS = REPO_ROOT / "docs" / "screens"


async def _worker_round(settings: Settings) -> None:
    """What `segel worker` does between page loads (checks, rollups, messages): pages only read."""
    couch = open_couch(settings)
    try:
        ledger = Ledger.of(couch, settings)
        key = ReceiptKey.from_secret(settings.secret_key)
        while (
            await run_once(ledger, OfficeConfig(), settings.origin, LogFileSender(settings.data_dir), key)
        ).any:
            pass
    finally:
        await couch.aclose()


async def _prepare(settings: Settings) -> dict[str, Any]:
    """A small office day: a delivered document with photos, one in transit with a seal mismatch, one new."""
    couch = open_couch(settings)
    try:
        ledger = await ready_ledger(couch, settings)
        await make_user(couch, settings, "budi.santoso", "staff", office="6471", name="Budi Santoso")
        await make_user(couch, settings, "gojek.andi", "courier", office="6471", partner="gojek", name="Andi")
        await make_user(couch, settings, "grab.sari", "courier", office="6471", partner="grab", name="Sari")
        now = datetime.now(OFFICE_TZ).isoformat(timespec="seconds")
        delivered = await put_document(ledger, name="Siti Aminah")
        await intake.assign(ledger, staff(), [str(delivered["_id"])], "gojek.andi", "gojek", "B1")
        sealed = await intake.bind_seal(ledger, staff(), str(delivered["_id"]), "BP00012345")
        pickup = next_handoff(sealed, "picked_up", device_time=now, place={"lat": -1.2695, "lon": 116.8275})
        await put_handoff_with_photo(ledger, pickup, seal_image(21))
        done = next_handoff(
            pickup,
            "delivered",
            device_time=now,
            place={"lat": -1.27431, "lon": 116.82852, "accuracy_m": 8},
            receipt_code=delivered["receipt_code"],  # what Siti gave the courier at the door
        )
        await put_handoff_with_photo(ledger, done, seal_image(22))
        transit = await put_document(ledger, name="Yusuf Hidayat", nik=NIKS[1])
        await intake.assign(ledger, staff(), [str(transit["_id"])], "grab.sari", "grab", "B1")
        sealed2 = await intake.bind_seal(ledger, staff(), str(transit["_id"]), "BP00012346")
        mismatch = next_handoff(
            sealed2,
            "picked_up",
            author="grab.sari",
            device_time=now,
            seal_number_scanned="BP00012364",
            seal_match=False,
        )
        await put_handoff_with_photo(ledger, mismatch, seal_image(23))
        fresh = await put_document(ledger, name="Dewi Lestari", nik=NIKS[2], delivery="undecided")
        await _worker_round(settings)
        return {
            "cookie": await open_session(couch, settings, "budi.santoso"),
            "delivered": delivered,
            "mismatch": mismatch,
            "fresh": fresh,
            "resident_link": await issue_link(ledger, delivered),
            "fresh_link": await issue_link(ledger, fresh),
        }
    finally:
        await couch.aclose()


async def _seal_of(settings: Settings, document_id: str) -> str | None:
    couch = open_couch(settings)
    try:
        return await intake.sealed_number(Ledger.of(couch, settings), document_id)
    finally:
        await couch.aclose()


@pytest.fixture
def desk(browser: Browser, live_server: ServerProcess) -> Iterator[BrowserContext]:
    """A desktop browser profile, as at the office counter."""
    context = browser.new_context(viewport={"width": 1366, "height": 800}, locale="id-ID")
    yield context
    context.close()


def _signed_in(desk: BrowserContext, live_server: ServerProcess, cookie: str) -> tuple[Page, str]:
    origin = f"http://localhost:{live_server.port}"
    desk.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": origin}])
    return desk.new_page(), origin


def test_dashboard_timeline_and_exceptions_at_the_desk(
    desk: BrowserContext, live_server: ServerProcess, settings: Settings
) -> None:
    data = run_async(_prepare, settings)
    page, origin = _signed_in(desk, live_server, data["cookie"])

    page.goto(f"{origin}/office")
    expect(page.locator(".tile-delivered .num")).to_have_text("1")
    expect(page.locator(".tile-picked_up .num")).to_have_text("2")
    expect(page.locator("svg rect.bar-delivered")).to_have_count(14)
    expect(page.get_by_role("cell", name="Andi", exact=True)).to_be_visible()  # the courier by name
    page.screenshot(path=str(SCREENS / "office-dashboard.png"), full_page=True)

    page.goto(f"{origin}/office/documents/{data['delivered']['_id']}")
    expect(page.locator("[data-chain='ok']")).to_contain_text("Rantai serah terima utuh")
    expect(page.locator("li.event")).to_have_count(3)
    images = page.locator(".photos-compare img")
    expect(images).to_have_count(2)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.photos-compare img')].every(i => i.naturalWidth > 0)"
    )
    page.screenshot(path=str(SCREENS / "office-timeline.png"), full_page=True)

    page.goto(f"{origin}/office/exceptions")
    item = page.locator(f"li[data-kind='seal_mismatch'][data-subject='{data['mismatch']['_id']}']")
    expect(item).to_contain_text("BP00012364")
    page.screenshot(path=str(SCREENS / "office-exceptions.png"), full_page=True)
    item.get_by_label("Catatan").fill("Amplop dibuka bersama kurir, isi benar")
    item.get_by_role("button", name="Selesaikan").click()
    expect(page.get_by_role("status")).to_contain_text("Tindakan dicatat")
    flash = page.locator("#flash")
    expect(flash).to_be_in_viewport()  # the redirect lands on the message, focused for screen readers
    expect(flash).to_be_focused()
    expect(
        page.locator(f"li[data-subject='{data['mismatch']['_id']}'][data-kind='seal_mismatch']")
    ).to_have_count(0)


def test_a_scanner_that_types_seals_a_document_with_enter(
    desk: BrowserContext, live_server: ServerProcess, settings: Settings
) -> None:
    data = run_async(_prepare, settings)
    page, origin = _signed_in(desk, live_server, data["cookie"])
    page.goto(f"{origin}/office/intake")
    page.get_by_label("Dokumen").select_option(str(data["fresh"]["_id"]))
    field = page.get_by_label("Nomor segel")
    field.press_sequentially("BP00077777", delay=5)  # a USB scanner types fast and ends with Enter
    field.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Tersimpan")
    expect(page.locator("#flash")).to_be_in_viewport()
    expect(page.get_by_label("Nomor segel")).to_be_focused()  # the next envelope can be scanned at once
    page.screenshot(path=str(SCREENS / "office-intake.png"), full_page=True)
    assert run_async(_seal_of, settings, str(data["fresh"]["_id"])) == "BP00077777"


def test_resident_page_on_a_phone(
    page: Page,
    context: BrowserContext,
    desk: BrowserContext,
    live_server: ServerProcess,
    settings: Settings,
    tmp_path: Path,
) -> None:
    data = run_async(_prepare, settings)
    origin = f"http://localhost:{live_server.port}"
    page.goto(f"{origin}/r/{data['fresh_link']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dewi Lestari")
    expect(page.get_by_test_id("receipt-code")).to_have_text(str(data["fresh"]["receipt_code"]))
    assert NIKS[2] not in page.content() and "Siti Aminah" not in page.content()
    page.get_by_label("Diantar kurir ke alamat saya").check()
    page.get_by_role("button", name="Simpan pilihan").click()
    expect(page.get_by_role("status")).to_contain_text("Pilihan pengiriman Anda sudah disimpan")
    page.screenshot(path=str(SCREENS / "office-resident.png"), full_page=True)

    page.goto(f"{origin}/r/{data['resident_link']}")
    expect(page.locator(".status")).to_contain_text("Dokumen sudah diterima")
    page.get_by_label("Masalahnya").select_option("seal_broken")
    page.get_by_label("Ceritakan yang terjadi").fill("Segel sobek di pojok kanan waktu saya terima.")
    photo = tmp_path / "segel.jpg"
    photo.write_bytes(seal_image(30))
    page.get_by_label("Foto (opsional").set_input_files(photo)
    page.get_by_role("button", name="Kirim pengaduan").click()
    expect(page.get_by_role("status")).to_contain_text("Pengaduan Anda sudah kami terima")
    page.get_by_role("button", name="Ya, saya sudah menerima dokumen ini").click()
    expect(page.get_by_role("status")).to_contain_text("penerimaan Anda sudah dicatat")
    page.screenshot(path=str(SCREENS / "office-resident-delivered.png"), full_page=True)

    # At the desk, staff see the photo the resident sent, small in the queue and full size on a click.
    run_async(_worker_round, settings)
    office, _ = _signed_in(desk, live_server, data["cookie"])
    office.goto(f"{origin}/office/exceptions")
    thumb = office.locator("li[data-kind='complaint'] img.thumb")
    expect(thumb).to_have_count(1)
    office.wait_for_function(
        "() => document.querySelector('li[data-kind=complaint] img.thumb').naturalWidth > 0"
    )
    assert thumb.bounding_box()["width"] < 200  # type: ignore[index]
    with desk.expect_page() as opened:
        thumb.click()
    full = opened.value
    full.wait_for_load_state()
    assert full.evaluate("document.images[0].naturalWidth") == 160  # seal_image is 160 px wide
    office.goto(f"{origin}/office/documents/{data['delivered']['_id']}")
    expect(office.locator("li.complaint img.thumb")).to_have_count(1)
    office.wait_for_function("() => document.querySelector('li.complaint img.thumb').naturalWidth > 0")


def test_drive_thru_handover_counts_scans_and_prints_the_report(
    desk: BrowserContext, live_server: ServerProcess, settings: Settings
) -> None:
    data = run_async(_prepare, settings)
    page, origin = _signed_in(desk, live_server, data["cookie"])
    response = page.goto(f"{origin}/office/handovers")
    assert response is not None and response.ok, page.content()[:3000]
    page.get_by_label("Kurir").select_option("gojek.andi")
    seals = page.get_by_label("Pindai segel setiap amplop")
    for number in ("BP00012345", "BP00012346", "BP00012345"):
        seals.press_sequentially(number, delay=5)
        seals.press("Enter")
    expect(page.locator("[data-role='seal-count']")).to_have_text(
        "2 amplop dipindai · dipindai dua kali: BP00012345"
    )
    page.get_by_role("button", name="Buat berita acara").click()  # BP00012346 is Sari's (grab) envelope
    expect(page.get_by_role("alert")).to_contain_text("segel ditolak")
    refused = page.locator("[data-role='scanned-seals'] li.bad")
    expect(refused).to_have_count(2)  # Sari's envelope, and the seal scanned twice
    expect(refused.first).to_contain_text("ditugaskan kepada grab.sari, bukan gojek.andi")
    expect(page.get_by_label("Kurir")).to_have_value("gojek.andi")  # nothing to choose or scan again
    seals = page.get_by_label("Pindai segel setiap amplop")
    expect(seals).to_have_value("BP00012345\nBP00012346\nBP00012345")
    seals.fill("BP00012345\n")
    page.get_by_role("button", name="Buat berita acara").click()
    expect(page.get_by_role("heading", name="Berita Acara Serah Terima")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Menunggu konfirmasi kurir")
    expect(page.locator("td.seal")).to_have_text(["BP00012345"])
    page.screenshot(path=str(SCREENS / "office-handover.png"), full_page=True)
    href = page.get_by_role("link", name="Cetak berita acara (PDF)").get_attribute("href")
    pdf = page.request.get(f"{origin}{href}")
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"


#: For each checkbox or radio button on the page: its box and the box of its label's own text.
_CONTROL_BOXES = """() => [...document.querySelectorAll(
  "label > input[type=checkbox], label > input[type=radio]")]
  .filter((input) => input.offsetParent !== null).map((input) => {
    const range = document.createRange();
    range.setStartAfter(input);
    range.setEndAfter(input.parentElement.lastChild);
    const text = [...range.getClientRects()].find((r) => r.width > 0);
    const box = input.getBoundingClientRect();
    return { box: { x: box.x, y: box.y, w: box.width, h: box.height },
             text: text && { x: text.x, y: text.y, h: text.height } };
  })"""


def _inline_before_text(page: Page) -> int:
    boxes = page.evaluate(_CONTROL_BOXES)
    assert boxes, "no checkbox or radio on the page"
    for item in boxes:
        box, text = item["box"], item["text"]
        assert text is not None
        assert box["x"] + box["w"] <= text["x"] + 1, item  # before the text, not above it
        centre, text_centre = box["y"] + box["h"] / 2, text["y"] + text["h"] / 2
        assert abs(centre - text_centre) < text["h"], item  # on the text's line
    return len(boxes)


def test_checkboxes_and_radio_buttons_sit_inline_before_their_labels(
    page: Page, desk: BrowserContext, live_server: ServerProcess, settings: Settings
) -> None:
    data = run_async(_prepare, settings)
    office, origin = _signed_in(desk, live_server, data["cookie"])
    console: list[str] = []
    office.on("console", lambda message: console.append(message.text))
    office.goto(f"{origin}/office/intake")
    assert _inline_before_text(office) >= 1  # the documents to assign
    # Browsers compile `pattern` with the `v` flag: every pattern on the page must compile so.
    patterns = office.evaluate(
        "() => [...document.querySelectorAll('input[pattern]')].map((i) => {"
        " try { new RegExp(i.pattern, 'v'); return null; } catch (e) { return i.name + ': ' + e.message; } })"
    )
    assert patterns and [p for p in patterns if p] == []
    assert not [m for m in console if "pattern" in m.lower()], console
    page.goto(f"{origin}/r/{data['fresh_link']}")
    assert _inline_before_text(page) == 2  # courier or self pickup
