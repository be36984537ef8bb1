"""What a card of the exceptions queue says about its item, in the reader's language: the seal found
damaged and by whom, a loss as a loss, a user's hour of refusals counted by reason.

Findings of the background checks are worded by server/office/finding_texts.py; this is the wording of the
records that show a problem by themselves.
"""

from __future__ import annotations

from collections.abc import Mapping

from records.types import JSONDict
from server.i18n import gettext as _
from server.i18n import label
from server.local_time import local_time, parse
from server.office.people import Person, courier_of, name_of


def item_detail(kind: str, doc: JSONDict, people: Mapping[str, Person], zone: str) -> str:
    if kind == "lost":
        return _loss_detail(doc, people)
    if kind == "seal_mismatch":
        return _("Dipindai %(scanned)s, seharusnya %(expected)s.") % {
            "scanned": doc.get("seal_number_scanned") or "-",
            "expected": doc.get("seal_number_expected"),
        }
    if kind == "seal_damaged":
        return _("Segel %(condition)s saat %(event)s oleh %(who)s.") % {
            "condition": label("seal_condition", doc.get("seal_condition")),
            "event": label("handoff", doc.get("kind")).lower(),
            "who": name_of(doc.get("author"), doc, people),
        }
    if kind == "photo_missing":
        return (
            _("Catatan tanpa foto segel.")
            if doc.get("type") == "handoff"
            else _("Foto belum sampai di server.")
        )
    if kind == "complaint":
        return f"{label('complaint', doc.get('kind'))}: {doc.get('description')}"
    if kind == "unsigned":
        return _("%(event)s oleh %(who)s tanpa passkey: %(reason)s") % {
            "event": label("handoff", doc.get("kind")),
            "who": name_of(doc.get("author"), doc, people),
            "reason": doc.get("unsigned_reason"),
        }
    if kind == "refused" and doc.get("type") == "refusal_tally":
        return _tally_detail(doc, people, zone)
    if kind == "refused":
        return _("%(what)s dari %(user)s ditolak (%(why)s): %(reason)s") % {
            "what": label("record_type", doc.get("record_type")),
            "user": name_of(doc.get("user"), doc, people),
            "why": label("refusal", doc.get("code")),
            "reason": _refusal_reason(doc),
        }
    if kind == "conflict":
        return _("%(n)s revisi bertentangan.") % {"n": len(doc.get("_conflicts") or [])}
    return ""


def _refusal_reason(doc: JSONDict) -> str:
    """The gateway's reason in the reader's language (its msgid and values, sync/refusals.py); a refusal
    stored before they were kept says it in both languages, as the phone was told."""
    message, args = doc.get("message"), doc.get("message_args")
    if not isinstance(message, str) or not message:
        return str(doc.get("reason") or "-")
    return _(message) % args if isinstance(args, dict) and args else _(message)


def _loss_detail(doc: JSONDict, people: Mapping[str, Person]) -> str:
    """ "Dilaporkan hilang oleh Andi Saputra." when the courier reported it on the phone; recorded at the
    desk, who recorded it and who held the envelope; then the courier's own account."""
    holder = courier_of(doc)
    courier = name_of(holder, doc, people) if holder else _("kurir tidak diketahui")
    if holder is None or doc.get("author") == holder:
        text = _("Dilaporkan hilang oleh %(courier)s.") % {"courier": courier}
    else:
        text = _("Dicatat hilang oleh %(who)s; terakhir dibawa %(courier)s.") % {
            "who": name_of(doc.get("author"), doc, people),
            "courier": courier,
        }
    if doc.get("note"):
        text += " " + _("Kronologi: %(note)s") % {"note": doc["note"]}
    return text


def _tally_detail(doc: JSONDict, people: Mapping[str, Person], zone: str) -> str:
    """One user's refusals of one hour (sync/refusals.py): "23 catatan ditolak dari Andi, ..." instead of
    23 items, however much junk one device sends."""
    hour = str(doc.get("hour", ""))
    counts: JSONDict = doc["counts"] if isinstance(doc.get("counts"), dict) else {}
    codes = ", ".join(
        f"{label('refusal', code)} {n}" for code, n in sorted(counts.items(), key=lambda item: -int(item[1]))
    )
    start = parse(hour[:13] + ":00:00Z") if len(hour) >= 13 else None
    return _(
        "%(total)s catatan ditolak dari %(user)s, mulai %(hour)s selama satu jam (%(codes)s). "
        "%(stored)s pertama disimpan utuh untuk diperiksa."
    ) % {
        "total": doc.get("total", 0),
        "user": name_of(doc.get("user"), doc, people),
        "hour": local_time(start, zone) if start else hour,
        "codes": codes,
        "stored": doc.get("stored", 0),
    }
