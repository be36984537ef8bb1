"""Office pages over HTTP with real sessions: roles, CSRF, and office A seeing nothing of office B."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from starlette.testclient import TestClient

from server.local_time import local_time
from server.office import intake
from server.office.ledger import Ledger, key, new_id, now_iso
from server.office.notifications import deliver_pending
from server.office.senders import LogFileSender
from server.residents.links import issue_link
from server.settings import Settings
from store.couch import CouchClient
from tests.support.identity import make_office, make_user, open_session, sign_in
from tests.support.office import (
    NIKS,
    document_fields,
    next_handoff,
    put_handoff_with_photo,
    seal_image,
    staff,
)

pytestmark = pytest.mark.anyio


def report_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


async def people(couch: CouchClient, settings: Settings) -> None:
    await make_office(couch, settings, "6471", "Disdukcapil Kota Balikpapan")
    await make_office(couch, settings, "3273", "Disdukcapil Kota Bandung")
    await make_user(couch, settings, "budi.santoso", "staff", office="6471", name="Budi Santoso")
    await make_user(couch, settings, "rina.bandung", "staff", office="3273", name="Rina")
    await make_user(couch, settings, "gojek.andi", "courier", office="6471", partner="gojek", name="Andi")
    await make_user(couch, settings, "grab.sari", "courier", office="6471", partner="grab", name="Sari")
    await make_user(couch, settings, "van.nur", "van_operator", office="6471")


async def as_user(client: TestClient, couch: CouchClient, settings: Settings, user_id: str) -> TestClient:
    client.cookies.clear()
    return sign_in(client, settings, await open_session(couch, settings, user_id))


def register(client: TestClient, **overrides: str) -> str:
    token = csrf_of(client.get("/office/intake").text)
    response = client.post(
        "/office/intake/document",
        data={"csrf": token, **document_fields(**overrides)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return str(response.headers["location"]).removeprefix("/office/documents/")


def seal(client: TestClient, document_id: str, number: str) -> None:
    token = csrf_of(client.get("/office/intake").text)
    response = client.post(
        "/office/intake/seal",
        data={"csrf": token, "document_id": document_id, "seal_number": number},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


OFFICE_PAGES = ("/office", "/office/intake", "/office/exceptions", "/office/handovers", "/office/visits")


async def test_anonymous_couriers_and_van_operators_cannot_open_office_pages(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    for path in OFFICE_PAGES:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path  # signed out: to the login page, which comes back here
        assert response.headers["location"] == f"/auth/login?next={path}"
    for user in ("gojek.andi", "van.nur"):
        await as_user(client, couch, settings, user)
        for path in OFFICE_PAGES:
            response = client.get(path)
            assert response.status_code == 403, path
            assert "Peran Anda tidak diizinkan" in response.text


async def test_staff_registers_a_document_and_the_resident_is_notified(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    await as_user(client, couch, settings, "budi.santoso")
    document_id = register(client, name="Siti Aminah")

    page = client.get(f"/office/documents/{document_id}")
    assert page.status_code == 200 and "Siti Aminah" in page.text
    ledger = Ledger.of(couch, settings)
    # The page only queues the message; `segel worker` sends it (here one round of its outbox step).
    assert not (settings.data_dir / "outbox.log").exists()
    assert await deliver_pending(ledger, LogFileSender(settings.data_dir)) == 1
    outbox = await ledger.office.view(
        "office", "outbox", startkey=key(["sent"]), endkey=key(["sent", {}]), include_docs=True
    )
    [message] = [row["doc"] for row in outbox["rows"]]
    assert message["document_id"] == document_id and message["kind"] == "document_ready"
    assert f"{settings.origin}/r/" in message["text"]
    sent = (settings.data_dir / "outbox.log").read_text()  # the default sender, no SMS gateway configured
    assert message["text"] in sent


async def test_invalid_form_shows_the_reasons_and_writes_nothing(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    await as_user(client, couch, settings, "budi.santoso")
    token = csrf_of(client.get("/office/intake").text)
    response = client.post("/office/intake/document", data={"csrf": token, **document_fields(nik="12345")})
    assert response.status_code == 400
    assert "Dokumen belum disimpan" in response.text and "resident.nik" in response.text
    # The field once, by its label, and the reason in the page's language (not "resident.nik: resident.nik:").
    assert "<strong>NIK</strong>: NIK harus 16 angka (ini 5)" in response.text
    assert "resident.nik: " not in response.text
    rows = await Ledger.of(couch, settings).records.view("reports", "documents", reduce=False)
    assert rows["rows"] == []


async def test_a_form_without_its_csrf_token_is_refused(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    await as_user(client, couch, settings, "budi.santoso")
    response = client.post("/office/intake/document", data=document_fields())
    assert response.status_code == 403
    assert "Formulir kedaluwarsa" in response.text


async def test_staff_of_another_office_see_nothing_of_office_a(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    await as_user(client, couch, settings, "budi.santoso")
    document_id = register(client, name="Siti Aminah")
    seal(client, document_id, "BP00012345")
    ledger = Ledger.of(couch, settings)
    await intake.assign(ledger, staff(), [document_id], "gojek.andi", "gojek", None)
    sealed = next(
        e
        for e in (
            await ledger.records.view(
                "reports",
                "by_document",
                startkey=key([document_id, 1]),
                endkey=key([document_id, 1, {}]),
                include_docs=True,
            )
        )["rows"]
        if e["doc"]["type"] == "handoff"
    )["doc"]
    pickup = next_handoff(sealed, "picked_up", seal_condition="damaged")
    photo = await put_handoff_with_photo(ledger, pickup, seal_image(1))
    token = csrf_of(client.get("/office/handovers").text)
    handover = client.post(
        "/office/handovers/new",
        data={"csrf": token, "courier": "gojek.andi", "partner": "gojek", "seals": "BP00012345"},
        follow_redirects=False,
    )
    handover_path = handover.headers["location"]
    assert client.get(f"/office/photos/{photo['_id']}").content == seal_image(1)

    await as_user(client, couch, settings, "rina.bandung")
    # Another office's record answers exactly like one that does not exist: no page tells it exists.
    missing_id = f"{document_id[:-4]}ZZZZ"
    for path, missing in (
        (f"/office/documents/{document_id}", f"/office/documents/{missing_id}"),
        (f"/office/photos/{photo['_id']}", f"/office/photos/{str(photo['_id'])[:-4]}ZZZZ"),
        (f"/office/conflicts/{document_id}", f"/office/conflicts/{missing_id}"),
        (f"/office/exports/documents/{document_id}.pdf", f"/office/exports/documents/{missing_id}.pdf"),
        (handover_path, f"{handover_path[:-4]}ZZZZ"),
        (f"{handover_path}/report.pdf", f"{handover_path[:-4]}ZZZZ/report.pdf"),
    ):
        hidden, absent = client.get(path), client.get(missing)
        assert hidden.status_code == absent.status_code == 404, path
        assert hidden.text.replace(path, "") == absent.text.replace(missing, ""), path
        assert "Siti Aminah" not in hidden.text and "BP00012345" not in hidden.text
    for path in (
        "/office?office=6471",
        "/office/intake?office=6471",
        "/office/exceptions?office=6471",
        "/office/handovers?office=6471",
        "/office/visits?office=6471",
        "/office/exports/daily.csv?office=6471",
        f"{handover_path}/confirm",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Siti Aminah" not in response.text and "BP00012345" not in response.text
    token = csrf_of(client.get("/office/intake").text)
    for path, data in (
        (f"/office/documents/{document_id}/lost", {"note": "hilang di jalan"}),
        (f"/office/documents/{document_id}/reprint", {"seal_number": "BP00099999"}),
        ("/office/intake/seal", {"document_id": document_id, "seal_number": "BD00000001"}),
        (
            "/office/exceptions/resolve?office=6471",
            {
                "kind": "seal_damaged",
                "subject": pickup["_id"],
                "action": "checked_ok",
                "note": "bukan urusan",
            },
        ),
    ):
        response = client.post(path, data={"csrf": token, **data})
        assert response.status_code in (400, 403, 404), path
    response = client.post(
        "/office/exceptions/resolve",
        data={
            "csrf": token,
            "kind": "seal_damaged",
            "subject": pickup["_id"],
            "action": "checked_ok",
            "note": "tutup",
        },
    )
    assert response.status_code == 400
    for path in OFFICE_PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Siti Aminah" not in response.text and document_id not in response.text
        assert str(pickup["_id"]) not in response.text
    assert await ledger.office.get_or_none(f"resolution:seal_damaged:{pickup['_id']}") is None
    assert await ledger.records.get_or_none("seal:3273:BD00000001") is None


async def test_drive_thru_handover_is_confirmed_by_the_courier_and_printed(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    await as_user(client, couch, settings, "budi.santoso")
    first = register(client, name="Siti Aminah")
    second = register(client, name="Yusuf Hidayat", doc_kind="kk")
    seal(client, first, "BP00000101")
    seal(client, second, "BP00000102")
    token = csrf_of(client.get("/office/handovers").text)
    unassigned = client.post(
        "/office/handovers/new",
        data={"csrf": token, "courier": "gojek.andi", "partner": "gojek", "seals": "BP00000101"},
    )
    assert unassigned.status_code == 400 and "belum ditugaskan" in unassigned.text
    assigned = client.post(
        "/office/intake/assign",
        data={"csrf": token, "document_id": [first, second], "courier": "gojek.andi", "partner": "gojek"},
        follow_redirects=False,
    )
    assert assigned.status_code == 303
    other = client.post(
        "/office/handovers/new",
        data={"csrf": token, "courier": "grab.sari", "partner": "grab", "seals": "BP00000101"},
    )
    assert other.status_code == 400 and "ditugaskan kepada gojek.andi" in other.text
    wrong = client.post(
        "/office/handovers/new",
        data={"csrf": token, "courier": "gojek.andi", "partner": "gojek", "seals": "BP00000101\nBP00000999"},
    )
    assert wrong.status_code == 400 and "tidak terdaftar" in wrong.text
    response = client.post(
        "/office/handovers/new",
        data={
            "csrf": token,
            "courier": "gojek.andi",
            "partner": "gojek",
            "seals": "BP00000101\nbp00000102\n",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    path = response.headers["location"]
    assert "Menunggu konfirmasi kurir" in client.get(path).text
    listed = re.search(rf'href="{path}">.*?</li>', client.get("/office/handovers").text)
    assert listed and "belum dikonfirmasi" in listed.group(0) and "Andi" in listed.group(0)
    unconfirmed = report_text(client.get(f"{path}/report.pdf").content)
    assert "Konfirmasi kurir Belum dikonfirmasi" in unconfirmed
    assert "Belum dikonfirmasi oleh kurir" in unconfirmed

    await as_user(client, couch, settings, "grab.sari")
    assert client.get(f"{path}/confirm").status_code == 403
    await as_user(client, couch, settings, "gojek.andi")
    page = client.get(f"{path}/confirm")
    assert page.status_code == 200 and "BP00000101" in page.text
    assert client.get(path).status_code == 403  # the courier sees only the confirm page
    confirmed = client.post(f"{path}/confirm", data={"csrf": csrf_of(page.text)})
    assert confirmed.status_code == 200 and "Sudah Anda konfirmasi" in confirmed.text

    await as_user(client, couch, settings, "budi.santoso")
    pdf = client.get(f"{path}/report.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = report_text(pdf.content)
    assert "BERITA ACARA SERAH TERIMA" in text
    assert "Disdukcapil Kota Balikpapan" in text and "Disdukcapil 6471" not in text  # the office by name
    assert re.search(r"Petugas kantor Budi Santoso\n", text) and re.search(r"Kurir Andi\n", text)
    assert re.search(r"1 BP00000101 e-KTP Siti Aminah Klandasan Ilir", text)
    assert re.search(r"2 BP00000102 Kartu Keluarga Yusuf Hidayat Klandasan Ilir", text)
    confirmation = await Ledger.of(couch, settings).office.get(
        path.replace("/office/handovers/handover:", "handover_confirmation:")
    )
    stamp = local_time(confirmation["created_at"], "Asia/Makassar")  # the office's zone, the pages' format
    assert f"Konfirmasi kurir {stamp}" in text and "Belum dikonfirmasi" not in text
    assert f"dikonfirmasi oleh kurir Andi dari ponselnya pada {stamp}" in text
    assert re.search(r"Yang menyerahkan, Yang menerima,\s+Petugas Kurir", text), text
    assert re.search(r"Budi Santoso Andi\s*$", text), text  # a name under each signature line
    assert NIKS[0] not in text and "receipt" not in text.lower()
    listed = re.search(rf'href="{path}">.*?</li>', client.get("/office/handovers").text)
    assert listed and f"dikonfirmasi {stamp}" in listed.group(0)


async def test_a_refused_seal_keeps_the_courier_and_every_scanned_seal(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    await as_user(client, couch, settings, "budi.santoso")
    first, second = register(client, name="Siti Aminah"), register(client, name="Yusuf Hidayat")
    seal(client, first, "BP00000201")
    seal(client, second, "BP00000202")
    ledger = Ledger.of(couch, settings)
    await intake.assign(ledger, staff(), [first], "gojek.andi", "gojek", None)
    await intake.assign(ledger, staff(), [second], "grab.sari", "grab", None)
    await as_user(client, couch, settings, "rina.bandung")
    bandung = register(client, name="Orang Bandung")
    seal(client, bandung, "BD00000201")
    await as_user(client, couch, settings, "budi.santoso")
    before = await ledger.office.view("office", "handovers", startkey=key(["6471"]), endkey=key(["6471", {}]))
    token = csrf_of(client.get("/office/handovers").text)
    scanned = ["BP00000201", "BP00000202", "BP00000999", "BD00000201", "BP00000201"]
    refused = client.post(
        "/office/handovers/new",
        data={"csrf": token, "courier": "gojek.andi", "seals": "\n".join(scanned)},
    )
    assert refused.status_code == 400
    assert re.search(r'<option value="gojek.andi" selected>', refused.text), "the courier chosen is lost"
    kept = re.search(r'<textarea name="seals"[^>]*>([^<]*)</textarea>', refused.text)
    assert kept and kept.group(1).split() == scanned
    marks = re.findall(r'<li class="(ok|bad)" data-seal="(\w+)"', refused.text)
    assert marks == [
        ("ok", "BP00000201"),
        ("bad", "BP00000202"),
        ("bad", "BP00000999"),
        ("bad", "BD00000201"),
        ("bad", "BP00000201"),
    ]
    reasons = {
        number: re.sub(r"<[^>]+>", "", reason)
        for number, reason in re.findall(r'data-seal="(\w+)">(.*?)</li>', refused.text)
    }
    assert "ditugaskan kepada grab.sari, bukan gojek.andi" in reasons["BP00000202"]
    assert "tidak terdaftar di kantor ini" in reasons["BP00000999"]
    assert reasons["BD00000201"] == reasons["BP00000999"].replace("BP00000999", "BD00000201")
    assert "Orang Bandung" not in refused.text  # another office's seal reveals nothing of its document
    assert "dua kali" in re.findall(r'data-seal="BP00000201">(.*?)</li>', refused.text)[1]
    after = await ledger.office.view("office", "handovers", startkey=key(["6471"]), endkey=key(["6471", {}]))
    assert after["rows"] == before["rows"], "a refused batch stored a handover"

    other = client.post(
        "/office/handovers/new",
        data={"csrf": token, "courier": "grab.sari", "seals": "BP00000202\nBP00000201"},
    )
    assert other.status_code == 400 and '<option value="grab.sari" selected>' in other.text
    assert "ditugaskan kepada gojek.andi, bukan grab.sari" in other.text
    no_courier = client.post(
        "/office/handovers/new", data={"csrf": token, "courier": "", "seals": "BP00000201"}
    )
    assert no_courier.status_code == 400 and ">BP00000201</textarea>" in no_courier.text
    accepted = client.post(
        "/office/handovers/new",
        data={"csrf": token, "courier": "gojek.andi", "seals": "BP00000201"},
        follow_redirects=False,
    )
    assert accepted.status_code == 303


async def test_couriers_app_lists_only_its_own_handovers_still_to_confirm(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    await as_user(client, couch, settings, "budi.santoso")
    documents = [register(client, name=name) for name in ("Siti Aminah", "Yusuf Hidayat", "Dewi Lestari")]
    ledger = Ledger.of(couch, settings)
    for number, document_id in enumerate(documents):
        seal(client, document_id, f"BP0000030{number}")
    await intake.assign(ledger, staff(), documents[:2], "gojek.andi", "gojek", None)
    await intake.assign(ledger, staff(), documents[2:], "grab.sari", "grab", None)
    token = csrf_of(client.get("/office/handovers").text)
    paths = []
    for courier, seals in (("gojek.andi", "BP00000300\nBP00000301"), ("grab.sari", "BP00000302")):
        response = client.post(
            "/office/handovers/new",
            data={"csrf": token, "courier": courier, "seals": seals},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        paths.append(response.headers["location"])
    andi, sari = (path.removeprefix("/office/handovers/") for path in paths)
    page = client.get(paths[0])
    assert f"{settings.origin}{paths[0]}/confirm" in page.text and "<svg" in page.text  # the QR to scan

    await as_user(client, couch, settings, "gojek.andi")
    waiting = client.get("/office/handovers/waiting")
    assert waiting.status_code == 200
    stored = await ledger.office.get(andi)
    assert waiting.json() == {
        "handovers": [
            {
                "handover_id": andi,
                "office_name": "Disdukcapil Kota Balikpapan",
                "envelopes": 2,
                "created_at": stored["created_at"],
            }
        ]
    }
    assert "Siti" not in waiting.text and NIKS[0] not in waiting.text and "BP0000030" not in waiting.text
    confirm = client.get(f"{paths[0]}/confirm")
    client.post(f"{paths[0]}/confirm", data={"csrf": csrf_of(confirm.text)})
    assert client.get("/office/handovers/waiting").json() == {"handovers": []}  # confirmed: not waiting

    await as_user(client, couch, settings, "grab.sari")
    assert [h["handover_id"] for h in client.get("/office/handovers/waiting").json()["handovers"]] == [sari]
    for user in ("budi.santoso", "van.nur"):
        await as_user(client, couch, settings, user)
        refused = client.get("/office/handovers/waiting", headers={"accept": "application/json"})
        assert refused.status_code == 403 and "handover" not in refused.text
    client.cookies.clear()
    anonymous = client.get("/office/handovers/waiting", headers={"accept": "application/json"})
    assert anonymous.status_code == 401 and "handover" not in anonymous.text


async def test_csv_import_over_http_reports_rejected_rows(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    await as_user(client, couch, settings, "budi.santoso")
    good = document_fields(name="Siti Aminah")
    bad = document_fields(name="Anak Baru", postal_code="761")
    header = ",".join(good)
    body = "\n".join([header, ",".join(good.values()), ",".join(bad.values())]) + "\n"
    token = csrf_of(client.get("/office/intake").text)
    response = client.post(
        "/office/intake/csv", data={"csrf": token}, files={"file": ("cetak.csv", body.encode(), "text/csv")}
    )
    assert response.status_code == 200
    assert "1 dokumen didaftarkan" in response.text and "1 baris ditolak" in response.text
    # The row's reason names the field once, by its label on the form ("Kode pos"), not by its record path.
    assert "Kode pos: " in response.text and "resident.address.postal_code" not in response.text
    assert "Siti Aminah" in client.get("/office/intake").text
    assert "Anak Baru" not in client.get("/office/intake").text


async def test_conflict_is_resolved_from_the_page_keeping_the_loser(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    await as_user(client, couch, settings, "budi.santoso")
    document_id = register(client, name="Siti Aminah")
    ledger = Ledger.of(couch, settings)
    doc = await ledger.records.get(document_id)
    base = str(doc["_rev"]).split("-")[1]
    edits = []
    for suffix, choice in (("a", "self_pickup"), ("b", "courier")):
        edit = {**doc, "delivery": choice, "_rev": f"2-{suffix * 32}"}
        edit["_revisions"] = {"start": 2, "ids": [suffix * 32, base]}
        edits.append(edit)
    await ledger.records.bulk_docs(edits, new_edits=False)

    queue = client.get("/office/exceptions").text
    assert f"/office/conflicts/{document_id}" in queue
    page = client.get(f"/office/conflicts/{document_id}")
    # The two choices side by side, in words.
    assert page.status_code == 200 and "Ambil sendiri di kantor" in page.text and "Diantar kurir" in page.text
    response = client.post(
        f"/office/conflicts/{document_id}/resolve",
        data={"csrf": csrf_of(page.text), "winner_rev": f"2-{'b' * 32}", "note": "Penduduk minta diantar"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    after = await ledger.records.get(document_id, conflicts=True)
    assert after["delivery"] == "courier" and "_conflicts" not in after
    timeline = client.get(f"/office/documents/{document_id}").text
    assert "Konflik diselesaikan, 2 revisi disimpan" in timeline

    await as_user(client, couch, settings, "rina.bandung")
    assert client.get(f"/office/conflicts/{document_id}").status_code == 404  # as if it did not exist


#: The office menu's places, in its order; the last is user management, shown to those who may manage users.
MENU = (
    "/office",
    "/office/documents",
    "/office/intake",
    "/office/handovers",
    "/office/exceptions",
    "/office/visits",
    "/auth/office/users",
)


def menu_links(html: str) -> list[str]:
    """The addresses the office menu of a page links to (without the account link), [] when it has none."""
    nav = re.search(r'<nav class="office-nav".*?</nav>', html, re.S)
    if nav is None:
        return []
    return [href for href in re.findall(r'<a href="([^"]+)"', nav.group(0)) if href != "/auth/login"]


async def test_the_office_menu_is_on_every_office_page_and_leads_those_who_may_to_user_management(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    await make_user(couch, settings, "admin.pusat", "admin", office=None)
    await as_user(client, couch, settings, "budi.santoso")
    document_id = register(client, name="Siti Aminah")
    pages = (*MENU, f"/office/documents/{document_id}", "/office/documents?q=Siti")
    for path in pages:  # staff add their office's couriers and van crews: the menu offers it
        response = client.get(path)
        assert response.status_code == 200, path
        assert menu_links(response.text) == list(MENU), path
    assert 'aria-current="page">Pengguna' in client.get("/auth/office/users").text

    await as_user(client, couch, settings, "admin.pusat")  # acts for the office the address names
    for path in pages:
        wanted = path + ("&" if "?" in path else "?") + "office=6471"
        response = client.get(wanted)
        assert response.status_code == 200, wanted
        assert menu_links(response.text) == [f"{place}?office=6471" for place in MENU], wanted

    for user in ("gojek.andi", "van.nur"):  # the other users: no office page, no menu, no user management
        await as_user(client, couch, settings, user)
        for path in pages:
            response = client.get(path)
            assert response.status_code == 403, (user, path)
            assert menu_links(response.text) == [] and "/auth/office/users" not in response.text


async def test_admins_choose_the_office_they_act_for(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    await make_user(couch, settings, "admin.pusat", "admin", office=None)
    await as_user(client, couch, settings, "budi.santoso")
    document_id = register(client, name="Siti Aminah")
    await as_user(client, couch, settings, "admin.pusat")
    assert client.get("/office").status_code == 400  # which office? the page says to add ?office=
    assert "Siti Aminah" in client.get("/office/intake?office=6471").text
    assert "Siti Aminah" not in client.get("/office/intake?office=3273").text
    assert client.get(f"/office/documents/{document_id}").status_code == 200


def complaint_items(html: str) -> dict[str, str]:
    """The exceptions queue's complaint cards by subject, each as its HTML."""
    cards = re.findall(r'<li class="card exc exc-complaint".*?</li>', html, re.S)
    return {re.search(r'data-subject="([^"]+)"', card).group(1): card for card in cards}  # type: ignore[union-attr]


async def test_staff_see_the_photo_a_resident_sent_with_a_complaint(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    ledger = Ledger.of(couch, settings)
    await as_user(client, couch, settings, "budi.santoso")
    document_id = register(client, name="Siti Aminah")
    link = await issue_link(ledger, await ledger.records.get(document_id))
    client.cookies.clear()
    sent = client.post(
        f"/r/{link}/complaint",
        data={
            "csrf": csrf_of(client.get(f"/r/{link}").text),
            "kind": "seal_broken",
            "description": "Segel sobek waktu diterima",
        },
        files={"photo": ("segel.jpg", seal_image(7), "image/jpeg")},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    # A complaint from a phone whose image has not synced yet: named, not held.
    awaited = f"complaint:{new_id()}"
    await ledger.records.put(
        {
            "_id": awaited,
            "type": "complaint",
            "schema_version": 1,
            "office": "6471",
            "created_at": now_iso(),
            "author": "budi.santoso",
            "document_id": document_id,
            "kind": "other",
            "description": "Penduduk menelepon, foto menyusul",
            "photo_attachment": "photo.jpg",
            "channel": "phone",
        }
    )

    await as_user(client, couch, settings, "budi.santoso")
    cards = complaint_items(client.get("/office/exceptions").text)
    [from_resident] = [subject for subject in cards if subject != awaited]
    url = f"/office/complaints/{from_resident}/photo"
    assert f'<a class="complaint-photo" href="{url}"' in cards[from_resident]
    assert f'<img class="thumb" src="{url}"' in cards[from_resident]
    assert "<img" not in cards[awaited] and "belum sampai" in cards[awaited]
    timeline = client.get(f"/office/documents/{document_id}").text
    entry = re.search(rf'<li class="complaint" data-complaint="{from_resident}">.*?</li>', timeline, re.S)
    assert entry and f'href="{url}"' in entry.group(0) and f'<img class="thumb" src="{url}"' in entry.group(0)
    image = client.get(url)
    assert image.status_code == 200 and image.content == seal_image(7)
    assert image.headers["content-type"] == "image/jpeg"
    assert image.headers["x-content-type-options"] == "nosniff"
    assert client.get(f"/office/complaints/{awaited}/photo").status_code == 404
    assert client.get(f"/office/complaints/{document_id}/photo").status_code == 404  # not a complaint

    for user, status in (("rina.bandung", 404), ("gojek.andi", 403)):  # another office: as if missing
        await as_user(client, couch, settings, user)
        refused = client.get(url)
        assert refused.status_code == status, user
        assert refused.content != seal_image(7) and refused.headers["content-type"].startswith("text/html")
    client.cookies.clear()
    signed_out = client.get(url, follow_redirects=False)  # offered the sign-in, and back here after it
    assert signed_out.status_code == 303 and signed_out.content != seal_image(7)
    assert signed_out.headers["location"].startswith("/auth/login?next=/office/complaints/")
    await as_user(client, couch, settings, "rina.bandung")
    assert from_resident not in client.get("/office/exceptions").text
