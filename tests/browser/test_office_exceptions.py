"""The exceptions queue worked as at the desk, in headless Chromium against the real server: filter by
courier and kind, close an item, and land back on the same filter at the item that followed, with the
message in view."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from playwright.sync_api import BrowserContext, expect

from server.office.ledger import OFFICE_TZ, Ledger, now_iso
from server.settings import Settings, open_couch
from tests.browser.test_office_language import _check_english, _check_indonesian, _page_texts
from tests.browser.test_office_pages import _signed_in, desk
from tests.integration.test_office_exceptions import (
    a_working_day,
    assigned_and_sealed,
    courier_party,
    signed,
)
from tests.support.identity import make_user, open_session
from tests.support.office import NIKS, put_handoff_with_photo, ready_ledger, seal_image
from tests.support.servers import ServerProcess
from tests.support.threads import run_async

__all__ = ["desk"]  # the desktop browser fixture, shared with the office pages' test


async def _seed(settings: Settings) -> dict[str, Any]:
    """The day of the integration tests (Andi's two mismatches, Sari's damaged seal, a complaint) and two
    more mismatches of Andi's, so his list runs below the fold."""
    couch = open_couch(settings)
    try:
        ledger = await ready_ledger(couch, settings)
        await make_user(couch, settings, "budi.santoso", "staff", office="6471", name="Budi Santoso")
        await make_user(
            couch, settings, "gojek.andi", "courier", office="6471", partner="gojek", name="Andi Saputra"
        )
        await make_user(
            couch, settings, "grab.sari", "courier", office="6471", partner="grab", name="Sari Dewi"
        )
        day = await a_working_day(Ledger.of(couch, settings))
        andi = courier_party("gojek.andi", "Andi Saputra")
        now = datetime.now(OFFICE_TZ)
        for number, hours in (("BP00000901", 30), ("BP00000902", 60)):
            _, sealed = await assigned_and_sealed(
                ledger, number, "gojek.andi", "gojek", name=f"Penduduk {number[-1]}", nik=NIKS[1]
            )
            pickup = signed(
                sealed,
                "picked_up",
                to=andi,
                seal_number_scanned="BP00000999",
                seal_match=False,
                device_time=now_iso(now - timedelta(hours=hours)),
            )
            await put_handoff_with_photo(ledger, pickup, seal_image(90 + hours))
        return {"cookie": await open_session(couch, settings, "budi.santoso"), **day}
    finally:
        await couch.aclose()


def test_the_queue_filtered_by_courier_and_kind_keeps_its_place_after_a_resolution(
    desk: BrowserContext, live_server: ServerProcess, settings: Settings
) -> None:
    data = run_async(_seed, settings)
    page, origin = _signed_in(desk, live_server, data["cookie"])
    page.goto(f"{origin}/office/exceptions")
    expect(page.locator("li.exc")).to_have_count(6)

    page.locator("select[name=courier]").select_option(label="Andi Saputra (Gojek)")
    page.get_by_role("button", name="Saring").click()
    expect(page).to_have_url(re.compile(r"courier=gojek\.andi"))
    expect(page.locator("li.exc")).to_have_count(4)
    kinds = page.get_by_role("navigation", name="Jenis pengecualian")
    expect(kinds.get_by_role("link")).to_have_count(2)  # all kinds, and the one kind Andi has open
    kinds.get_by_role("link", name=re.compile(r"^Nomor segel tidak cocok 4$")).click()
    expect(page).to_have_url(re.compile(r"kind=seal_mismatch"))
    expect(page).to_have_url(re.compile(r"courier=gojek\.andi"))
    items = page.locator("li.exc")
    expect(items).to_have_count(4)
    expect(page.locator("li.exc[data-kind='seal_mismatch']")).to_have_count(4)
    subjects = [items.nth(n).get_attribute("data-subject") for n in range(4)]
    third = items.nth(2)
    expect(third).to_contain_text("Kurir: Andi Saputra (Gojek)")
    expect(third.locator("[data-role='resident']")).to_contain_text("segel")

    third.get_by_label("Catatan").fill("Amplop dibuka bersama kurir, isi benar")
    third.get_by_role("button", name="Selesaikan").click()

    expect(page).to_have_url(re.compile(r"#flash$"))
    assert "courier=gojek.andi" in page.url and "kind=seal_mismatch" in page.url
    flash = page.locator("#flash")
    expect(flash).to_contain_text("Tindakan dicatat")
    expect(flash).to_be_in_viewport()  # where the page opens: not back at the top
    expect(flash).to_be_focused()
    assert page.evaluate("() => window.scrollY") > 0
    # The message sits just above the item that followed the one closed.
    follower = page.evaluate("() => document.getElementById('flash').nextElementSibling.dataset.subject")
    assert follower == subjects[3]
    expect(page.locator(f"li.exc[data-subject='{subjects[3]}']")).to_be_in_viewport()
    expect(page.locator(f"li.exc[data-subject='{subjects[2]}']")).to_have_count(0)
    expect(page.locator("li.exc")).to_have_count(3)
    expect(page.locator("select[name=courier]")).to_have_value("gojek.andi")  # the filter is still chosen
    expect(kinds.get_by_role("link", name=re.compile(r"^Nomor segel tidak cocok 3$"))).to_have_attribute(
        "aria-current", "page"
    )


async def _seed_loss(settings: Settings) -> dict[str, Any]:
    """An envelope Andi reported lost from his phone (no seal to scan, he keeps custody)."""
    couch = open_couch(settings)
    try:
        ledger = await ready_ledger(couch, settings)
        await make_user(couch, settings, "budi.santoso", "staff", office="6471", name="Budi Santoso")
        await make_user(
            couch, settings, "gojek.andi", "courier", office="6471", partner="gojek", name="Andi Saputra"
        )
        andi = courier_party("gojek.andi", "Andi Saputra")
        doc, sealed = await assigned_and_sealed(
            ledger, "BP00000801", "gojek.andi", "gojek", name="Siti Aminah"
        )
        pickup = signed(sealed, "picked_up", to=andi)
        await put_handoff_with_photo(ledger, pickup, seal_image(95))
        lost = signed(
            pickup,
            "lost",
            to=andi,
            seal_number_scanned=None,
            seal_match=False,
            seal_condition="missing",
            note="Tas dicuri di angkot",
        )
        await ledger.records.put(lost)
        return {"cookie": await open_session(couch, settings, "budi.santoso"), "doc": doc, "lost": lost}
    finally:
        await couch.aclose()


def test_a_reported_loss_reads_as_a_loss_in_both_languages_and_is_settled_with_liability_and_reprint(
    desk: BrowserContext, live_server: ServerProcess, settings: Settings
) -> None:
    data = run_async(_seed_loss, settings)
    page, origin = _signed_in(desk, live_server, data["cookie"])
    page.goto(f"{origin}/office/exceptions")
    expect(page.locator("li.exc")).to_have_count(1)  # one loss, not a mismatch and a missing seal besides
    card = page.locator("li.exc[data-kind='lost']")
    expect(card).to_contain_text("Dokumen hilang")
    expect(card).to_contain_text("Dilaporkan hilang oleh Andi Saputra. Kronologi: Tas dicuri di angkot")
    expect(card).not_to_contain_text("Amplop diperiksa")
    _check_indonesian("queue with a loss", *_page_texts(page))

    page.goto(f"{origin}/office/exceptions?lang=en")
    expect(card).to_contain_text("Reported lost by Andi Saputra.")
    expect(
        card.get_by_role("button", name="Record the courier's liability and reprint with a new seal")
    ).to_be_visible()
    _check_english("queue with a loss", page.inner_text("body"))

    page.goto(f"{origin}/office/exceptions?lang=id")
    card.get_by_label("Tanggung jawab kurir").fill("Kurir mengganti biaya cetak; laporan polisi LP/88")
    card.get_by_label("Nomor segel baru (untuk cetak ulang)").fill("BP00000802")
    card.get_by_role("button", name="Catat tanggung jawab kurir dan cetak ulang dengan segel baru").click()
    flash = page.locator("#flash")
    expect(flash).to_contain_text("dicetak ulang dengan segel baru")
    expect(flash).to_be_in_viewport()
    expect(page.locator("li.exc")).to_have_count(0)

    page.goto(f"{origin}/office/documents/{data['doc']['_id']}")
    expect(page.locator("li.entry-liability")).to_contain_text("Kurir mengganti biaya cetak")
    expect(page.locator(".summary")).to_contain_text("BP00000802")
