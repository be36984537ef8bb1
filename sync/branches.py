"""What the database holds for pushed ids: the winning revision, every conflicting branch, and tombstones.

Write rules judge a pushed revision against the stored record (sync/validation.py), and with `new_edits=false`
a client may add a branch anywhere in a record's tree, including one that wins: so the office of *every* leaf
counts, not only the winner's. Branches are read in one `_bulk_get` for the whole batch, only for the ids
that have conflicts (rare), never one request per document.

The conflicts list for staff (`GET /sync/records/_segel/conflicts`) also lives here: it names only the
branches of the asking office, so a branch written by another office is neither shown nor resolvable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from records.principal import Principal
from records.types import JSONDict
from store.couch import Database
from store.records import RecordsStore


@dataclass
class Stored:
    """The database's side of one batch: live winners (with `_conflicts`), and ids whose winner is deleted."""

    current: dict[str, JSONDict] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)


async def read_stored(db: Database, ids: Iterable[str]) -> Stored:
    """The winning revision of each id that exists (with its conflicts listed), in one request per 500 ids."""
    stored = Stored()
    for row in await RecordsStore(db).current_rows(ids, conflicts=True):
        doc = row.get("doc")
        if isinstance(doc, dict):
            stored.current[str(row["id"])] = doc
        elif isinstance(row.get("value"), dict) and row["value"].get("deleted"):
            stored.removed.add(str(row["id"]))
    return stored


def conflicting_revs(doc: Mapping[str, object]) -> list[str]:
    revs = doc.get("_conflicts")
    return [str(rev) for rev in revs] if isinstance(revs, list) else []


async def read_branches(db: Database, docs: Iterable[Mapping[str, object]]) -> dict[str, list[JSONDict]]:
    """The losing leaf revisions of each record that has conflicts, read in one `_bulk_get`."""
    wanted = [
        {"id": str(doc["_id"]), "rev": rev} for doc in docs if "_id" in doc for rev in conflicting_revs(doc)
    ]
    if not wanted:
        return {}
    branches: dict[str, list[JSONDict]] = {}
    for item in await RecordsStore(db).bulk_get(wanted):
        for entry in item.get("docs", []):
            doc = entry.get("ok")
            if isinstance(doc, dict) and not doc.get("_deleted"):
                branches.setdefault(str(doc["_id"]), []).append(doc)
    return branches


def own_branch(doc: Mapping[str, object], principal: Principal) -> bool:
    """A branch this principal may see and resolve: one of an office they act for."""
    office = doc.get("office")
    return principal.can_act_for_office(office if isinstance(office, str) else None)


async def office_conflicts(db: Database, principal: Principal, office: str | None, limit: int) -> JSONDict:
    """Records with conflicting revisions for staff to resolve, each listing only the office's own branches.

    The view is keyed by the winner's office; a losing branch of another office is left out of the row (and
    a row whose every losing branch is foreign is left out), so one office never learns another's revision.
    """
    params: dict[str, str | int | bool] = {"limit": limit}
    if office is not None:
        params["startkey"] = json.dumps([office])
        params["endkey"] = json.dumps([office, {}])
    rows = [
        row
        for row in await db.view_rows("gateway", "conflicts", **params)
        if isinstance(row.get("value"), list)
    ]
    branches = await read_branches(db, ({"_id": row["id"], "_conflicts": row["value"]} for row in rows))
    answer = []
    for row in rows:
        if not principal.can_act_for_office(str(row["key"][0])):
            continue
        mine = [str(doc["_rev"]) for doc in branches.get(str(row["id"]), []) if own_branch(doc, principal)]
        if mine:
            answer.append({"id": row["id"], "office": row["key"][0], "conflicts": mine})
    return {"rows": answer}
