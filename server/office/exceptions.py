"""The exceptions queue: what staff must follow up, each with the actions that close it.

An exception is a record that shows a problem by itself (from the `reports/exceptions` view), or a finding of
the background checks (`office/findings`). Closing one writes `resolution:<kind>:<record id>` in the office
ledger — the record itself is never edited — and the queue leaves out whatever has a resolution. The kinds
and their actions are a table (`exception_kinds.py`); reading, filtering and paging the queue is
`queue.py`; this module closes items.

A loss is closed with the courier's liability, and with the reprint when staff have the new seal at hand
(`lost.settle_loss`): both are written before the resolution, so a resolution that says "reprinted" always
has its reprint.
"""

from __future__ import annotations

from records.principal import Principal
from records.types import JSONDict
from server.i18n import gettext as _
from server.office.delivery_checks import DELIVERY_KINDS, settle_if_resolved
from server.office.exception_kinds import FINDING_KINDS, KINDS, RECORD_KINDS
from server.office.intake import IntakeError
from server.office.ledger import Ledger, create_once, now_iso
from server.office.lost import LostError, settle_loss
from server.office.open_items import MAX_SCANNED, PAGE, raised_at
from server.office.queue import Queue, list_queue, open_queue
from server.office.queue_items import QueueItem

__all__ = [
    "FINDING_KINDS",
    "KINDS",
    "MAX_SCANNED",
    "PAGE",
    "RECORD_KINDS",
    "Queue",
    "QueueItem",
    "ResolutionError",
    "list_queue",
    "open_queue",
    "resolve",
]


class ResolutionError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def resolve(
    ledger: Ledger,
    principal: Principal,
    kind: str,
    subject: str,
    action: str,
    note: str,
    *,
    seal_number: str = "",
) -> JSONDict:
    """Close one exception with an action and a note; refuses unknown actions and other offices' records.

    For a loss the note is the courier's liability, recorded with it; "lost_reprinted" also reprints the
    document under `seal_number`.
    """
    if kind not in KINDS or kind == "conflict":
        raise ResolutionError(_("Jenis pengecualian ini diselesaikan di halaman konflik, bukan di sini."))
    if action not in dict(KINDS[kind][1]):
        raise ResolutionError(_("Pilih salah satu tindakan yang tersedia."))
    if len(note.strip()) < 5:
        raise ResolutionError(_("Tulis catatan singkat (minimal 5 huruf) tentang apa yang Anda lakukan."))
    office, document_id, record = await _subject_of(ledger, kind, subject)
    if office is None or not principal.can_act_for_office(office):
        raise ResolutionError(_("Pengecualian ini tidak ditemukan di kantor Anda."))
    resolution_id = f"resolution:{kind}:{subject}"
    if await ledger.office.get_or_none(resolution_id) is not None:
        raise ResolutionError(_("Pengecualian ini sudah diselesaikan oleh petugas lain."))
    resolution: JSONDict = {
        "_id": resolution_id,
        "type": "resolution",
        "kind": kind,
        "subject": subject,
        "action": action,
        "note": note.strip(),
        "office": office,
        "author": principal.user_id,
        "created_at": now_iso(),
    }
    if document_id:
        resolution["document_id"] = document_id
    if raised := await raised_at(ledger, kind, record):
        resolution["raised_at"] = raised  # counted against its day's raises: closed days are not read
    if kind == "lost":
        try:
            resolution["loss"] = await settle_loss(ledger, principal, record, action, note, seal_number)
        except (LostError, IntakeError) as exc:
            raise ResolutionError(exc.reason) from exc
    if not await create_once(ledger.office, resolution):
        raise ResolutionError(_("Pengecualian ini sudah diselesaikan oleh petugas lain."))
    if kind in DELIVERY_KINDS:
        await settle_if_resolved(ledger, subject)
    return resolution


async def _subject_of(ledger: Ledger, kind: str, subject: str) -> tuple[str | None, str | None, JSONDict]:
    """The office and document of the exception's subject, and the record (the finding, for findings)."""
    if kind in FINDING_KINDS:
        finding = await ledger.office.get_or_none(f"finding:{kind}:{subject}")
        if finding is None:
            return None, None, {}
        return str(finding["office"]), finding.get("document_id"), finding
    doc = await ledger.records.get_or_none(subject)
    if doc is None or (kind == "lost" and (doc.get("type"), doc.get("kind")) != ("handoff", "lost")):
        return None, None, {}
    return str(doc.get("office")), doc.get("document_id"), doc
