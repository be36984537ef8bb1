"""A document's custody told in plain words for the resident: no ids, no NIK, no courier ids."""

from __future__ import annotations

from dataclasses import dataclass, field

from records.types import JSONDict
from server.i18n import N_, Labels
from server.i18n import gettext as _
from server.local_time import DEFAULT_ZONE, instant, local_time, phone_clock_note
from server.office.timeline import Event, Timeline

FAILURE_WORDS = Labels(
    {
        "not_at_home": N_("tidak ada orang di rumah"),
        "address_not_found": N_("alamat tidak ditemukan"),
        "refused": N_("ditolak"),
        "damaged": N_("amplop rusak"),
        "other": N_("alasan lain"),
    }
)
PARTNER_WORDS = Labels(
    {
        "gojek": "Gojek",
        "grab": "Grab",
        "pos_indonesia": "Pos Indonesia",
        "maxim": "Maxim",
        "office": N_("petugas kantor"),
    }
)


@dataclass
class Story:
    headline: str
    steps: list[tuple[str, str]] = field(default_factory=list)  # (when, what happened)
    delivered: bool = False
    in_transit: bool = False
    can_choose: bool = True


def carrier_words(document: JSONDict, timeline: Timeline) -> str:
    """ "kurir Gojek" for the partner that carried the envelope: the current assignment or, once it has been
    closed after delivery (server/office/closure.py), the office ledger's record of it; else just "kurir"."""
    partner = (document.get("assignment") or {}).get("partner")
    if not partner:
        closed = [e for e in timeline.office_entries if e.get("type") == "closure" and e.get("partner")]
        partner = closed[-1]["partner"] if closed else None
    if str(partner) not in PARTNER_WORDS:
        return _("kurir")
    return _("kurir %(partner)s") % {"partner": PARTNER_WORDS[str(partner)]}


def in_server_order(events: list[Event]) -> list[Event]:
    """Events in the order the server received them (its receipt of each record), the chain order breaking
    ties (one sync brings several records at once). Phone clocks are not used: one set hours wrong would
    make the story run backwards."""
    indexed = list(enumerate(events))
    indexed.sort(key=lambda pair: (instant(pair[1].happened_at), pair[0]))
    return [event for _, event in indexed]


def when_words(event: Event, zone: str) -> str:
    """The step's time in the office's zone, with the phone's clock only where it disagrees."""
    when = local_time(event.happened_at, zone)
    note = phone_clock_note(event.handoff.get("device_time"), event.server_time, zone)
    return f"{when} ({note})" if note else when


def plain_story(document: JSONDict, timeline: Timeline, zone: str = DEFAULT_ZONE) -> Story:
    carrier = carrier_words(document, timeline)
    steps = [(local_time(document["created_at"], zone), _("Dokumen Anda selesai dicetak di kantor."))]
    headline = _("Dokumen Anda sudah selesai dan menunggu di kantor.")
    delivered = in_transit = False
    for event in in_server_order(timeline.events):
        h = event.handoff
        kind = h["kind"]
        when = when_words(event, zone)
        if kind == "sealed":
            text = _("Dokumen dimasukkan ke amplop bersegel.")
        elif kind == "picked_up":
            text, headline, in_transit = (
                _("Amplop dibawa %(carrier)s untuk diantar.") % {"carrier": carrier},
                _("Sedang diantar."),
                True,
            )
        elif kind == "failed_attempt":
            reason = FAILURE_WORDS.get(str(h.get("failure_reason"))) or _("alasan lain")
            text, headline = (
                _("Kurir datang tetapi gagal mengantar (%(reason)s).") % {"reason": reason},
                _("Pengantaran akan dicoba lagi."),
            )
        elif kind == "delivered":
            representative = h["to"].get("party") == "representative"
            counted = event.delivery_state in ("proven", "settled")
            text, headline, delivered, in_transit = (
                _("Kurir mencatat amplop diterima oleh perwakilan Anda.")
                if representative
                else _("Kurir mencatat amplop diterima oleh Anda."),
                _("Dokumen sudah diterima.")
                if counted
                else _("Kurir mencatat dokumen sudah diterima. Benar? Mohon konfirmasi di bawah ini."),
                True,
                False,
            )
        elif kind == "returned":
            text, headline, in_transit = (
                _("Amplop dikembalikan ke kantor."),
                _("Dokumen kembali di kantor."),
                False,
            )
        elif kind == "lost":
            text, headline = (
                _("Amplop hilang dalam pengantaran; kantor akan mencetak ulang."),
                _("Dokumen dicetak ulang."),
            )
        else:
            text = _("Dokumen dicetak ulang; dokumen lama tidak berlaku.")
        steps.append((when, text))
    can_choose = not any(e.handoff["kind"] in ("picked_up", "delivered") for e in timeline.events)
    return Story(headline, steps, delivered, in_transit, can_choose)
