"""The field PWA with no network: a courier's pickup and delivery with scanned seals and photos, and a van
visit, all done offline after one online visit, with the records checked against the real schemas."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import qrcode
from PIL import Image
from playwright.sync_api import BrowserContext, Page, expect

from records.custody import record_hash
from records.schemas import validate_record
from tests.support.office import next_handoff
from tests.support.records import COURIER, RECEIPT_KEY, VAN_OPERATOR, document_records, stop_record
from tests.support.servers import ServerProcess


def qr_png(text: str, path: Path) -> Path:
    qrcode.make(text, box_size=8, border=4).save(path)
    return path


def seal_photo(path: Path) -> Path:
    """A large camera-like JPEG (4000x3000) so compression has work to do."""
    image = Image.new("RGB", (4000, 3000), (180, 140, 90))
    for x in range(0, 4000, 50):
        for y in range(0, 3000, 600):
            image.putpixel((x, y), (x % 255, y % 255, 30))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    path.write_bytes(buffer.getvalue())
    return path


def open_app_and_go_offline(
    page: Page, context: BrowserContext, server: ServerProcess, docs: list[dict[str, Any]], me: dict[str, Any]
) -> None:
    """Load the app once online (service worker installed, data seeded), then cut the network and reload."""
    page.goto(f"http://localhost:{server.port}/app")
    page.wait_for_function("() => navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_selector("#app[data-ready='true']")
    page.evaluate("([docs, me]) => window.segelData.loadPulled(docs, me)", [docs, me])
    if me["role"] == "courier":  # the scanner's wasm is fetched while there is signal
        page.wait_for_function("() => document.documentElement.dataset.scanner !== undefined", timeout=20000)
    context.set_offline(True)
    page.reload()
    page.wait_for_selector("#app[data-ready='true']")
    expect(page.locator("[data-role='connectivity']")).to_have_text("Luring (tanpa sinyal)")


def local_docs(page: Page, prefix: str) -> list[dict[str, Any]]:
    return list(page.evaluate("(prefix) => window.segelData.localDocs(prefix)", prefix))


def test_courier_picks_up_and_delivers_offline(
    page: Page, context: BrowserContext, live_server: ServerProcess, tmp_path: Path
) -> None:
    docs = [
        *document_records("A0001", "Siti Rahmawati", "6471054506900012", "BP00012001"),
        *document_records("A0002", "Budi Hartono", "6471021203850007", "BP00012002"),
    ]
    open_app_and_go_offline(page, context, live_server, docs, COURIER)

    # My documents: masked NIK only, and a map link.
    first = page.locator("[data-doc='document:01JDTESTA0001']")
    expect(first.locator("[data-role='nik']")).to_have_text("NIK 647105********12")
    assert "6471054506900012" not in page.content()

    page.get_by_role("link", name="Ambil 2 dokumen di kantor").click()
    rows = page.locator("li[data-doc]")
    expect(rows).to_have_count(2)
    row1 = page.locator("li[data-doc='document:01JDTESTA0001']")
    row1.locator("[data-role='seal-image']").set_input_files(qr_png("BP00012001", tmp_path / "seal1.png"))
    expect(row1.locator("[data-role='seal-verdict']")).to_have_text("Cocok: BP00012001", timeout=20000)
    row1.locator("[data-role='seal-photo']").set_input_files(seal_photo(tmp_path / "photo1.jpg"))
    expect(row1.locator("[data-role='photo-status']")).to_contain_text("1 foto siap", timeout=20000)
    row2 = page.locator("li[data-doc='document:01JDTESTA0002']")
    row2.locator("[data-role='seal-number']").fill("BP00099999")  # typed, and wrong: shown loudly
    expect(row2.locator("[data-role='seal-verdict']")).to_contain_text("TIDAK COCOK")
    page.get_by_label("Sertakan lokasi GPS").uncheck()
    page.get_by_role("button", name="Konfirmasi pengambilan").click()
    expect(page.locator("[data-role='flash']")).to_have_text("2 dokumen dicatat sudah diambil.")

    # Deliver the first one to the resident with the receipt code.
    page.locator("a[data-doc='document:01JDTESTA0001']").click()
    page.get_by_role("link", name="Serahkan ke penerima").click()
    page.locator("[data-role='seal-image']").set_input_files(qr_png("BP00012001", tmp_path / "seal1b.png"))
    expect(page.locator("[data-role='seal-verdict']")).to_have_text("Cocok: BP00012001", timeout=20000)
    page.locator("[data-role='seal-photo']").set_input_files(seal_photo(tmp_path / "photo2.jpg"))
    expect(page.locator("[data-role='photo-status']")).to_contain_text("1 foto siap", timeout=20000)
    page.get_by_label("Kode penerimaan").fill("k7m4qx")
    page.get_by_label("Sertakan lokasi GPS").uncheck()
    page.get_by_role("button", name="Simpan penyerahan").click()
    expect(page.locator("[data-role='flash']")).to_contain_text("tersimpan")
    expect(page.locator("ol.timeline li")).to_have_count(3)

    handoffs = {h["_id"]: h for h in local_docs(page, "handoff:")}
    mine = sorted((h for h in handoffs.values() if h["author"] == COURIER["user_id"]), key=lambda h: h["seq"])
    assert [h["kind"] for h in mine] == ["picked_up", "picked_up", "delivered"]
    for handoff in mine:
        assert validate_record(handoff) == []
        assert handoff["unsigned_reason"]  # no passkey on this test phone: kept, not blocked
    pickup1 = next(
        h for h in mine if h["document_id"] == "document:01JDTESTA0001" and h["kind"] == "picked_up"
    )
    pickup2 = next(h for h in mine if h["document_id"] == "document:01JDTESTA0002")
    delivered = mine[-1]
    assert pickup1["prev_hash"] == record_hash(handoffs["handoff:01JDSEALA0001"])
    assert delivered["prev_hash"] == record_hash(pickup1)
    assert pickup2["seal_number_scanned"] == "BP00099999" and pickup2["seal_match"] is False
    # The code is kept only sealed to the server's key (opened here as the server would), never in clear.
    assert "receipt_code" not in delivered and delivered["seal_match"] is True
    assert RECEIPT_KEY.open(delivered["receipt_proof"], "document:01JDTESTA0001") == "K7M4QX"
    assert RECEIPT_KEY.open(delivered["receipt_proof"], "document:01JDTESTA0002") is None

    photos = local_docs(page, "photo:")
    assert {p["handoff_id"] for p in photos} == {pickup1["_id"], delivered["_id"]}
    for photo in photos:
        assert validate_record({k: v for k, v in photo.items() if k != "_digest_sha256"}) == []
        assert photo["size"] <= 200 * 1024 and max(photo["width"], photo["height"]) <= 1600
        assert photo["sha256"] == photo["_digest_sha256"]  # computed again from the stored bytes
    expect(page.locator("[data-role='pending-records']")).to_have_text("3 catatan menunggu")
    expect(page.locator("[data-role='pending-photos']")).to_have_text("2 foto menunggu")


def test_van_visit_offline_checks_nik_and_health_protocol(
    page: Page, context: BrowserContext, live_server: ServerProcess
) -> None:
    open_app_and_go_offline(page, context, live_server, [], VAN_OPERATOR)
    date = page.evaluate(
        "() => { const d = new Date(); return d.getFullYear() + '-' + "
        "String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0'); }"
    )
    page.evaluate("(docs) => window.segelData.loadPulled(docs)", [stop_record(date)])
    page.reload()
    expect(page.locator("h1")).to_have_text("Jadwal hari ini")
    page.get_by_role("link", name="Catat perekaman", exact=True).click()

    nik = page.get_by_label("NIK", exact=True)
    nik.fill("6471053002900012")  # 30 February does not exist
    expect(page.locator("[data-role='nik-status']")).to_have_text("Tanggal lahir 30-02-90 tidak ada.")
    nik.fill("6471054506900012")  # a woman born 5 June 1990
    expect(page.locator("[data-role='nik-status']")).to_contain_text("lahir 05-06-90 · perempuan")
    page.get_by_label("Nama warga").fill("Siti Rahmawati")
    page.get_by_label("Suhu petugas (°C)").fill("36.5")
    page.get_by_label("Suhu pemohon (°C)").fill("38.1")  # fever: recording suspended
    page.get_by_label("Alat sudah didisinfeksi").check()
    page.get_by_label("Sarung tangan dan masker dipakai").check()
    page.get_by_label("Hand sanitizer dipakai").check()
    expect(page.get_by_text("Perekaman ditangguhkan")).to_be_visible()
    page.locator("[data-role='capture-iris']").select_option("failed")
    page.locator("[data-role='capture-iris-reason']").fill("katarak pada kedua mata")
    page.get_by_label("Nomor seri alat perekam").fill("BIO-KIT-BPN-0021")

    page.get_by_role("button", name="Simpan perekaman").click()  # no emergency reason yet: refused, kept
    expect(page.locator(".errors")).to_contain_text("Alasan darurat wajib diisi.")
    page.get_by_label("Alasan darurat (wajib jika tetap merekam)").fill(
        "Pemohon dirawat inap dan perlu KTP-el untuk BPJS hari ini"
    )
    page.get_by_role("button", name="Simpan perekaman").click()
    expect(page.locator("[data-role='flash']")).to_have_text("Perekaman Siti Rahmawati tersimpan.")

    visits = local_docs(page, "visit:")
    assert len(visits) == 1
    visit = visits[0]
    assert validate_record(visit) == []
    assert visit["stop_id"] == stop_record(date)["_id"] and visit["van"] == "van-balikpapan-1"
    assert visit["captures"]["iris"] == {"status": "failed", "reason": "katarak pada kedua mata"}
    assert visit["health"]["applicant_temperature_c"] == 38.1


def test_van_temperatures_take_a_comma_and_refuse_what_no_body_has(
    page: Page, context: BrowserContext, live_server: ServerProcess
) -> None:
    """Indonesian keyboards type "36,5": it is 36.5 degrees, not 365; "365" itself is refused, visibly."""
    open_app_and_go_offline(page, context, live_server, [], VAN_OPERATOR)
    page.goto(f"http://localhost:{live_server.port}/app#/visit")
    page.wait_for_selector("[data-role='operator-temp']")
    page.get_by_label("NIK", exact=True).fill("6471054506900012")
    page.get_by_label("Nama warga").fill("Siti Rahmawati")
    page.get_by_label("Suhu petugas (°C)").fill("36,5")
    page.get_by_label("Suhu pemohon (°C)").fill("365")
    for check in ("Alat sudah didisinfeksi", "Sarung tangan dan masker dipakai", "Hand sanitizer dipakai"):
        page.get_by_label(check).check()
    page.get_by_label("Nomor seri alat perekam").fill("BIO-KIT-BPN-0021")
    page.get_by_role("button", name="Simpan perekaman").click()
    refusal = page.locator("[data-role='temp-invalid']")
    expect(refusal).to_contain_text('Suhu pemohon (°C): "365" bukan suhu tubuh')
    expect(page.get_by_label("Suhu pemohon (°C)")).to_be_focused()
    assert local_docs(page, "visit:") == []  # nothing saved

    page.get_by_label("Suhu pemohon (°C)").fill("36,8")
    page.get_by_role("button", name="Simpan perekaman").click()
    expect(page.locator("[data-role='flash']")).to_have_text("Perekaman Siti Rahmawati tersimpan.")
    [visit] = local_docs(page, "visit:")
    assert validate_record(visit) == []
    assert visit["health"]["operator_temperature_c"] == 36.5
    assert visit["health"]["applicant_temperature_c"] == 36.8


@pytest.mark.parametrize("lang", ["en"])
def test_language_switch_keeps_working_offline(
    page: Page, context: BrowserContext, live_server: ServerProcess, lang: str
) -> None:
    open_app_and_go_offline(
        page,
        context,
        live_server,
        document_records("A0003", "Dewi Lestari", "6471054506900012", "BP00012003"),
        COURIER,
    )
    page.locator("[data-role='lang']").click()
    expect(page.locator("h1")).to_have_text("My documents")
    expect(page.locator("[data-role='connectivity']")).to_have_text("Offline (no signal)")
    page.reload()
    expect(page.locator("h1")).to_have_text("My documents")


def test_failed_attempt_return_and_lost_offline(
    page: Page, context: BrowserContext, live_server: ServerProcess
) -> None:
    docs = [
        *document_records("F0001", "Rina Handayani", "6471054506900012", "BP00012101"),
        *document_records("F0002", "Joko Santoso", "6471021203850007", "BP00012102"),
        *document_records("F0003", "Ayu Lestari", "6471015507950003", "BP00012103"),
    ]
    open_app_and_go_offline(page, context, live_server, docs, COURIER)
    page.get_by_role("link", name="Ambil 3 dokumen di kantor").click()
    for suffix, seal in (("F0001", "BP00012101"), ("F0002", "BP00012102"), ("F0003", "BP00012103")):
        page.locator(f"li[data-doc='document:01JDTEST{suffix}'] [data-role='seal-number']").fill(seal)
    page.get_by_label("Tempat pengambilan").select_option("drive_thru")
    page.get_by_label("Sertakan lokasi GPS").uncheck()
    page.get_by_role("button", name="Konfirmasi pengambilan").click()
    expect(page.locator("[data-role='flash']")).to_have_text("3 dokumen dicatat sudah diambil.")

    # Received by the resident's mother, without the receipt code.
    page.goto(page.url.split("#")[0] + "#/handoff/delivered/document:01JDTESTF0003")
    page.locator("[data-role='seal-number']").fill("BP00012103")
    page.get_by_label("Diterima oleh").select_option("representative")
    expect(page.get_by_label("Kode penerimaan")).to_be_hidden()
    page.get_by_label("Sertakan lokasi GPS").uncheck()
    page.get_by_role("button", name="Simpan penyerahan").click()  # no name yet: refused with the reason
    expect(page.locator(".errors")).to_contain_text("Nama perwakilan")
    page.get_by_label("Nama perwakilan").fill("Sri Wahyuni")
    page.get_by_label("Hubungan dengan pemilik").fill("orang tua")
    page.get_by_role("button", name="Simpan penyerahan").click()
    expect(page.locator("[data-status='delivered']").first).to_be_visible()

    # Nobody at home, so the envelope goes back to the office.
    page.get_by_role("link", name="Kembali").click()
    page.locator("a[data-doc='document:01JDTESTF0001']").click()
    page.get_by_role("link", name="Gagal antar").click()
    page.locator("[data-role='seal-number']").fill("BP00012101")
    page.get_by_label("Alasan", exact=True).select_option("address_not_found")
    page.get_by_label("Sertakan lokasi GPS").uncheck()
    page.get_by_role("button", name="Simpan gagal antar").click()
    expect(page.locator("[data-role='flash']")).to_contain_text("Gagal antar tersimpan")
    page.get_by_role("link", name="Kembalikan ke kantor").click()
    page.locator("[data-role='seal-number']").fill("BP00012101")
    page.get_by_label("Sertakan lokasi GPS").uncheck()
    page.get_by_role("button", name="Simpan pengembalian").click()
    expect(page.locator("[data-status='returned']").first).to_be_visible()

    # The other envelope is lost: a chronology is required, no seal can be scanned.
    page.goto(page.url.split("#")[0] + "#/handoff/lost/document:01JDTESTF0002")
    page.get_by_label("Sertakan lokasi GPS").uncheck()
    page.get_by_role("button", name="Laporkan hilang").click()
    expect(page.locator(".errors")).to_have_text("Tulis kronologi singkat kejadian.")
    page.get_by_label("Kronologi (wajib)").fill("Tas jatuh di Jl. Soekarno-Hatta km 8 saat hujan")
    page.get_by_role("button", name="Laporkan hilang").click()
    expect(page.locator("[data-status='lost']").first).to_be_visible()

    handoffs = [h for h in local_docs(page, "handoff:") if h["author"] == COURIER["user_id"]]
    by_kind = {h["kind"]: h for h in handoffs}
    assert sorted(by_kind) == ["delivered", "failed_attempt", "lost", "picked_up", "returned"]
    assert by_kind["delivered"]["representative"] == {"name": "Sri Wahyuni", "relation": "orang tua"}
    assert by_kind["delivered"]["to"] == {"party": "representative", "name": "Sri Wahyuni"}
    assert by_kind["failed_attempt"]["failure_reason"] == "address_not_found"
    assert by_kind["returned"]["to"] == {"party": "office", "id": "6471"}
    assert by_kind["returned"]["prev_hash"] == record_hash(by_kind["failed_attempt"])
    lost = by_kind["lost"]
    assert lost["seal_number_scanned"] is None and lost["seal_match"] is False
    assert lost["seal_condition"] == "missing" and lost["note"].startswith("Tas jatuh")
    assert [h["seq"] for h in sorted(handoffs, key=lambda h: h["seq"])] == [1, 2, 3, 4, 5, 6, 7]
    for handoff in handoffs:
        assert validate_record(handoff) == []


def test_storage_is_persisted_and_a_nearly_full_quota_is_shown(
    page: Page, live_server: ServerProcess
) -> None:
    page.add_init_script(
        """(() => {
            window.__persistAsked = 0;
            navigator.storage.persist = async () => { window.__persistAsked += 1; return true; };
            navigator.storage.persisted = async () => window.__persistAsked > 0;
            navigator.storage.estimate = async () => ({usage: 930 * 1024 * 1024, quota: 1024 * 1024 * 1024});
        })()"""
    )
    page.goto(f"http://localhost:{live_server.port}/app")
    page.wait_for_selector("#app[data-ready='true']")
    expect(page.locator("[data-role='storage']")).to_have_text(
        "Penyimpanan hampir penuh: 930.0 MB dari 1.0 GB!"
    )
    assert page.evaluate("window.__persistAsked") >= 1


def test_online_but_the_server_unreachable_is_said_so(
    page: Page, context: BrowserContext, live_server: ServerProcess
) -> None:
    """Wi-Fi without internet, or a cell with no data: the phone reports "online" but nothing gets through.
    The sync bar says the server is not reachable yet (not a plain "Online"), and recovers by itself."""
    page.goto(f"http://localhost:{live_server.port}/app")
    page.wait_for_function("() => navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_selector("#app[data-ready='true']")
    page.evaluate(
        "([docs, me]) => window.segelData.loadPulled(docs, me)",
        [document_records("A0009", "Rudi Hartono", "6471050101900003", "BP00012009"), COURIER],
    )
    page.route("**/auth/me", lambda route: route.abort("internetdisconnected"))
    page.reload()
    page.wait_for_selector("#app[data-ready='true']")
    connectivity = page.locator("[data-role='connectivity']")
    expect(connectivity).to_have_text("Server belum terjangkau; data aman di ponsel dan dikirim otomatis")
    dot = page.locator("[data-role='sync-dot']")
    expect(dot).to_have_class("dot off")  # no green dot beside "not reachable"
    assert page.evaluate("navigator.onLine") is True
    page.unroute("**/auth/me")
    expect(connectivity).to_have_text("Daring", timeout=15000)
    expect(dot).to_have_class("dot on")


def test_the_courier_history_is_in_time_order_whatever_offset_each_phone_wrote(
    page: Page, context: BrowserContext, live_server: ServerProcess
) -> None:
    """Sealed at 08.00 WITA (00.00 UTC), picked up by a phone on UTC at 00.30Z: as text "T00:30Z" sorts
    before "T08:00+08:00", as time it comes after."""
    records = document_records("A0031", "Rina Kartika", "6471050101900031", "BP00012031")
    pickup = next_handoff(records[2], "picked_up", device_time="2026-11-23T00:30:00Z")
    open_app_and_go_offline(page, context, live_server, [*records, pickup], COURIER)
    page.goto(f"http://localhost:{live_server.port}/app#/doc/{records[0]['_id']}")
    history = page.locator("ol.timeline li[data-handoff]")
    expect(history).to_have_count(2)
    assert [history.nth(i).get_attribute("data-handoff") for i in range(2)] == [
        records[2]["_id"],
        pickup["_id"],
    ]
    times = page.locator("ol.timeline time")
    shown = [times.nth(i).inner_text() for i in range(2)]
    assert all("2026" in text for text in shown), shown  # one format, with the year, for every phone's time
