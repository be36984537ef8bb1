"""Exports: CSV of the dashboard figures (per day, partner, courier) and a PDF of one document's custody."""

from __future__ import annotations

import csv
import io

from fpdf import FPDF

from records.types import JSONDict
from server.i18n import gettext as _
from server.i18n import label
from server.local_time import DEFAULT_ZONE, local_time, phone_clock_note
from server.office.dashboard import TILE_KINDS, Dashboard
from server.office.handover import DOC_KIND_LABELS, latin1
from server.office.timeline import CONDITION_LABELS, KIND_LABELS, SIGNATURE_LABELS, Event, Timeline

COUNT_KINDS = (*TILE_KINDS[:1], "sealed", *TILE_KINDS[1:])


def _csv(header: list[str], rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def daily_csv(dashboard: Dashboard) -> str:
    return _csv(
        ["office", "day", *COUNT_KINDS],
        [
            [dashboard.office, day, *(dashboard.per_day[day].get(k, 0) for k in COUNT_KINDS)]
            for day in dashboard.days
        ],
    )


def couriers_csv(dashboard: Dashboard) -> str:
    kinds = ("picked_up", "delivered", "failed_attempt", "returned", "lost")
    return _csv(
        ["office", "from", "to", "courier", "partner", *kinds],
        [
            [
                dashboard.office,
                dashboard.days[0],
                dashboard.days[-1],
                row.courier,
                row.partner,
                *(row.counts.get(k, 0) for k in kinds),
            ]
            for row in dashboard.couriers
        ],
    )


def partners_csv(dashboard: Dashboard) -> str:
    kinds = ("picked_up", "delivered", "failed_attempt", "returned", "lost")
    return _csv(
        ["office", "from", "to", "partner", *kinds],
        [
            [
                dashboard.office,
                dashboard.days[0],
                dashboard.days[-1],
                partner,
                *(counts.get(k, 0) for k in kinds),
            ]
            for partner, counts in sorted(dashboard.partners.items())
        ],
    )


def _recorded_by(h: JSONDict) -> str:
    """The name of whoever recorded the handoff when one of its parties is them, else their user id."""
    for party in (h["from"], h["to"]):
        if party.get("id") == h["author"] and party.get("name"):
            return f"{party['name']} ({h['author']})"
    return str(h["author"])


def _when(event: Event, zone: str) -> str:
    when = local_time(event.happened_at, zone)
    if not event.server_time:
        return _("%(when)s (jam ponsel; belum ada tanda terima server)") % {"when": when}
    note = phone_clock_note(event.handoff.get("device_time"), event.server_time, zone)
    return f"{when} ({note})" if note else when


def custody_pdf(timeline: Timeline, zone: str = DEFAULT_ZONE) -> bytes:
    """One document's custody record: every handoff with seal, condition, time, place and chain status, in
    the language of the request that asked for it.

    Times are in the office's zone (`zone`), each handoff at the server's receipt, with the phone's clock
    only where it disagrees (server/local_time.py)."""
    doc = timeline.document
    pdf = FPDF(format="A4")
    pdf.set_title(_("Catatan serah terima dokumen"))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 8, latin1(_("CATATAN SERAH TERIMA DOKUMEN")), new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.set_font("Helvetica", "", 10)
    kind = DOC_KIND_LABELS.get(str(doc["doc_kind"])) or str(doc["doc_kind"])
    for line in (
        _("Dokumen: %(kind)s atas nama %(name)s (%(id)s)")
        % {"kind": kind, "name": doc["resident"]["name"], "id": doc["_id"]},
        _("Kantor: %(office)s - terdaftar %(when)s")
        % {"office": doc["office"], "when": local_time(doc["created_at"], zone)},
        _("Segel saat ini: %(seal)s") % {"seal": timeline.current_seal or "-"},
        _("Rantai: utuh")
        if timeline.chain.ok
        else _("Rantai: PUTUS di %(at)s (%(reason)s)")
        % {"at": timeline.chain.broken_at, "reason": timeline.chain.reason},
    ):
        pdf.multi_cell(0, 6, latin1(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    for number, event in enumerate(timeline.events, start=1):
        h = event.handoff
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(
            0,
            6,
            latin1(f"{number}. {KIND_LABELS.get(h['kind']) or h['kind']} - {_when(event, zone)}"),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.set_font("Helvetica", "", 9)
        place = f"{h['place']['lat']}, {h['place']['lon']}" if h.get("place") else "-"
        seal = h.get("seal_number_scanned") or _("tidak terbaca")
        match = (
            _("cocok")
            if h.get("seal_match")
            else _("TIDAK cocok (seharusnya %(seal)s)") % {"seal": h.get("seal_number_expected")}
        )
        giver, taker = h["from"], h["to"]
        condition = CONDITION_LABELS.get(h["seal_condition"]) or h["seal_condition"]
        link = _("cocok") if event.link_ok else _("TIDAK cocok")
        lines = (
            _("Dari %(giver)s ke %(taker)s; dicatat oleh %(author)s")
            % {
                "giver": f"{label('party', giver.get('party'))} {giver.get('name') or giver.get('id') or ''}",
                "taker": f"{label('party', taker.get('party'))} {taker.get('name') or taker.get('id') or ''}",
                "author": _recorded_by(h),
            },
            _("Segel %(seal)s (%(match)s), kondisi %(condition)s")
            % {"seal": seal, "match": match, "condition": condition},
            _("Diterima server: %(when)s; tempat: %(place)s; foto: %(n)s")
            % {"when": local_time(event.server_time, zone), "place": place, "n": len(event.photos)},
            _("Tanda tangan: %(signature)s; mata rantai: %(link)s")
            % {
                "signature": SIGNATURE_LABELS.get(event.signature_status) or event.signature_status,
                "link": link,
            },
        )
        for line in lines:
            pdf.multi_cell(0, 5, latin1(line), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    return bytes(pdf.output())
