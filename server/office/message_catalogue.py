"""Every text Segel sends to residents, in one catalogue: what staff see the message called (in the page's
language, from the translation catalogue) and the text itself.

Messages go out in Bahasa Indonesia only: an SMS is short and the residents of a civil-registry office read
Indonesian. The fields in braces are filled by `render_message`; nothing else of the document (no NIK) can
reach a message, because nothing else is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.i18n import N_
from server.i18n import gettext as _


@dataclass(frozen=True)
class MessageTemplate:
    #: What staff see the message called (a msgid; its English is in the catalogue).
    label: str
    text: str


CATALOGUE: dict[str, MessageTemplate] = {
    "document_ready": MessageTemplate(
        N_("Dokumen siap"),
        "Disdukcapil: dokumen {doc_kind} atas nama {name} sudah selesai. Pilih diantar kurir atau "
        "ambil sendiri, dan lihat statusnya di {link} . Kode penerimaan: {receipt_code} (berikan hanya "
        "kepada kurir saat amplop diterima).",
    ),
    "out_for_delivery": MessageTemplate(
        N_("Sedang diantar"),
        "Disdukcapil: dokumen {doc_kind} atas nama {name} sedang diantar kurir{when}. Status: {link}",
    ),
    "delivered": MessageTemplate(
        N_("Tercatat diterima"),
        "Disdukcapil: kurir mencatat dokumen {doc_kind} atas nama {name} sudah diterima{when}. Mohon "
        "konfirmasi, atau laporkan bila belum Anda terima: {link}",
    ),
    "complaint_received": MessageTemplate(
        N_("Pengaduan diterima"),
        "Disdukcapil: pengaduan Anda tentang dokumen {doc_kind} sudah kami terima. {link}",
    ),
}


def render_message(
    kind: str, *, doc_kind: str, name: str, link: str, receipt_code: str = "", when: str = ""
) -> str:
    """The text of a message of `kind` (a key of `CATALOGUE`; any other is a programming error).

    `when` is the event's time as the office shows it ("17 Nov 2026 10.47 WITA", server/local_time.py), told
    as " pada …" in the messages that have a time; nothing when not given."""
    return CATALOGUE[kind].text.format(
        doc_kind=doc_kind.upper().replace("_", " "),
        name=name,
        link=link,
        receipt_code=receipt_code,
        when=f" pada {when}" if when else "",
    )


def label_of(kind: str) -> str:
    """The name of a kind of message for the staff pages, in the page's language."""
    template = CATALOGUE.get(kind)
    return _(template.label) if template else kind
