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
from server.i18n import N_, Labels, label, speaking
from server.i18n import gettext as _
from server.local_time import DEFAULT_ZONE, local_time
from server.office.intake import IntakeError, office_document
from server.office.ledger import (
    Ledger,
    create_once,
    docs_by_ids,
    key,
    new_id,
    now_iso,
    records_of_document,
)

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
class Courier:
    """The courier receiving the envelopes, as the identity database names them."""

    user_id: str
    name: str
    partner: str


@dataclass(frozen=True)
class ScannedSeal:
    """One seal scanned at the window; `reason` says why it was refused (None: it may be handed over)."""

    number: str
    reason: str | None = None


class HandoverRefused(IntakeError):
    """Some seals were refused: the page shows every scanned seal again, each refused one with its reason,
    so staff set the wrong envelope aside and submit again instead of scanning the whole batch anew."""

    def __init__(self, scanned: list[ScannedSeal]) -> None:
        refused = [seal for seal in scanned if seal.reason]
        super().__init__(
            _(
                "%(refused)s dari %(scanned)s segel ditolak; tidak ada yang dicatat. Sisihkan amplop yang "
                "ditandai (atau perbaiki datanya), hapus segelnya dari daftar, lalu buat berita acara lagi."
            )
            % {"refused": len(refused), "scanned": len(scanned)}
        )
        self.scanned = scanned


def seal_numbers(text: str) -> list[str]:
    """The seal numbers in the scanned list (one per line or comma separated), as the scanner typed them."""
    return [n.strip().upper() for n in text.replace(",", "\n").splitlines() if n.strip()]


async def _check_seal(
    ledger: Ledger, principal: Principal, office: str, courier: Courier, number: str
) -> tuple[str | None, JSONDict | None]:
    """Why this seal may not be handed to `courier` (or None), and the document entry if it may."""
    seal = await ledger.records.get_or_none(f"seal:{office}:{number}")
    if seal is None:
        # A seal of another office answers the same: the page reveals nothing about other offices.
        return _("Segel tidak terdaftar di kantor ini."), None
    try:
        document = await office_document(ledger, principal, str(seal["document_id"]))
    except IntakeError as exc:
        return exc.reason, None
    if document.get("office") != office:
        return _("Segel tidak terdaftar di kantor ini."), None
    name = document["resident"]["name"]
    history = await records_of_document(ledger, str(document["_id"]))
    expected = None
    for doc in history:
        if doc.get("type") == "seal":
            expected = str(doc["number"])
    if expected is None:
        return _("Dokumen %(name)s belum disegel; segel dulu sebelum diserahkan.") % {"name": name}, None
    if expected != number:
        return (
            _("Segel lama untuk %(name)s: segel dokumen ini sekarang %(expected)s. Periksa amplopnya.")
            % {"name": name, "expected": expected},
            None,
        )
    assigned = (document.get("assignment") or {}).get("courier")
    if assigned != courier.user_id:
        words = (
            _(
                "Amplop untuk %(name)s ditugaskan kepada %(assigned)s, bukan %(courier)s. "
                "Ubah penugasannya dulu."
            )
            if assigned
            else _(
                "Amplop untuk %(name)s belum ditugaskan kepada kurir, bukan %(courier)s. "
                "Ubah penugasannya dulu."
            )
        )
        return words % {"name": name, "assigned": assigned, "courier": courier.user_id}, None
    entry: JSONDict = {
        "document_id": document["_id"],
        "seal_number": number,
        "doc_kind": document["doc_kind"],
        "resident_name": name,
        "kelurahan": document["resident"]["address"]["kelurahan"],
    }
    return None, entry


async def create_handover(
    ledger: Ledger, principal: Principal, office: str, courier: Courier, numbers: list[str]
) -> JSONDict:
    """Record a batch handover of the envelopes whose seals were scanned, or nothing at all.

    Every seal is checked (registered in this office, the document's current seal, assigned to this
    courier) before anything is written; if one is refused, `HandoverRefused` carries every scanned seal
    with the reason of each refused one.
    """
    if not numbers:
        raise IntakeError("Pindai segel minimal satu amplop.")
    scanned: list[ScannedSeal] = []
    documents: list[JSONDict] = []
    seen: set[str] = set()
    for number in numbers:
        if number in seen:
            scanned.append(ScannedSeal(number, _("Dipindai dua kali; hapus salah satunya.")))
            continue
        seen.add(number)
        reason, entry = await _check_seal(ledger, principal, office, courier, number)
        scanned.append(ScannedSeal(number, reason))
        if entry is not None:
            documents.append(entry)
    if any(seal.reason for seal in scanned):
        raise HandoverRefused(scanned)
    handover: JSONDict = {
        "_id": f"handover:{new_id()}",
        "type": "handover",
        "office": office,
        "courier": courier.user_id,
        "courier_name": courier.name,
        "partner": courier.partner,
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
        "_id": confirmation_id(handover),
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


def confirmation_id(handover: JSONDict) -> str:
    """The id of the courier's confirmation of `handover` (created once, so one per handover)."""
    return f"handover_confirmation:{str(handover['_id']).removeprefix('handover:')}"


async def confirmation_of(ledger: Ledger, handover: JSONDict) -> JSONDict | None:
    return await ledger.office.get_or_none(confirmation_id(handover))


#: How many of a courier's latest handovers the app looks at for ones still to confirm.
WAITING_WINDOW = 50


async def waiting_for(ledger: Ledger, office: str, courier: str) -> list[JSONDict]:
    """The courier's handovers not confirmed yet, newest first: id, envelope count and time only.

    This is what the courier's app is told, so it holds nothing of the envelopes themselves (no resident,
    no NIK, no receipt code); the confirm page, behind the courier's own session, shows the seals.
    """
    rows = await ledger.office.view(
        "office",
        "handovers_by_courier",
        startkey=key([office, courier, {}]),
        endkey=key([office, courier]),
        descending=True,
        limit=WAITING_WINDOW,
    )
    handovers = rows["rows"]
    ids = [confirmation_id({"_id": row["id"]}) for row in handovers]
    confirmed = await docs_by_ids(ledger.office, ids)
    return [
        {"handover_id": row["id"], "envelopes": row["value"], "created_at": row["key"][2]}
        for row, confirmation in zip(handovers, ids, strict=True)
        if confirmation not in confirmed
    ]


def latin1(text: object) -> str:
    """fpdf2's core fonts are Latin-1: keep every character printable rather than failing on one."""
    return str(text).encode("latin-1", "replace").decode("latin-1")


def when(moment: str, zone: str = DEFAULT_ZONE) -> str:
    """A time as the office reads it on paper: in its own zone, in the one format of every page, and in
    Indonesian whatever the language of the page it was printed from (the paper is Indonesian)."""
    with speaking("id"):
        return local_time(moment, zone)


@dataclass(frozen=True)
class ReportParties:
    """Who the Berita Acara names, by name, from the identity database (ids only as a fallback)."""

    office_name: str
    officer_name: str
    courier_name: str
    zone: str = DEFAULT_ZONE  # the office's time zone (server/local_time.py)


def report_lines(handover: JSONDict, confirmation: JSONDict | None, parties: ReportParties) -> list[str]:
    """The confirmation paragraph of the report, worded for the paper (and the same on the page)."""
    handed = when(str(handover["created_at"]), parties.zone)
    lines = [f"Diserahkan oleh petugas {parties.officer_name} pada {handed}."]
    if confirmation:
        lines.append(
            f"Diterima dan dikonfirmasi oleh kurir {parties.courier_name} dari ponselnya pada "
            f"{when(str(confirmation['created_at']), parties.zone)}."
        )
    else:
        lines.append(
            "Belum dikonfirmasi oleh kurir. Jangan serahkan amplop sebelum kurir mengonfirmasi di ponselnya."
        )
    return lines


def render_report(handover: JSONDict, confirmation: JSONDict | None, parties: ReportParties) -> bytes:
    """The Berita Acara Serah Terima as PDF bytes: office, both parties by name, the envelopes, signatures.

    The envelope list holds what the handover page shows (seal, kind, resident name, kelurahan), never a
    NIK or a receipt code: the paper leaves the office with the courier.
    """
    with speaking("id"):  # an Indonesian paper, whatever the language of the page it is printed from
        return _report(handover, confirmation, parties)


def _report(handover: JSONDict, confirmation: JSONDict | None, parties: ReportParties) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title("Berita Acara Serah Terima")
    pdf.set_author(latin1(parties.office_name))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 9, "BERITA ACARA SERAH TERIMA DOKUMEN", new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 6, latin1(parties.office_name), new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.set_font("Helvetica", "", 10)
    paper_number = str(handover["_id"]).removeprefix("handover:")  # the paper's number, not a record id
    pdf.cell(0, 6, f"Nomor: {latin1(paper_number)}", new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.ln(4)
    status = when(str(confirmation["created_at"]), parties.zone) if confirmation else "Belum dikonfirmasi"
    rows = (
        ("Kantor", parties.office_name),
        ("Waktu serah terima", when(str(handover["created_at"]), parties.zone)),
        ("Petugas kantor", parties.officer_name),
        ("Kurir", parties.courier_name),
        ("Mitra pengiriman", label("partner", handover["partner"])),
        ("Jumlah amplop", str(len(handover["documents"]))),
        ("Konfirmasi kurir", status),
    )
    for heading, value in rows:
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(45, 6, heading)
        pdf.set_font("Helvetica", "", 10)
        pdf.cell(0, 6, latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    widths = (10, 35, 35, 60, 50)
    pdf.set_font("Helvetica", "B", 10)
    for width, title in zip(
        widths, ("No", "Nomor segel", "Jenis dokumen", "Nama penerima", "Kelurahan"), strict=True
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
    for line in report_lines(handover, confirmation, parties):
        pdf.multi_cell(0, 6, latin1(line), new_x="LMARGIN", new_y="NEXT")
    _signatures(pdf, parties)
    return bytes(pdf.output())


def _signatures(pdf: FPDF, parties: ReportParties) -> None:
    """Two signature blocks side by side: the officer who handed over, the courier who received."""
    pdf.ln(10)
    half = (pdf.w - pdf.l_margin - pdf.r_margin) / 2
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(half, 6, "Yang menyerahkan,", align="C")
    pdf.cell(half, 6, "Yang menerima,", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(half, 6, "Petugas", align="C")
    pdf.cell(half, 6, "Kurir", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(20)
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(half, 6, "(" + "_" * 30 + ")", align="C")
    pdf.cell(half, 6, "(" + "_" * 30 + ")", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(half, 6, latin1(parties.officer_name), align="C")
    pdf.cell(half, 6, latin1(parties.courier_name), align="C", new_x="LMARGIN", new_y="NEXT")
