"""Drive-thru batch handover: staff scan each envelope's seal, the courier confirms, a report is printed.

The handover is a `handover:<id>` record in the office ledger listing every document with the seal number
scanned at the window (each must match the seal bound to the document, or nothing is recorded). The courier
confirms from their own signed-in phone, which writes `handover_confirmation:<id>`; the Berita Acara Serah
Terima (PDF) shows both parties' confirmation, or plainly that the courier has not confirmed yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from fpdf import FPDF

from records.principal import Principal
from records.types import JSONDict
from server.i18n import N_, Labels
from server.office.intake import IntakeError, office_document, sealed_number
from server.office.ledger import Ledger, create_once, new_id, now_iso

DOC_KIND_LABELS = Labels(
    {
        "ektp": N_("e-KTP"),
        "kia": N_("KIA"),
        "akta_kelahiran": N_("Akta Kelahiran"),
        "kk": N_("Kartu Keluarga"),
        "surat_pindah": N_("Surat Pindah"),
    }
)


@dataclass(frozen=True)
class ScannedItem:
    document_id: str
    seal_number: str


async def create_handover(
    ledger: Ledger, principal: Principal, courier: str, partner: str, items: list[ScannedItem]
) -> JSONDict:
    """Record a batch handover; refuses the whole batch if any seal scanned is not the document's seal."""
    if not items:
        raise IntakeError("Pilih minimal satu dokumen dan pindai segelnya.")
    if not courier.strip():
        raise IntakeError("Isi ID kurir yang menerima amplop.")
    documents: list[JSONDict] = []
    office = None
    for item in items:
        document = await office_document(ledger, principal, item.document_id)
        expected = await sealed_number(ledger, item.document_id)
        scanned = item.seal_number.strip().upper()
        if expected is None:
            raise IntakeError(f"Dokumen {item.document_id} belum disegel; segel dulu sebelum diserahkan.")
        if scanned != expected:
            raise IntakeError(
                f"Segel yang dipindai ({scanned or 'kosong'}) untuk {document['resident']['name']} "
                f"bukan segel dokumen ini ({expected}). Periksa amplopnya; tidak ada yang dicatat."
            )
        assigned = (document.get("assignment") or {}).get("courier")
        if assigned != courier.strip():
            who = f"ditugaskan kepada {assigned}" if assigned else "belum ditugaskan kepada kurir"
            raise IntakeError(
                f"Amplop {scanned} ({document['resident']['name']}) {who}, bukan {courier.strip()}. "
                "Sisihkan amplop ini atau ubah penugasannya dulu; tidak ada yang dicatat."
            )
        office = str(document["office"])
        documents.append(
            {
                "document_id": item.document_id,
                "seal_number": scanned,
                "doc_kind": document["doc_kind"],
                "resident_name": document["resident"]["name"],
                "kelurahan": document["resident"]["address"]["kelurahan"],
            }
        )
    handover: JSONDict = {
        "_id": f"handover:{new_id()}",
        "type": "handover",
        "office": office,
        "courier": courier.strip(),
        "partner": partner,
        "documents": documents,
        "author": principal.user_id,
        "author_name": principal.name or principal.user_id,
        "created_at": now_iso(),
    }
    await ledger.office.put(handover)
    return handover


async def confirm_handover(ledger: Ledger, principal: Principal, handover: JSONDict) -> JSONDict:
    """The courier named in the handover confirms receipt of the envelopes (only that courier may)."""
    if principal.role != "courier" or principal.user_id != handover["courier"]:
        raise IntakeError("Hanya kurir yang menerima amplop ini yang dapat mengonfirmasi.")
    confirmation: JSONDict = {
        "_id": f"handover_confirmation:{str(handover['_id']).removeprefix('handover:')}",
        "type": "handover_confirmation",
        "handover_id": handover["_id"],
        "office": handover["office"],
        "courier": principal.user_id,
        "courier_name": principal.name or principal.user_id,
        "device_id": principal.device_id,
        "created_at": now_iso(),
    }
    if not await create_once(ledger.office, confirmation):
        existing = await ledger.office.get(str(confirmation["_id"]))
        return existing
    return confirmation


async def confirmation_of(ledger: Ledger, handover: JSONDict) -> JSONDict | None:
    return await ledger.office.get_or_none(
        f"handover_confirmation:{str(handover['_id']).removeprefix('handover:')}"
    )


def latin1(text: object) -> str:
    """fpdf2's core fonts are Latin-1: keep every character printable rather than failing on one."""
    return str(text).encode("latin-1", "replace").decode("latin-1")


def render_report(handover: JSONDict, confirmation: JSONDict | None, office_name: str) -> bytes:
    """The Berita Acara Serah Terima as PDF bytes."""
    pdf = FPDF(format="A4")
    pdf.set_title("Berita Acara Serah Terima")
    pdf.set_author(latin1(office_name))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 9, "BERITA ACARA SERAH TERIMA DOKUMEN", new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 6, latin1(office_name), new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.cell(0, 6, f"Nomor: {latin1(handover['_id'])}", new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.ln(4)
    rows = (
        ("Waktu serah terima", handover["created_at"]),
        ("Petugas kantor", f"{handover.get('author_name')} ({handover['author']})"),
        ("Kurir", handover["courier"]),
        ("Mitra pengiriman", handover["partner"]),
        ("Jumlah amplop", str(len(handover["documents"]))),
    )
    for label, value in rows:
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(45, 6, label)
        pdf.set_font("Helvetica", "", 10)
        pdf.cell(0, 6, latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    widths = (10, 35, 35, 60, 50)
    pdf.set_font("Helvetica", "B", 10)
    for width, title in zip(
        widths, ("No", "Nomor segel", "Jenis", "Nama penerima", "Kelurahan"), strict=True
    ):
        pdf.cell(width, 7, title, border=1)
    pdf.ln()
    pdf.set_font("Helvetica", "", 10)
    for number, item in enumerate(handover["documents"], start=1):
        values = (
            str(number),
            item["seal_number"],
            DOC_KIND_LABELS.get(item["doc_kind"], item["doc_kind"]),
            item["resident_name"],
            item["kelurahan"],
        )
        for width, value in zip(widths, values, strict=True):
            pdf.cell(width, 7, latin1(value)[:34], border=1)
        pdf.ln()
    pdf.ln(6)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, "Konfirmasi kedua pihak", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(
        0,
        6,
        latin1(
            f"Diserahkan oleh petugas kantor {handover.get('author_name')} pada {handover['created_at']}."
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    if confirmation:
        text = (
            f"Diterima dan dikonfirmasi oleh kurir {confirmation.get('courier_name')} "
            f"({confirmation['courier']}) dari ponselnya pada {confirmation['created_at']}."
        )
    else:
        text = (
            "BELUM dikonfirmasi oleh kurir. Jangan serahkan amplop sebelum kurir mengonfirmasi di ponselnya."
        )
    pdf.multi_cell(0, 6, latin1(text), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
