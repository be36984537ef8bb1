"""Sync conflicts: every revision side by side, staff pick the winner, and no revision is thrown away.

Resolving copies *all* revisions into a `conflict_history:<id>:<n>` document in the office ledger first, then
writes the chosen content as a new revision on top of the current winner, and only then deletes the losing
branches. If any step fails the history already holds every revision.
"""

from __future__ import annotations

from records.principal import Principal
from records.types import JSONDict
from server.i18n import gettext as _
from server.office.ledger import Ledger, create_once, new_id, now_iso
from store.couch import CouchNotFound
from store.records import RecordsStore


class ConflictError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def load_revisions(ledger: Ledger, doc_id: str) -> tuple[JSONDict, list[JSONDict]]:
    """The current winner and every revision in conflict (winner first)."""
    try:
        current = await ledger.records.get(doc_id, conflicts=True)
    except CouchNotFound as exc:
        raise ConflictError(_("Catatan tidak ditemukan.")) from exc
    revs = [str(current["_rev"]), *[str(r) for r in current.get("_conflicts", [])]]
    answer = await RecordsStore(ledger.records).open_revs(doc_id, revs)
    found = {str(item["ok"]["_rev"]): item["ok"] for item in answer if "ok" in item}
    return current, [found[rev] for rev in revs if rev in found]


def own_revisions(principal: Principal, revisions: list[JSONDict]) -> list[JSONDict]:
    """The revisions of an office the principal acts for: a branch another office wrote (pushed before the
    gateway judged every branch, or by an admin) is neither shown to this office nor resolved by it; it
    stays for an admin, and the record stays in conflict until then."""
    return [r for r in revisions if principal.can_act_for_office(str(r.get("office")))]


def _content(doc: JSONDict) -> JSONDict:
    return {k: v for k, v in doc.items() if k not in ("_rev", "_conflicts", "_revisions", "_attachments")}


async def resolve_conflict(
    ledger: Ledger, principal: Principal, doc_id: str, winner_rev: str, note: str
) -> JSONDict:
    current, every_revision = await load_revisions(ledger, doc_id)
    office = str(current.get("office"))
    if not principal.can_act_for_office(office):
        raise ConflictError(_("Catatan tidak ditemukan."))
    revisions = own_revisions(principal, every_revision)
    if len(revisions) < 2:
        raise ConflictError(_("Catatan ini tidak (lagi) berkonflik; muat ulang halaman."))
    chosen = next((r for r in revisions if r["_rev"] == winner_rev), None)
    if chosen is None:
        raise ConflictError(_("Revisi yang dipilih tidak ada di antara revisi yang bertentangan."))
    history: JSONDict = {
        "_id": f"conflict_history:{doc_id}:{new_id()}",
        "type": "conflict_history",
        "office": office,
        "record_id": doc_id,
        "document_id": current.get("document_id") if current.get("type") != "document" else doc_id,
        "revisions": revisions,
        "winner_rev": winner_rev,
        "author": principal.user_id,
        "note": note.strip(),
        "created_at": now_iso(),
    }
    await create_once(ledger.office, history)
    body = {**_content(chosen), "_rev": current["_rev"]}
    if "_attachments" in current and current["_rev"] == winner_rev:
        body["_attachments"] = current["_attachments"]
    new_rev = await ledger.records.put(body)
    for revision in revisions:
        if revision["_rev"] != current["_rev"]:
            await ledger.records.delete(doc_id, str(revision["_rev"]))
    resolution: JSONDict = {
        "_id": f"resolution:conflict:{doc_id}:{new_rev}",
        "type": "resolution",
        "kind": "conflict",
        "subject": doc_id,
        "action": "winner_chosen",
        "note": note.strip(),
        "office": office,
        "author": principal.user_id,
        "created_at": now_iso(),
        "history_id": history["_id"],
        "winner_rev": winner_rev,
        "new_rev": new_rev,
    }
    if history.get("document_id"):
        resolution["document_id"] = history["document_id"]
    await create_once(ledger.office, resolution)
    return resolution
