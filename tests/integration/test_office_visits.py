"""The "Mobil keliling" page: one day's visits per van with who was recorded again (and why), and the
recordings made although the health protocol did not pass, with their emergency reason; in the office's
zone, in Indonesian or English, and only the staff member's own office."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from starlette.testclient import TestClient

from records.schemas import SCHEMA_DIR, validate_record
from server.office.ledger import OFFICE_TZ, new_id
from server.settings import Settings
from store.couch import CouchClient
from tests.support.identity import make_user, open_session, sign_in
from tests.support.office import ready_ledger

pytestmark = pytest.mark.anyio

AGUS, NUR = "van.agus", "van.nur"


def visit(example: str, device_time: str, **changes: object) -> dict[str, object]:
    record = json.loads((SCHEMA_DIR / "examples" / "visit" / example).read_text())
    record.update(_id=f"visit:{new_id()}", device_time=device_time, created_at=device_time)
    record.update(changes)
    assert validate_record(record) == []
    return record


def _visit_row(html: str, visit_id: str) -> str:
    """The text of one visit's row on the page, tags removed."""
    found = re.search(rf'<tr[^>]*data-visit="{re.escape(visit_id)}"[^>]*>(.*?)</tr>', html, re.S)
    assert found is not None, f"no row for {visit_id}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


@pytest.fixture
async def van_days(couch: CouchClient, settings: Settings) -> dict[str, dict[str, object]]:
    """Two days of one office's vans, and a visit of another office on the same day."""
    ledger = await ready_ledger(couch, settings)
    await make_user(couch, settings, "budi.santoso", "staff", office="6471", name="Budi Santoso")
    await make_user(couch, settings, AGUS, "van_operator", office="6471", van="van-balikpapan-1", name="Agus")
    await make_user(couch, settings, NUR, "van_operator", office="6471", van="van-balikpapan-1", name="Nur")
    await make_user(couch, settings, "siti.smd", "staff", office="6472", name="Siti Samarinda")
    today = datetime.now(OFFICE_TZ).replace(hour=10, minute=0, second=0, microsecond=0)
    earlier_day = today - timedelta(days=3)
    data = {
        # Putri's fingerprints failed three days ago; today the van recorded her again.
        "first": visit("valid-revisit-needed.json", earlier_day.isoformat()),
        # Written by a phone on UTC: 02:15 UTC is 10.15 WITA, the office's zone.
        "again": visit(
            "valid-recorded.json",
            f"{today.date().isoformat()}T02:15:00+00:00",
            resident_nik="6471046112030001",
            resident_name="Putri Ayu Lestari",
        ),
        # Siti had a fever, and was recorded anyway for an emergency.
        "fever": visit("valid-emergency-fever.json", today.isoformat(), van="van-balikpapan-2"),
        "plain": visit(
            "valid-recorded.json",
            (today + timedelta(minutes=30)).isoformat(),
            resident_nik="6471061503920004",
            resident_name="Muhammad Rizky Pratama",
        ),
        "elsewhere": visit(
            "valid-emergency-fever.json",
            today.isoformat(),
            office="6472",
            van="van-samarinda-1",
            resident_name="Warga Samarinda",
        ),
    }
    for record in data.values():
        await ledger.records.put(record)
    return data


async def test_a_day_shows_who_was_recorded_again_and_why(
    client: TestClient, couch: CouchClient, settings: Settings, van_days: dict[str, dict[str, object]]
) -> None:
    sign_in(client, settings, await open_session(couch, settings, "budi.santoso"))
    page = client.get("/office/visits")
    assert page.status_code == 200
    assert 'data-role="day-summary"' in page.text
    again = _visit_row(page.text, str(van_days["again"]["_id"]))
    # The time in the office's zone, not the phone's UTC; the NIK masked; operators by name.
    assert "10.15 WITA" in again and "02.15" not in again
    assert "647104********01" in again and "6471046112030001" not in page.text
    assert "Agus, Nur" in again
    assert "Direkam lagi" in again and "Perlu kunjungan ulang" in again
    assert "Sidik jari: gagal (Empat jari terluka, perlu kunjungan ulang.)" in again
    earlier_day = str(van_days["first"]["device_time"])[:10]
    day_words = f"{int(earlier_day[8:])} "  # "22 " of "22 Nov 2026"
    assert f"Sebelumnya {day_words}" in again and "10.00 WITA, mobil van-balikpapan-1" in again

    plain = _visit_row(page.text, str(van_days["plain"]["_id"]))
    assert "Direkam lagi" not in plain and "Protokol" not in plain

    fever = _visit_row(page.text, str(van_days["fever"]["_id"]))
    assert "Protokol kesehatan tidak terpenuhi" in fever
    assert "Suhu petugas: 36,4 °C" in fever and "Suhu pemohon: 37,8 °C" in fever
    assert "Sarung tangan dan masker: ya" in fever and "Hand sanitizer: ya" in fever
    assert "Alasan darurat: Pemohon lansia dirawat di rumah" in fever
    # Each van has its own table.
    assert 'data-van="van-balikpapan-2"' in page.text and 'data-van="van-balikpapan-1"' in page.text
    # Another office's van never shows.
    assert "Warga Samarinda" not in page.text and "van-samarinda-1" not in page.text


async def test_an_earlier_day_and_its_english(
    client: TestClient, couch: CouchClient, settings: Settings, van_days: dict[str, dict[str, object]]
) -> None:
    sign_in(client, settings, await open_session(couch, settings, "budi.santoso"))
    earlier_day = str(van_days["first"]["device_time"])[:10]
    page = client.get(f"/office/visits?day={earlier_day}")
    assert page.status_code == 200 and f'data-day="{earlier_day}"' in page.text
    first = _visit_row(page.text, str(van_days["first"]["_id"]))
    # The first visit of a resident is no revisit, even though a later one exists.
    assert "Direkam lagi" not in first and "Perlu kunjungan ulang" in first
    assert str(van_days["again"]["_id"]) not in page.text

    english = client.get("/office/visits?lang=en")
    again = _visit_row(english.text, str(van_days["again"]["_id"]))
    assert "Recorded again" in again and "Fingerprints: failed" in again
    fever = _visit_row(english.text, str(van_days["fever"]["_id"]))
    assert "Applicant temperature: 37.8 °C" in fever and "Emergency reason:" in fever
    assert "Gloves and masks: yes" in fever


async def test_a_day_that_is_no_date_is_refused_in_words(
    client: TestClient, couch: CouchClient, settings: Settings, van_days: dict[str, dict[str, object]]
) -> None:
    sign_in(client, settings, await open_session(couch, settings, "budi.santoso"))
    refused = client.get("/office/visits?day=2026-13-40")
    assert refused.status_code == 400 and "tahun-bulan-tanggal" in refused.text


async def test_staff_of_another_office_see_only_their_own_vans(
    client: TestClient, couch: CouchClient, settings: Settings, van_days: dict[str, dict[str, object]]
) -> None:
    sign_in(client, settings, await open_session(couch, settings, "siti.smd"))
    own = client.get("/office/visits")
    assert own.status_code == 200
    assert "Warga Samarinda" in own.text and "Putri Ayu Lestari" not in own.text
    assert client.get("/office/visits?office=6471").status_code == 403
    client.cookies.clear()
    sign_in(client, settings, await open_session(couch, settings, AGUS))
    assert client.get("/office/visits").status_code == 403  # the van crew work in the app, not here
