"""Who may pull what: the visibility rules of the sync gateway, written once, as data and pure functions.

Every synced record lives under one or more *scopes* (like Couchbase's channels): `office:<code>` for every
record of an office, `courier:<user>` for a document assigned to that courier, `van:<van>` for the visits
of a van, and `doc:<document id>` for the seals, handoffs and photos that belong to one document. A
principal holds a few *root scopes* and, for couriers, follows each visible document to its linked records.

The same rules exist in two forms that must agree (tests check they do):

* `record_scopes(record)` here, used to judge single records (changes feed, `_bulk_get`, doc GET, purge);
* the `by_scope` / `by_link` views in `sync/gateway_design.py`, used for the initial pull, so a courier's
  first sync reads only their own rows of the index instead of the whole database.

Anything that is not a synced record type (server-written receipts and refusals, design documents, unknown
types) is visible to nobody through the gateway: deny by default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from records.principal import Principal

#: Record types that travel through the gateway at all (stops, the van schedule, are pulled only: they are
#: written by the office, never pushed).
SYNCED_TYPES = frozenset({"document", "seal", "handoff", "photo", "visit", "complaint", "stop"})
#: Record types that belong to one document and follow its visibility for couriers.
LINKED_TYPES = frozenset({"seal", "handoff", "photo"})


@dataclass(frozen=True)
class ScopeRule:
    """What one role sees: root scope templates and whether documents pull in their linked records.

    Templates name principal fields in braces; a template whose field is empty gives no scope (a courier
    without an id, a van operator without a van), so a half-configured account sees nothing.
    """

    roots: tuple[str, ...]
    follow_links: bool = False
    everything: bool = False


#: The rules themselves. Read this table to know who sees what.
RULES: dict[str, ScopeRule] = {
    # Documents assigned to them, and the seals, handoffs and photos of those documents (the whole custody
    # chain, since the next handoff must carry the hash of the previous one, whoever wrote it).
    "courier": ScopeRule(roots=("courier:{user_id}",), follow_links=True),
    # The schedule (stops) and visits of their van.
    "van_operator": ScopeRule(roots=("van:{van}",)),
    # Everything of their office.
    "staff": ScopeRule(roots=("office:{office}",)),
    # Everything.
    "admin": ScopeRule(roots=(), everything=True),
}


def root_scopes(principal: Principal) -> list[str]:
    """The scopes a principal holds directly (empty for admins, who see everything, and for unknown roles)."""
    rule = RULES.get(principal.role)
    if rule is None:
        return []
    fields = {"user_id": principal.user_id, "office": principal.office, "van": principal.van}
    scopes = []
    for template in rule.roots:
        name = template[: template.index(":")]
        field = template[template.index("{") + 1 : template.index("}")]
        value = fields.get(field)
        if value:
            scopes.append(f"{name}:{value}")
    return scopes


def follows_links(principal: Principal) -> bool:
    rule = RULES.get(principal.role)
    return bool(rule and rule.follow_links)


def sees_everything(principal: Principal) -> bool:
    rule = RULES.get(principal.role)
    return bool(rule and rule.everything)


def record_scopes(record: Mapping[str, object]) -> list[str]:
    """Every scope a record lives under, derived from the record alone (mirrors the `by_scope` view)."""
    record_type = record.get("type")
    if record_type not in SYNCED_TYPES or record.get("_deleted"):
        return []
    scopes = []
    office = record.get("office")
    if isinstance(office, str) and office:
        scopes.append(f"office:{office}")
    if record_type == "document":
        assignment = record.get("assignment")
        courier = assignment.get("courier") if isinstance(assignment, Mapping) else None
        if isinstance(courier, str) and courier:
            scopes.append(f"courier:{courier}")
    if record_type in ("visit", "stop"):
        van = record.get("van")
        if isinstance(van, str) and van:
            scopes.append(f"van:{van}")
    return scopes


def linked_document_id(record: Mapping[str, object]) -> str | None:
    """The document a seal, handoff or photo belongs to, or None for other records."""
    if record.get("type") not in LINKED_TYPES:
        return None
    document_id = record.get("document_id")
    return document_id if isinstance(document_id, str) and document_id.startswith("document:") else None


def is_visible(
    record: Mapping[str, object],
    principal: Principal,
    linked_document: Mapping[str, object] | None = None,
) -> bool:
    """May `principal` pull `record`? `linked_document` is the current document a linked record belongs to.

    Callers fetch `linked_document` only when `needs_linked_document` says so; without it a linked record
    is judged by its own scopes alone (a courier then does not see it: deny by default).
    """
    if record.get("type") not in SYNCED_TYPES or record.get("_deleted"):
        return False
    if sees_everything(principal):
        return True
    mine = set(root_scopes(principal))
    if mine.intersection(record_scopes(record)):
        return True
    if not follows_links(principal) or linked_document is None:
        return False
    if linked_document.get("_id") != linked_document_id(record):
        return False
    if linked_document.get("type") != "document" or linked_document.get("_deleted"):
        return False
    return bool(mine.intersection(record_scopes(linked_document)))


def needs_linked_document(record: Mapping[str, object], principal: Principal) -> bool:
    """Whether judging `record` for `principal` needs its document (so callers fetch only what is needed)."""
    if not follows_links(principal) or linked_document_id(record) is None:
        return False
    return not set(root_scopes(principal)).intersection(record_scopes(record))
