"""Intake against the real CouchDB: registering, CSV import with rejected rows, seal binding, assignment."""

from __future__ import annotations

import pytest

from server.office import intake
from server.office.intake import IntakeError
from server.office.timeline import load_timeline
from server.settings import Settings
from store.couch import CouchClient
from tests.support.office import NIKS, put_document, ready_ledger, staff

pytestmark = pytest.mark.anyio

CSV_HEADER = (
    "doc_kind,name,nik,phone,street,rt,rw,kelurahan,kecamatan,city,province,postal_code,lat,lon,delivery\n"
)


async def test_csv_import_accepts_good_rows_and_reports_bad_rows_by_line(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    text = CSV_HEADER + (
        f"ektp,Siti Aminah,{NIKS[1]},081254781203,Jl. Ahmad Yani 3,001,002,Prapatan,Balikpapan Kota,"
        "Kota Balikpapan,Kalimantan Timur,76111,,,\n"
        "kia,Anak Baru,1234,081254781203,Jl. Ahmad Yani 3,001,002,Prapatan,Balikpapan Kota,"
        "Kota Balikpapan,Kalimantan Timur,76111,,,\n"
        f"paspor,Ali,{NIKS[0]},081254781203,Jl. Ahmad Yani 3,001,002,Prapatan,Balikpapan Kota,"
        "Kota Balikpapan,Kalimantan Timur,76111,,,\n"
    )
    report = intake.parse_csv(text, "6471", "budi.santoso")
    await intake.register_documents(ledger, report.accepted)

    assert [doc["resident"]["name"] for doc in report.accepted] == ["Siti Aminah"]
    assert [line for line, _ in report.rejected] == [3, 4]
    # Each reason names its field once, by its label on the form, and says why in Indonesian.
    assert "NIK: NIK harus 16 angka (ini 4)" in report.rejected[0][1]
    assert any(reason.startswith('Jenis: harus salah satu dari "ektp"') for reason in report.rejected[1][1])
    assert not any("resident.nik" in reason for reason in report.rejected[0][1])
    stored = await ledger.records.get(str(report.accepted[0]["_id"]))
    assert stored["delivery"] == "undecided"


async def test_csv_without_required_columns_is_refused_whole() -> None:
    with pytest.raises(IntakeError, match="Kolom CSV kurang"):
        intake.parse_csv("name,nik\nA,1\n", "6471", "budi.santoso")


async def test_binding_a_seal_writes_the_seal_and_the_first_custody_event(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    doc = await put_document(ledger)

    handoff = await intake.bind_seal(ledger, staff(), str(doc["_id"]), " bp00012345 ")

    seal = await ledger.records.get("seal:6471:BP00012345")
    assert seal["document_id"] == doc["_id"]
    assert handoff["kind"] == "sealed" and handoff["prev_hash"] is None
    assert handoff["unsigned_reason"] == intake.UNSIGNED_BY_OFFICE
    timeline = await load_timeline(ledger, doc)
    assert [e.handoff["kind"] for e in timeline.events] == ["sealed"]
    assert timeline.chain.ok and timeline.current_seal == "BP00012345"


async def test_a_seal_is_used_once_and_a_document_is_sealed_once(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    first, second = await put_document(ledger), await put_document(ledger, nik=NIKS[1])
    await intake.bind_seal(ledger, staff(), str(first["_id"]), "BP00012345")

    with pytest.raises(IntakeError, match="sudah pernah dipakai"):
        await intake.bind_seal(ledger, staff(), str(second["_id"]), "BP00012345")
    with pytest.raises(IntakeError, match="sudah disegel"):
        await intake.bind_seal(ledger, staff(), str(first["_id"]), "BP00099999")
    with pytest.raises(IntakeError, match="tidak valid"):
        await intake.bind_seal(ledger, staff(), str(second["_id"]), "12-34")


async def test_staff_of_another_office_cannot_seal_or_assign(couch: CouchClient, settings: Settings) -> None:
    ledger = await ready_ledger(couch, settings)
    doc = await put_document(ledger)
    other = staff(office="3273", user_id="rina.bandung")

    with pytest.raises(IntakeError, match="tidak ditemukan"):
        await intake.bind_seal(ledger, other, str(doc["_id"]), "BP00012345")
    with pytest.raises(IntakeError, match="tidak ditemukan"):
        await intake.assign(ledger, other, [str(doc["_id"])], "gojek.andi", "gojek", None)
    assert await ledger.records.get_or_none("seal:3273:BP00012345") is None
    assert "assignment" not in await ledger.records.get(str(doc["_id"]))


async def test_assigning_a_batch_sets_courier_partner_and_batch(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    docs = [await put_document(ledger), await put_document(ledger, nik=NIKS[1], delivery="undecided")]
    ids = [str(d["_id"]) for d in docs]

    await intake.assign(ledger, staff(), ids, "gojek.andi", "gojek", "B20261123-1")

    for doc_id in ids:
        stored = await ledger.records.get(doc_id)
        assert stored["assignment"]["courier"] == "gojek.andi"
        assert stored["assignment"]["batch"] == "B20261123-1"
        assert stored["delivery"] == "courier"
    with pytest.raises(IntakeError, match="Mitra"):
        await intake.assign(ledger, staff(), ids, "gojek.andi", "uber", None)


async def test_desk_handoffs_skip_sequence_numbers_a_phone_already_claimed(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    # The same staff member's phone already pushed handoff seq 1 and 2 through the gateway.
    for seq in (1, 2):
        await ledger.receipts.put(
            {"_id": f"seqclaim:budi.santoso:{seq}", "type": "seq_claim", "handoff_id": "x"}
        )
    first, second = await put_document(ledger), await put_document(ledger, nik=NIKS[1])
    a = await intake.bind_seal(ledger, staff(), str(first["_id"]), "BP00000031")
    b = await intake.bind_seal(ledger, staff(), str(second["_id"]), "BP00000032")
    assert (a["seq"], b["seq"]) == (3, 4)
    claim = await ledger.receipts.get("seqclaim:budi.santoso:3")
    assert claim["handoff_id"] == a["_id"]
