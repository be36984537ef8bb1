"""Every office page, the custody PDF and the residents' page speak one language at a time: Bahasa Indonesia
by default with no identifier or English word leaking through, and English after the footer's switch with
none of the Indonesian labels left. Real server, real Chromium, a seeded office day (tests/browser/
test_office_pages.py) plus a failed delivery with a damaged seal, a resident's complaint, a confirmed
drive-thru handover, a sync conflict, refused pushes and the van's week.

The pages opened, against the routes of server/office/routes.py, server/identity/routes.py and
server/residents/routes.py: every GET page (dashboard, documents and search, intake and the CSV import's
report, a timeline of each kind, the queue unfiltered and under each filter, a filter it does not know,
handovers and one handover, a conflict, visits, users with a refused form and an enrollment link, sign-in
signed in and out, enrollment, the courier's handover confirmation, the residents' page, a 404), the custody
PDF and the Berita Acara (an Indonesian paper in either language). Not opened: images (photos), JSON for the
app (`/auth/me`, `/office/handovers/waiting`), POST-only routes (their answers are the pages above), and the
CSV exports, whose column names and values are data for spreadsheets and other tools."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime, timedelta
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect
from pypdf import PdfReader

from records.principal import Principal
from records.schemas import SCHEMA_DIR, validate_record
from records.types import JSONDict
from server.identity.sessions import SESSION_COOKIE
from server.identity.store import IdentityStore
from server.office import intake
from server.office.handover import Courier, confirm_handover, create_handover
from server.office.ledger import OFFICE_TZ, Ledger, new_id
from server.settings import Settings, open_couch
from sync.refusals import write_refusals
from sync.validation import StoredState, check_record
from tests.browser.test_office_pages import _prepare, _signed_in, _worker_round, desk
from tests.support.identity import make_office, open_session
from tests.support.office import (
    document_fields,
    next_handoff,
    put_document,
    put_handoff_with_photo,
    seal_image,
    staff,
)
from tests.support.servers import ServerProcess
from tests.support.threads import run_async

__all__ = ["desk"]  # the desktop browser fixture, shared with the office pages' test

ANDI = Principal("gojek.andi", "courier", "6471", name="Andi", partner="gojek", device_id="hp-andi")

#: English a person must not meet on an Indonesian page: the raw words that used to reach them.
ENGLISH = (
    "damaged",
    "delivered",
    "picked_up",
    "courier",
    "office",
    "representative",
    "unsigned",
    "verified",
    "self_pickup",
    "undecided",
    "resolved",
    "pending",
    "resident",
    "intact",
    "sealed",
    "failed_attempt",
    "not_at_home",
    "seal_broken",
    "resident_page",
    "checked_ok",
    "Dashboard",
    "Saved",
    "Send again",
    "Sign in",
    "missing",
    "lost",
    "gps_far",
    "resident_confirmed",
    "pos_indonesia",
    "refused",
    "invalid",
    "not_assigned",
    "handover",
    "unknown",
    "confirmed",
)
#: Indonesian labels an English page must not show.
INDONESIAN = (
    "Dokumen",
    "Penerimaan",
    "Serah terima",
    "Pengecualian",
    "Segel rusak",
    "diserahkan",
    "kurir",
    "Diterima",
    "Pengiriman",
    "Riwayat",
    "Pengguna",
    "Mobil keliling",
    "Penduduk",
    "Tanda tangan",
    "Dasbor",
    "belum",
    "sudah",
    "tidak",
    "Berita acara",
    "ditolak",
    "Konfirmasi",
)
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
RECORD_ID = re.compile(
    r"\b(?:document|handoff|handover|complaint|photo|resolution|finding|seal):[0-9A-Za-z]{8,}"
)

#: The visible text, without what a link says (ids are fine as a link's words) or a literal the clerk must
#: type exactly (the CSV's column names, marked data-literal).
VISIBLE_WITHOUT_LINKS = """() => {
  const body = document.body.cloneNode(true);
  body.querySelectorAll('a, [data-literal]').forEach((e) => e.remove());
  document.body.append(body);  // innerText needs the layout: measure the copy, then take it away
  body.style.position = 'absolute';
  const text = body.innerText;
  body.remove();
  return text;
}"""


async def _more_of_the_day(settings: Settings) -> dict[str, Any]:
    """Beyond the office pages' day: a delivery that failed with the seal found damaged, a drive-thru
    handover confirmed from the courier's phone, a sync conflict, refused pushes from a phone, the van's
    week, and the office's own record (its name heads the Berita Acara)."""
    couch = open_couch(settings)
    try:
        # The office by its name (the test users made it as "Disdukcapil 6471").
        identity = IdentityStore(couch, settings)
        office = await identity.get_office("6471") or await make_office(couch, settings, "6471")
        await identity.db.put({**office, "name": "Disdukcapil Kota Balikpapan"})
        ledger = Ledger.of(couch, settings)
        doc = await put_document(ledger, name="Rina Wati", doc_kind="kk", delivery="self_pickup")
        await intake.assign(ledger, staff(), [str(doc["_id"])], "gojek.andi", "gojek", "B2")
        sealed = await intake.bind_seal(ledger, staff(), str(doc["_id"]), "BP00012399")
        pickup = next_handoff(sealed, "picked_up")
        await put_handoff_with_photo(ledger, pickup, seal_image(41))
        failed = next_handoff(pickup, "failed_attempt", seal_condition="damaged")
        await put_handoff_with_photo(ledger, failed, seal_image(42))
        visits = await _van_days(ledger)
        handover = await _drive_thru(ledger)
        conflicted = await _conflict(ledger)
        await _refused_pushes(ledger, pickup)
        await _worker_round(settings)
        return {
            "failed": doc,
            "handover": handover,
            "conflicted": conflicted,
            "andi_cookie": await open_session(couch, settings, "gojek.andi"),
            **visits,
        }
    finally:
        await couch.aclose()


async def _drive_thru(ledger: Ledger) -> JSONDict:
    """Two envelopes handed to Andi at the drive-thru, which he confirmed on his phone."""
    numbers = []
    for name, number in (("Agus Salim", "BP00012401"), ("Lina Marlina", "BP00012402")):
        doc = await put_document(ledger, name=name, doc_kind="kia")
        await intake.assign(ledger, staff(), [str(doc["_id"])], "gojek.andi", "gojek", "B3")
        await intake.bind_seal(ledger, staff(), str(doc["_id"]), number)
        numbers.append(number)
    handover = await create_handover(ledger, staff(), "6471", Courier("gojek.andi", "Andi", "gojek"), numbers)
    await confirm_handover(ledger, ANDI, handover)
    return handover


async def _conflict(ledger: Ledger) -> JSONDict:
    """A document whose delivery choice two devices changed without knowing of each other."""
    doc = await put_document(ledger, name="Fajar Nugroho")
    base = str(doc["_rev"]).split("-")[1]
    edits = []
    for suffix, choice in (("a", "self_pickup"), ("b", "courier")):
        edit = {**doc, "delivery": choice, "_rev": f"2-{suffix * 32}"}
        edit["_revisions"] = {"start": 2, "ids": [suffix * 32, base]}
        edits.append(edit)
    await ledger.records.bulk_docs(edits, new_edits=False)
    return doc


async def _refused_pushes(ledger: Ledger, theirs: JSONDict) -> None:
    """Sari's phone pushes a handoff of Andi's envelope: refused by the gateway's rules and stored as the
    gateway stores it (a tally of the hour, the refusal kept whole)."""
    record = next_handoff(theirs, "failed_attempt", author="grab.sari", failure_reason="not_at_home")
    sari = Principal("grab.sari", "courier", "6471", name="Sari", partner="grab", device_id="hp-sari")
    refusal = check_record(record, sari, stored=StoredState(), linked_document=None)
    assert refusal is not None
    await write_refusals(ledger.records, sari, [record], {0: refusal})


def _visit(example: str, device_time: str, **changes: object) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((SCHEMA_DIR / "examples" / "visit" / example).read_text())
    record.update(_id=f"visit:{new_id()}", device_time=device_time, created_at=device_time, **changes)
    assert validate_record(record) == []
    return record


async def _van_days(ledger: Ledger) -> dict[str, Any]:
    """The van's week: a resident whose fingerprints failed three days ago and who was recorded again today,
    and a recording made for an emergency although the applicant had a fever."""
    today = datetime.now(OFFICE_TZ).replace(hour=10, minute=0, second=0, microsecond=0)
    captures = {
        "fingerprints": {"status": "failed", "fingers_captured": 6, "reason": "Empat jari terluka."},
        "iris": {"status": "captured"},
        "face": {"status": "captured"},
        "signature": {"status": "captured"},
    }
    first = _visit("valid-revisit-needed.json", (today - timedelta(days=3)).isoformat(), captures=captures)
    again = _visit(
        "valid-recorded.json",
        today.isoformat(),
        resident_nik=first["resident_nik"],
        resident_name=first["resident_name"],
    )
    fever = _visit("valid-emergency-fever.json", (today + timedelta(minutes=20)).isoformat())
    for record in (first, again, fever):
        await ledger.records.put(record)
    return {"revisit": again, "fever": fever}


def _words(text: str, words: tuple[str, ...]) -> list[str]:
    return [w for w in words if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text, re.IGNORECASE)]


def _check_indonesian(where: str, text: str, linkless: str) -> None:
    assert not _words(text, ENGLISH), f"{where}: English words {_words(text, ENGLISH)} in\n{text}"
    assert not SNAKE.findall(linkless), f"{where}: raw identifiers {SNAKE.findall(linkless)} in\n{linkless}"
    ids = RECORD_ID.findall(linkless)
    assert not ids, f"{where}: record ids outside links {ids} in\n{linkless}"


def _check_english(where: str, text: str) -> None:
    assert not _words(text, INDONESIAN), f"{where}: Indonesian labels {_words(text, INDONESIAN)} in\n{text}"


def _page_texts(page: Page) -> tuple[str, str]:
    return page.inner_text("body"), str(page.evaluate(VISIBLE_WITHOUT_LINKS))


def _pdf_text(page: Page, origin: str, document_id: str) -> str:
    response = page.request.get(f"{origin}/office/exports/documents/{document_id}.pdf")
    assert response.ok and response.headers["content-type"].startswith("application/pdf")
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages)


def _handover_pdf_text(page: Page, origin: str, handover_id: str) -> str:
    response = page.request.get(f"{origin}/office/handovers/{handover_id}/report.pdf")
    assert response.ok and response.headers["content-type"].startswith("application/pdf")
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages)


def _other_pages(
    desk: BrowserContext, origin: str, data: dict[str, Any], enroll_url: str | None
) -> dict[str, tuple[str, str]]:
    """The pages office staff send other people to, each opened in its own browser profile in the desk's
    language (its lang cookie): the courier's handover confirmation, the sign-in page signed out, and the
    enrollment page of the courier just added."""
    language = next((c["value"] for c in desk.cookies() if c["name"] == "lang"), "id")
    assert desk.browser is not None
    texts: dict[str, tuple[str, str]] = {}
    wanted = {
        "sign-in, signed out": (None, "/auth/login"),
        "courier's handover confirmation": (
            data["andi_cookie"],
            f"/office/handovers/{data['handover']['_id']}/confirm",
        ),
    }
    if enroll_url:
        wanted["enrollment of a new courier"] = (None, enroll_url.removeprefix(origin))
    for name, (cookie, path) in wanted.items():
        context = desk.browser.new_context(viewport={"width": 360, "height": 640})
        context.add_cookies([{"name": "lang", "value": language, "url": origin}])
        if cookie:
            context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": origin}])
        other = context.new_page()
        other.goto(f"{origin}{path}")
        expect(other.locator("html")).to_have_attribute("lang", language)
        texts[name] = _page_texts(other)
        context.close()
    return texts


def test_office_pages_pdf_and_residents_page_in_indonesian_then_in_english(
    desk: BrowserContext, live_server: ServerProcess, settings: Settings
) -> None:
    data = run_async(_prepare, settings)
    data.update(run_async(_more_of_the_day, settings))
    origin = f"http://localhost:{live_server.port}"

    # The resident complains about a broken seal (a complaint for the queue and the timeline), in Indonesian.
    resident = desk.new_page()
    resident.goto(f"{origin}/r/{data['resident_link']}")
    resident.get_by_label("Masalahnya").select_option("seal_broken")
    resident.get_by_label("Ceritakan yang terjadi").fill("Segel sobek di pojok kanan waktu saya terima.")
    resident.get_by_role("button", name="Kirim pengaduan").click()
    expect(resident.get_by_role("status")).to_contain_text("Pengaduan Anda sudah kami terima")
    _check_indonesian("residents' page", *_page_texts(resident))
    resident.close()
    run_async(_worker_round, settings)

    page, origin = _signed_in(desk, live_server, data["cookie"])
    # The import report: one good row, one with a postal code too short.
    page.goto(f"{origin}/office/intake")
    good, bad = document_fields(name="Dewi Anggraini"), document_fields(name="Anak Baru", postal_code="761")
    csv = "\n".join([",".join(good), ",".join(good.values()), ",".join(bad.values())]) + "\n"
    page.locator("input[type=file][name=file]").set_input_files(
        {"name": "cetak.csv", "mimeType": "text/csv", "buffer": csv.encode()}
    )
    page.get_by_role("button", name="Impor").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hasil impor CSV")
    expect(page.locator("table")).to_contain_text("Kode pos: ")
    _check_indonesian("import report", *_page_texts(page))

    pages = {
        "dashboard": "/office",
        "documents": "/office/documents",
        "search": "/office/documents?q=Rina",
        "intake": "/office/intake",
        "handovers": "/office/handovers",
        "exceptions": "/office/exceptions",
        "visits": "/office/visits",
        "users": "/auth/office/users",
        "sign-in (signed in)": "/auth/login",
        "timeline, delivered": f"/office/documents/{data['delivered']['_id']}",
        "timeline, seal mismatch": f"/office/documents/{data['mismatch']['document_id']}",
        "timeline, failed with a damaged seal": f"/office/documents/{data['failed']['_id']}",
        "exceptions of one kind": "/office/exceptions?kind=seal_damaged",
        "exceptions of one courier": "/office/exceptions?courier=gojek.andi",
        "exceptions of a partner, today": "/office/exceptions?partner=grab&age=today",
        "refused pushes": "/office/exceptions?kind=refused",
        "exceptions, a filter it does not know": "/office/exceptions?kind=no_such_kind",
        "handover with its Berita Acara": f"/office/handovers/{data['handover']['_id']}",
        "sync conflict": f"/office/conflicts/{data['conflicted']['_id']}",
        "a document that does not exist": "/office/documents/document:01M8VP3TR35SXQKX4BA1F6K2ZZ",
    }
    for name, path in pages.items():
        page.goto(f"{origin}{path}")
        expect(page.locator("html")).to_have_attribute("lang", "id")
        _check_indonesian(name, *_page_texts(page))
    # The van's day in full: the revisit and the emergency, read in words.
    page.goto(f"{origin}/office/visits")
    expect(page.locator(f"tr[data-visit='{data['revisit']['_id']}'] [data-role='revisit']")).to_contain_text(
        "Direkam lagi"
    )
    expect(page.locator(f"tr[data-visit='{data['fever']['_id']}'] [data-role='health']")).to_contain_text(
        "Suhu pemohon: 37,8 °C"
    )
    # Adding a courier: a refused form, then the new courier's enrollment link.
    page.goto(f"{origin}/auth/office/users")
    courier_form = page.locator("#add-courier form")
    courier_form.get_by_label("Nama").fill("Rudi Hartono")
    courier_form.get_by_label("Mitra").select_option("pos_indonesia")
    courier_form.get_by_label("Nomor HP").fill("0812")
    courier_form.get_by_role("button", name="Tambah kurir").click()
    expect(page.locator("[data-problem='phone']")).to_contain_text("Nomor HP Indonesia ditulis 08")
    _check_indonesian("users, a refused form", *_page_texts(page))
    page.locator("#add-courier form").get_by_label("Nomor HP").fill("081254781299")
    page.locator("#add-courier form").get_by_role("button", name="Tambah kurir").click()
    expect(page.locator("#added")).to_contain_text("Rudi Hartono ditambahkan (Kurir · Pos Indonesia)")
    _check_indonesian("enrollment link of a new courier", *_page_texts(page))
    enroll_url = page.locator("#enroll-url").input_value()
    # What the old lines said with ids, now in words with the courier's name.
    page.goto(f"{origin}/office/exceptions")
    damaged = page.locator("li[data-kind='seal_damaged']")
    expect(damaged).to_contain_text("Segel rusak saat gagal antar oleh Andi Saputra.")
    expect(page.locator("li[data-kind='complaint']").first).to_contain_text("Segel rusak atau terbuka")
    page.goto(f"{origin}/office/documents/{data['failed']['_id']}")
    expect(page.locator("li.event[data-kind='failed_attempt']")).to_contain_text("Tidak di rumah")
    expect(page.locator(".summary")).to_contain_text("Pengiriman: Ambil sendiri di kantor")
    for document in (data["delivered"], data["failed"]):
        pdf = _pdf_text(page, origin, str(document["_id"]))
        assert "Rantai: utuh" in pdf
        _check_indonesian("custody PDF", pdf, RECORD_ID.sub("", pdf))
    report = _handover_pdf_text(page, origin, str(data["handover"]["_id"]))
    assert "Disdukcapil Kota Balikpapan" in report and "Andi" in report and "Budi Santoso" in report
    assert "Disdukcapil 6471" not in report and "gojek.andi" not in report
    _check_indonesian("Berita Acara PDF", report, RECORD_ID.sub("", report))
    # The pages of the other people: the courier's confirmation, signing in, and a new courier's enrollment.
    others = _other_pages(desk, origin, data, enroll_url)
    for name, (text, linkless) in others.items():
        _check_indonesian(name, text, linkless)

    # The switch in the footer: the same page in English, and the choice is kept (the lang cookie).
    page.goto(f"{origin}/office")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Office 6471 dashboard")
    for name, path in pages.items():
        page.goto(f"{origin}{path}")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        _check_english(name, page.inner_text("body"))
    page.goto(f"{origin}/office/exceptions")
    expect(page.locator("li[data-kind='seal_damaged']")).to_contain_text(
        "Seal damaged when delivery failed by Andi Saputra."
    )
    page.goto(f"{origin}/office/visits")
    expect(page.locator(f"tr[data-visit='{data['fever']['_id']}'] [data-role='health']")).to_contain_text(
        "Applicant temperature: 37.8 °C"
    )
    page.goto(f"{origin}/auth/office/users")
    van_form = page.locator("#add-van-operator form")
    van_form.get_by_label("Name").fill("Nur Aini")
    van_form.get_by_label("Van").fill("van-balikpapan-2")
    van_form.get_by_label("Phone number").fill("0812")
    van_form.get_by_role("button", name="Add the operator").click()
    expect(page.locator("[data-problem='phone']")).to_contain_text("An Indonesian mobile number is written")
    _check_english("users, a refused form", page.inner_text("body"))
    page.locator("#add-van-operator form").get_by_label("Phone number").fill("081254780001")
    page.locator("#add-van-operator form").get_by_role("button", name="Add the operator").click()
    expect(page.locator("#added")).to_contain_text("Nur Aini added")
    _check_english("enrollment link of a new van operator", page.inner_text("body"))
    pdf = _pdf_text(page, origin, str(data["delivered"]["_id"]))
    assert "Chain: intact" in pdf and "DOCUMENT CUSTODY RECORD" in pdf
    _check_english("custody PDF", pdf)
    # The Berita Acara is an official paper that leaves the office with the courier: Indonesian in any case.
    assert _handover_pdf_text(page, origin, str(data["handover"]["_id"])) == report
    for name, (text, _linkless) in _other_pages(desk, origin, data, enroll_url).items():
        _check_english(name, text)
    page.goto(f"{origin}/r/{data['resident_link']}")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    _check_english("residents' page", page.inner_text("body"))

    # And back: Indonesian again, cookie and all.
    page.get_by_role("link", name="Bahasa Indonesia").click()
    expect(page.locator("html")).to_have_attribute("lang", "id")
    page.goto(f"{origin}/office/intake")
    expect(page.get_by_role("heading", level=1)).to_have_text("Penerimaan dokumen")
