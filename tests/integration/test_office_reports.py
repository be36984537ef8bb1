"""Exports (CSV, custody PDF), van visit reports, and the notification outbox, over HTTP or the services."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest
from pypdf import PdfReader
from starlette.testclient import TestClient

from records.receipt_proof import ReceiptKey
from records.schemas import SCHEMA_DIR, validate_record
from server.office import intake
from server.office.checks import run_checks
from server.office.config import OfficeConfig
from server.office.ledger import OFFICE_TZ, new_id
from server.office.notifications import RetryPolicy, deliver_pending, enqueue
from server.office.senders import LogFileSender, Message
from server.office.worker import WorkDone, run_once
from server.residents.links import document_for
from server.settings import Settings
from store.couch import CouchClient
from tests.support.identity import make_user, open_session, sign_in
from tests.support.office import next_handoff, put_document, ready_ledger, staff

pytestmark = pytest.mark.anyio


def key_of(settings: Settings) -> ReceiptKey:
    return ReceiptKey.from_secret(settings.secret_key)


async def signed_in(
    client: TestClient, couch: CouchClient, settings: Settings, user: str, office: str
) -> None:
    await make_user(couch, settings, user, "staff", office=office)
    client.cookies.clear()
    sign_in(client, settings, await open_session(couch, settings, user))


async def test_csv_exports_and_custody_pdf(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    doc = await put_document(ledger, name="Siti Aminah")
    await intake.assign(ledger, staff(), [str(doc["_id"])], "gojek.andi", "gojek", None)
    sealed = await intake.bind_seal(ledger, staff(), str(doc["_id"]), "BP00000601")
    today = datetime.now(OFFICE_TZ).isoformat(timespec="seconds")
    pickup = next_handoff(sealed, "picked_up", device_time=today)
    await ledger.records.put(pickup)
    await ledger.records.put(
        next_handoff(pickup, "delivered", device_time=today, receipt_code=doc["receipt_code"])
    )
    await signed_in(client, couch, settings, "budi.santoso", "6471")
    unjudged = list(csv.DictReader(io.StringIO(client.get("/office/exports/daily.csv").text)))
    assert unjudged[-1]["delivered"] in ("", "0")  # the page judges nothing: that is the worker's round
    await run_once(
        ledger, OfficeConfig(), settings.origin, LogFileSender(settings.data_dir), key_of(settings)
    )

    daily = list(csv.DictReader(io.StringIO(client.get("/office/exports/daily.csv").text)))
    assert daily[-1]["day"] == today[:10] and daily[-1]["delivered"] == "1" and daily[-1]["picked_up"] == "1"
    couriers = list(csv.DictReader(io.StringIO(client.get("/office/exports/couriers.csv").text)))
    assert [(r["courier"], r["partner"], r["delivered"]) for r in couriers] == [("gojek.andi", "gojek", "1")]
    partners = list(csv.DictReader(io.StringIO(client.get("/office/exports/partners.csv?days=30").text)))
    assert [(r["partner"], r["picked_up"]) for r in partners] == [("gojek", "1")]
    assert client.get("/office/exports/nope.csv").status_code == 404

    pdf = client.get(f"/office/exports/documents/{doc['_id']}.pdf")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Siti Aminah" in text and "BP00000601" in text and "Rantai: utuh" in text
    assert "Diterima" in text

    await signed_in(client, couch, settings, "rina.bandung", "3273")
    # Another office's record answers as a missing one would: nothing tells it that the id exists.
    assert client.get(f"/office/exports/documents/{doc['_id']}.pdf").status_code == 404
    other = list(csv.DictReader(io.StringIO(client.get("/office/exports/couriers.csv").text)))
    assert other == []


def visit(day: str, outcome_file: str, **changes: object) -> dict[str, object]:
    record = json.loads((SCHEMA_DIR / "examples" / "visit" / outcome_file).read_text())
    record.update(
        _id=f"visit:{new_id()}", device_time=f"{day}T09:00:00+08:00", created_at=f"{day}T09:00:05+08:00"
    )
    record.update(changes)
    assert validate_record(record) == []
    return record


async def test_van_visits_per_van_and_day(client: TestClient, couch: CouchClient, settings: Settings) -> None:
    ledger = await ready_ledger(couch, settings)
    today = datetime.now(OFFICE_TZ).date().isoformat()
    records = [
        visit(today, "valid-recorded.json"),
        visit(today, "valid-recorded.json"),
        visit(today, "valid-revisit-needed.json"),
        visit(today, "valid-emergency-fever.json"),
    ]
    for record in records:
        await ledger.records.put(record)
    await signed_in(client, couch, settings, "budi.santoso", "6471")
    page = client.get("/office/visits")
    assert page.status_code == 200
    row = next(line for line in page.text.split("<tr") if today in line)
    cells = [c.split("<")[0] for c in row.split('class="n">')[1:]]
    recorded = sum(1 for r in records if r["outcome"] == "recorded")
    assert cells[0] == str(recorded) and cells[2] == "1"
    assert int(cells[3]) >= 1  # the fever visit missed the health protocol


async def test_outbox_sends_pending_messages_once_and_keeps_failures(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    doc = await put_document(ledger, name="Siti Aminah")
    await enqueue(ledger, "document_ready", doc, "http://localhost:8000/r/abc")
    await enqueue(ledger, "out_for_delivery", doc, "http://localhost:8000/r/abc")

    class Broken:
        async def send(self, message: Message) -> None:
            raise ConnectionError("gateway down")

    retry_now = RetryPolicy(backoff_s=0)
    assert await deliver_pending(ledger, Broken(), policy=retry_now) == 0
    sender = LogFileSender(settings.data_dir)
    assert await deliver_pending(ledger, sender, policy=retry_now) == 2
    assert await deliver_pending(ledger, sender, policy=retry_now) == 0
    lines = [json.loads(line) for line in sender.path.read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["document_ready", "out_for_delivery"]
    assert lines[0]["to"] == doc["resident"]["phone"] and "Siti Aminah" in lines[0]["text"]
    assert doc["resident"]["nik"] not in sender.path.read_text()


async def test_resident_hears_when_the_envelope_leaves_and_arrives(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    doc = await put_document(ledger, name="Siti Aminah")
    sealed = await intake.bind_seal(ledger, staff(), str(doc["_id"]), "BP00000701")
    pickup = next_handoff(sealed, "picked_up")
    await ledger.records.put(pickup)
    await ledger.records.put(next_handoff(pickup, "delivered"))
    origin = "https://segel.example"
    await run_checks(ledger, OfficeConfig(), origin=origin)
    await run_checks(ledger, OfficeConfig(), origin=origin)  # nothing new: nothing sent twice
    sender = LogFileSender(settings.data_dir)
    assert await deliver_pending(ledger, sender) == 2
    lines = [json.loads(line) for line in sender.path.read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["out_for_delivery", "delivered"]
    link = lines[0]["text"].split(f"{origin}/r/")[1].split()[0]
    assert (await document_for(ledger, link) or {}).get("_id") == doc["_id"]


async def test_messages_go_out_in_the_order_things_happened_whatever_order_the_feed_gives(
    couch: CouchClient, settings: Settings
) -> None:
    """CouchDB's changes feed need not keep the order records were written in (shards, a cluster): here the
    delivery is even written before the pickup, and the resident still hears "on its way" first."""
    ledger = await ready_ledger(couch, settings)
    doc = await put_document(ledger, name="Siti Aminah")
    sealed = await intake.bind_seal(ledger, staff(), str(doc["_id"]), "BP00000702")
    pickup = next_handoff(sealed, "picked_up", device_time="2026-11-20T09:00:00+08:00")
    delivered = next_handoff(pickup, "delivered", device_time="2026-11-20T02:30:00+00:00")  # 10:30 WITA
    await ledger.records.put(delivered)
    await ledger.records.put(pickup)
    await run_checks(ledger, OfficeConfig(), origin="https://segel.example")
    sender = LogFileSender(settings.data_dir)
    assert await deliver_pending(ledger, sender) == 2
    lines = [json.loads(line) for line in sender.path.read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["out_for_delivery", "delivered"]


async def test_background_round_counts_checks_and_tells_the_resident(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    doc = await put_document(ledger, name="Siti Aminah")
    sealed = await intake.bind_seal(ledger, staff(), str(doc["_id"]), "BP00000801")
    await ledger.records.put(next_handoff(sealed, "picked_up", seal_condition="damaged"))
    sender = LogFileSender(settings.data_dir)

    done = await run_once(ledger, OfficeConfig(), "https://segel.example", sender)
    again = await run_once(ledger, OfficeConfig(), "https://segel.example", sender)

    assert done.delivery_changes >= 3 and done.sent == 1 and again == WorkDone(0, 0, 0, 0)
    assert json.loads(sender.path.read_text().splitlines()[0])["kind"] == "out_for_delivery"
