"""Least data on the phone, read from the phone itself: after a real sync and real work (a courier's
delivery with the resident's receipt code, a van crew's visit with a full NIK), every IndexedDB database of
the app's origin is read whole, and holds no full NIK, no receipt code in clear and nothing of other
couriers, vans or offices, while CouchDB keeps the whole records."""

from __future__ import annotations

import copy
import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from records.custody import record_hash
from records.receipt_proof import ReceiptKey
from records.schemas import validate_record
from server.identity.sessions import SESSION_COOKIE
from server.settings import Settings, open_couch
from tests.support.identity import make_user, open_session
from tests.support.records import document_records, stop_record
from tests.support.servers import ServerProcess
from tests.support.threads import run_async

#: Reads every IndexedDB database of the origin (every object store: keys and values; blobs as text),
#: localStorage and the service worker's caches (but the public static files and schemas), each serialised
#: to one JSON string, keyed by database name (`localStorage`, `caches`).
DUMP_STORAGE = """async () => {
  const asText = async (value) => {
    if (value instanceof Blob) return await value.text();
    if (value instanceof ArrayBuffer) return new TextDecoder('latin1').decode(value);
    if (ArrayBuffer.isView(value)) return new TextDecoder('latin1').decode(value.buffer);
    if (Array.isArray(value)) return Promise.all(value.map(asText));
    if (value && typeof value === 'object') {
      const out = {};
      for (const [key, inner] of Object.entries(value)) out[key] = await asText(inner);
      return out;
    }
    return value;
  };
  const request = (rq) => new Promise((resolve, reject) => {
    rq.onsuccess = () => resolve(rq.result);
    rq.onerror = () => reject(rq.error);
  });
  const dump = {};
  for (const info of await indexedDB.databases()) {
    const db = await request(indexedDB.open(info.name));
    const stores = {};
    const names = [...db.objectStoreNames];
    if (names.length) {
      const tx = db.transaction(names, 'readonly');
      await Promise.all(names.map(async (name) => {
        const store = tx.objectStore(name);
        const [keys, values] = await Promise.all([request(store.getAllKeys()), request(store.getAll())]);
        stores[name] = { keys, values };
      }));
    }
    db.close();
    dump[info.name] = JSON.stringify(await asText(stores));
  }
  dump.localStorage = JSON.stringify({ ...localStorage });
  const cached = {};
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      // The public files every visitor gets (bundles, styles, the schemas, whose examples are a made-up
      // resident's NIK and code) say nothing of anyone; whatever else a cache holds is read.
      if (['static', 'schemas'].includes(new URL(request.url).pathname.split('/')[1])) continue;
      cached[request.url] = await (await cache.match(request)).text();
    }
  }
  dump.caches = JSON.stringify(cached);
  return dump;
}"""


#: The fields of a document record on a courier's phone (written out here, not taken from the projection
#: table, so a field added there shows up as a failure to look at).
PHONE_DOCUMENT_FIELDS = (
    "type",
    "schema_version",
    "office",
    "doc_kind",
    "assignment",
    "resident",
    "projection",
)


def read_phone_storage(page: Page) -> dict[str, str]:
    return dict(page.evaluate(DUMP_STORAGE))


def found_in(dump: dict[str, str], needles: list[str]) -> list[tuple[str, str]]:
    """Every (needle, database) where a needle occurs: empty when the phone holds none of them."""
    return [(needle, name) for needle in needles for name, text in dump.items() if needle in text]


def _couch(settings: Settings, path: str) -> httpx.Response:
    auth = (settings.couchdb_user or "", settings.couchdb_password or "")
    return httpx.get(f"{settings.couchdb_url}/{settings.records_db}/{path}", auth=auth, timeout=10)


def _stored_unchanged(settings: Settings, record: dict[str, Any]) -> None:
    stored = _couch(settings, record["_id"]).json()
    assert stored.pop("_rev").startswith("1-")
    assert stored == record


async def _seed(settings: Settings, users: list[tuple[Any, ...]], docs: list[dict[str, Any]], me: str) -> str:
    couch = open_couch(settings)
    try:
        for user_id, role, kwargs in users:
            await make_user(couch, settings, user_id, role, **kwargs)
        await couch.db(settings.records_db).bulk_docs(copy.deepcopy(docs))
        return await open_session(couch, settings, me)
    finally:
        await couch.aclose()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _with_code(records: list[dict[str, Any]], code: str) -> list[dict[str, Any]]:
    records[0]["receipt_code"] = code
    return records


def _elsewhere(
    records: list[dict[str, Any]], office: str, courier: str, partner: str
) -> list[dict[str, Any]]:
    """The same records for another office (seal ids name their office) and another courier."""
    document, seal, sealed = records
    document["office"] = seal["office"] = sealed["office"] = office
    sealed["from"] = sealed["to"] = {"party": "office", "id": office}
    seal["_id"] = f"seal:{office}:{seal['number']}"
    document["assignment"] = {**document["assignment"], "courier": courier, "partner": partner}
    for record in records:
        assert validate_record(record) == [], record["_id"]
    return records


def _delivered_at_the_desk(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A pickup and an office-recorded delivery (today, so no closure runs) holding the code in clear."""
    document, _, sealed = records
    now = _now()
    picked = {
        **copy.deepcopy(sealed),
        "_id": sealed["_id"].replace("SEAL", "PICK"),
        "author": "gojek.andi",
        "kind": "picked_up",
        "from": {"party": "office", "id": "6471"},
        "to": {"party": "courier", "id": "gojek.andi", "name": "Andi Saputra"},
        "device_time": now,
        "created_at": now,
        "prev_hash": record_hash(sealed),
        "unsigned_reason": "no passkey enrolled",
    }
    delivered = {
        **copy.deepcopy(picked),
        "_id": sealed["_id"].replace("SEAL", "DLVR"),
        "seq": 2,
        "kind": "delivered",
        "from": picked["to"],
        "to": {"party": "resident", "name": document["resident"]["name"]},
        "prev_hash": record_hash(picked),
        "receipt_code": document["receipt_code"],
    }
    for record in (picked, delivered):
        assert validate_record(record) == [], record["_id"]
    return [picked, delivered]


def test_courier_phone_holds_no_nik_no_receipt_code_and_nothing_of_others(
    page: Page, context: BrowserContext, live_server: ServerProcess, settings: Settings
) -> None:
    mine = _with_code(document_records("Z0001", "Siti Rahmawati", "6471054506900012", "BP00016001"), "K7M4QX")
    done = _with_code(document_records("Z0002", "Budi Hartono", "6471021203850007", "BP00016002"), "P3R8TW")
    done += _delivered_at_the_desk(done)
    theirs = _elsewhere(
        _with_code(document_records("Z0003", "Dewi Lestari", "6471015507950003", "BP00016003"), "H9W2ZN"),
        "6471",
        "grab.dedi",
        "grab",
    )
    other_office = _elsewhere(
        _with_code(document_records("Z0004", "Rina Handayani", "6472016104920005", "BP00016004"), "M5T6YB"),
        "6472",
        "kurir.samarinda",
        "gojek",
    )
    every = [*mine, *done, *theirs, *other_office]
    users = [
        ("gojek.andi", "courier", {"name": "Andi Saputra"}),
        ("grab.dedi", "courier", {"partner": "grab", "name": "Dedi Kurniawan"}),
        ("kurir.samarinda", "courier", {"office": "6472", "name": "Yusuf Samarinda"}),
    ]
    cookie = run_async(_seed, settings, users, every, "gojek.andi")
    origin = f"http://localhost:{live_server.port}"
    context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": origin}])

    page.goto(f"{origin}/app")
    expect(page.locator("a[data-doc]")).to_have_count(2, timeout=20000)  # the first sync: mine only
    expect(page.locator("a[data-doc='document:01JDTESTZ0001'] [data-role='nik']")).to_have_text(
        "NIK 647105********12"
    )

    # Pick up the sealed envelope, then deliver it to the resident, who gives the receipt code.
    page.get_by_role("link", name="Ambil 1 dokumen di kantor").click()
    page.locator("li[data-doc='document:01JDTESTZ0001'] [data-role='seal-number']").fill("BP00016001")
    page.get_by_label("Sertakan lokasi GPS").uncheck()
    page.get_by_role("button", name="Konfirmasi pengambilan").click()
    expect(page.locator("[data-role='flash']")).to_have_text("1 dokumen dicatat sudah diambil.")
    page.goto(f"{origin}/app#/handoff/delivered/document:01JDTESTZ0001")
    page.locator("[data-role='seal-number']").fill("BP00016001")
    page.get_by_label("Kode penerimaan").fill("k7m4qx")
    page.get_by_label("Sertakan lokasi GPS").uncheck()
    page.get_by_role("button", name="Simpan penyerahan").click()
    expect(page.locator("[data-role='flash']")).to_contain_text("tersimpan")
    expect(page.locator("[data-role='pending-records']")).to_have_text("0 catatan menunggu", timeout=30000)
    expect(page.locator("[data-role='denials']")).to_have_count(0)

    dump = read_phone_storage(page)
    assert "_pouch_segel-records" in dump
    niks = [doc["resident"]["nik"] for doc in every if doc["type"] == "document"]
    codes = [doc["receipt_code"] for doc in every if doc["type"] == "document"]
    others = [
        *(record["_id"] for record in [*theirs, *other_office]),
        "Dewi Lestari",
        "Rina Handayani",
        "BP00016003",
        "BP00016004",
    ]
    assert found_in(dump, [*niks, *codes, "k7m4qx", *others]) == []
    # What the courier needs is there (so the reading above saw the data): their documents, masked NIKs,
    # the desk delivery (its code replaced by the server's custody hash) and their own sealed delivery.
    handoffs = {h["_id"]: h for h in page.evaluate("window.segelData.localDocs('handoff:')")}
    delivery = next(
        h for h in handoffs.values() if h["kind"] == "delivered" and h["document_id"] == mine[0]["_id"]
    )
    records_text = dump["_pouch_segel-records"]
    for needle in (
        "document:01JDTESTZ0001",
        "document:01JDTESTZ0002",
        "647105********12",
        "647102********07",
        delivery["_id"],
        delivery["receipt_proof"]["ct"],
    ):
        assert needle in records_text, needle
    desk = handoffs["handoff:01JDDLVRZ0002"]
    assert desk["custody_hash"] == record_hash(done[4]) and "receipt_code" not in desk
    # Per envelope the phone holds who, where, the phone number, the masked NIK and the kind of document
    # (with the record's bookkeeping and the courier's own assignment), and nothing else of the record.
    for held in page.evaluate("window.segelData.localDocs('document:')"):
        assert set(held) == {*PHONE_DOCUMENT_FIELDS, "_id", "_rev"}, held["_id"]
        assert set(held["resident"]) == {"name", "address", "phone", "nik_masked"}, held["_id"]
        assert held["assignment"]["courier"] == "gojek.andi"

    # The server keeps the whole records: the documents untouched, the delivery's code sealed to its key.
    for record in every:
        _stored_unchanged(settings, record)
    stored = _couch(settings, delivery["_id"]).json()
    assert "receipt_code" not in stored
    key = ReceiptKey.from_secret(settings.secret_key)
    assert key.open(stored["receipt_proof"], "document:01JDTESTZ0001") == "K7M4QX"


def _visit(visit_id: str, van: str, nik: str, name: str, stop_id: str | None) -> dict[str, Any]:
    now = _now()
    visit = {
        "_id": visit_id,
        "type": "visit",
        "schema_version": 1,
        "office": "6471",
        "created_at": now,
        "author": "van.agus" if van == "van-balikpapan-1" else "van.nur",
        "van": van,
        "operators": ["van.agus"],
        "resident_nik": nik,
        "resident_name": name,
        "health": {
            "operator_temperature_c": 36.4,
            "applicant_temperature_c": 36.6,
            "equipment_disinfected": True,
            "gloves_and_masks": True,
            "hand_sanitiser": True,
        },
        "captures": {
            "fingerprints": {"status": "captured", "fingers_captured": 10},
            "iris": {"status": "captured"},
            "face": {"status": "captured"},
            "signature": {"status": "captured"},
        },
        "capture_device_serial": "BIO-KIT-2024-0317",
        "outcome": "recorded",
        "device_time": now,
        **({"stop_id": stop_id} if stop_id else {}),
    }
    assert validate_record(visit) == [], visit_id
    return visit


def _wait_for(condition: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.5)


def _record_visit(page: Page, nik: str, name: str, *, form_open: bool = False) -> None:
    if not form_open:
        page.get_by_role("link", name="Catat perekaman", exact=True).click()
    page.get_by_label("NIK", exact=True).fill(nik)
    page.get_by_label("Nama warga").fill(name)
    page.get_by_label("Suhu petugas (°C)").fill("36.5")
    page.get_by_label("Suhu pemohon (°C)").fill("36.7")
    page.get_by_label("Alat sudah didisinfeksi").check()
    page.get_by_label("Sarung tangan dan masker dipakai").check()
    page.get_by_label("Hand sanitizer dipakai").check()
    page.get_by_label("Nomor seri alat perekam").fill("BIO-KIT-BPN-0021")
    page.get_by_role("button", name="Simpan perekaman").click()
    expect(page.locator("[data-role='flash']")).to_have_text(f"Perekaman {name} tersimpan.")


def test_van_phone_drops_the_full_nik_once_the_server_has_the_visit(
    page: Page, context: BrowserContext, live_server: ServerProcess, settings: Settings
) -> None:
    page.goto("about:blank")
    date = page.evaluate(
        "() => { const d = new Date(); return d.getFullYear() + '-' + "
        "String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0'); }"
    )
    stop = stop_record(date)
    other_stop = {
        **stop,
        "_id": f"stop:{date.replace('-', '')}-manggar",
        "van": "van-balikpapan-2",
        "place_name": "Kantor Kelurahan Manggar",
    }
    earlier = _visit(
        "visit:01JDVA000000000000000000E1",
        "van-balikpapan-1",
        "6471015711480003",
        "Hj. Siti Maimunah",
        stop["_id"],
    )
    other_van = _visit(
        "visit:01JDVB000000000000000000E1",
        "van-balikpapan-2",
        "6471021203850007",
        "Budi Hartono",
        other_stop["_id"],
    )
    users = [
        ("van.agus", "van_operator", {"van": "van-balikpapan-1", "name": "Agus Setiawan"}),
        ("van.nur", "van_operator", {"van": "van-balikpapan-2", "name": "Nur Aini"}),
    ]
    cookie = run_async(_seed, settings, users, [stop, other_stop, earlier, other_van], "van.agus")
    origin = f"http://localhost:{live_server.port}"
    context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": origin}])

    page.goto(f"{origin}/app#/stops")
    card = page.locator(f"[data-stop='{stop['_id']}']")
    expect(card.locator(f"[data-visit='{earlier['_id']}'] [data-role='nik']")).to_have_text(
        "NIK 647101********03", timeout=20000
    )  # the first sync: my van's stop and visit, the NIK masked by the gateway
    expect(page.locator("[data-stop]")).to_have_count(1)

    typed = "6471054506900012"
    _record_visit(page, typed, "Siti Rahmawati")
    expect(page.locator("[data-role='pending-records']")).to_have_text("0 catatan menunggu", timeout=30000)
    visits = [v for v in page.evaluate("window.segelData.localDocs('visit:')") if v["_id"] != earlier["_id"]]
    assert len(visits) == 1
    visit_id = visits[0]["_id"]

    niks = [typed, earlier["resident_nik"], other_van["resident_nik"]]
    _wait_for(lambda: found_in(read_phone_storage(page), niks) == [])
    dump = read_phone_storage(page)
    assert found_in(dump, [*niks, other_van["_id"], other_stop["_id"], "Budi Hartono"]) == []
    assert visit_id in dump["_pouch_segel-records"] and "647105********12" in dump["_pouch_segel-records"]
    # The screen shows the sent visit from its masked copy; nothing the crew recorded is lost.
    expect(card.locator(f"[data-visit='{visit_id}'] [data-role='nik']")).to_have_text("NIK 647105********12")
    sent = next(v for v in page.evaluate("window.segelData.localDocs('visit:')") if v["_id"] == visit_id)
    assert "resident_nik" not in sent and sent["resident_nik_masked"] == "647105********12"

    stored = _couch(settings, visit_id).json()
    assert stored["resident_nik"] == typed and stored["resident_name"] == "Siti Rahmawati"
    assert stored["van"] == "van-balikpapan-1" and stored["stop_id"] == stop["_id"]
    assert validate_record(stored) == []
    _stored_unchanged(settings, earlier)
    assert json.dumps(_couch(settings, other_van["_id"]).json()).count(other_van["resident_nik"]) == 1


def _move_to_van(settings: Settings, user_id: str, van: str) -> None:
    """The office moves the crew member to another van (the user record, as the identity store keeps it)."""
    auth = (settings.couchdb_user or "", settings.couchdb_password or "")
    url = f"{settings.couchdb_url}/{settings.identity_db}/user:{user_id}"
    user = httpx.get(url, auth=auth, timeout=10).json()
    assert httpx.put(url, json={**user, "van": van}, auth=auth, timeout=10).status_code in (200, 201)


def test_a_refused_visit_keeps_its_full_nik_on_the_phone_until_the_server_takes_it(
    page: Page, context: BrowserContext, live_server: ServerProcess, settings: Settings
) -> None:
    """Nothing lost: only a visit the server has is dropped; a refused one waits, with its reason."""
    page.goto("about:blank")
    date = page.evaluate(
        "() => { const d = new Date(); return d.getFullYear() + '-' + "
        "String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0'); }"
    )
    users = [("van.agus", "van_operator", {"van": "van-balikpapan-1", "name": "Agus Setiawan"})]
    cookie = run_async(_seed, settings, users, [stop_record(date)], "van.agus")
    origin = f"http://localhost:{live_server.port}"
    context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": origin}])
    page.goto(f"{origin}/app#/stops")
    expect(page.locator("[data-stop]")).to_have_count(1, timeout=20000)

    # The crew opens the stop's form; meanwhile the office moves them to another van. The phone still works
    # for van 1 (its next scope check takes van 1's stop off it, so the form is open first, as in the field).
    page.get_by_role("link", name="Catat perekaman", exact=True).click()
    expect(page.get_by_label("NIK", exact=True)).to_be_visible()
    _move_to_van(settings, "van.agus", "van-balikpapan-2")
    typed = "6471054506900012"
    _record_visit(page, typed, "Siti Rahmawati", form_open=True)
    denials = page.locator("[data-role='denials']")
    expect(denials).to_contain_text("1 catatan ditolak server", timeout=30000)
    expect(denials).to_contain_text("mobil keliling lain")
    [visit] = page.evaluate("window.segelData.localDocs('visit:')")
    assert visit["resident_nik"] == typed  # kept whole where it waits: the crew can still send it
    assert [name for _, name in found_in(read_phone_storage(page), [typed])] == ["_pouch_segel-outbox"]
    assert _couch(settings, visit["_id"]).status_code == 404

    _move_to_van(settings, "van.agus", "van-balikpapan-1")  # the office puts it right; the crew sends again
    denials.locator("summary").click()
    page.get_by_role("button", name="Kirim ulang").click()
    expect(denials).to_have_count(0, timeout=30000)
    _wait_for(lambda: found_in(read_phone_storage(page), [typed]) == [])
    assert found_in(read_phone_storage(page), [typed]) == []
    assert _couch(settings, visit["_id"]).json()["resident_nik"] == typed
    [sent] = page.evaluate("window.segelData.localDocs('visit:')")
    assert sent["_id"] == visit["_id"] and sent["resident_nik_masked"] == "647105********12"
