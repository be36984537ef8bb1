"""Idempotent set-up of Segel's databases: run it on every start, on any backend.

A second run changes nothing: databases that exist are left alone, design documents are written only when
their content differs, and Mango indexes are created with CouchDB's own "exists" answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sync.couch import CouchClient, CouchError
from sync.design_docs import DATABASES, DatabaseSpec
from sync.types import JSONDict

logger = logging.getLogger(__name__)

#: Only server admins may read or write Segel's databases directly: phones go through the gateway.
ADMIN_ONLY_SECURITY: JSONDict = {
    "admins": {"names": [], "roles": []},
    "members": {"names": [], "roles": ["_admin"]},
}


@dataclass
class BootstrapReport:
    """What a bootstrap run changed; an empty report means the databases were already as wanted."""

    created_databases: list[str] = field(default_factory=list)
    written_design_docs: list[str] = field(default_factory=list)
    created_indexes: list[str] = field(default_factory=list)
    security_set: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.created_databases or self.written_design_docs or self.created_indexes or self.security_set
        )


def database_name(prefix: str, suffix: str) -> str:
    return f"{prefix}_{suffix}"


def _strip_rev(doc: JSONDict) -> JSONDict:
    return {k: v for k, v in doc.items() if k != "_rev"}


async def bootstrap(
    client: CouchClient, prefix: str, specs: tuple[DatabaseSpec, ...] = DATABASES
) -> BootstrapReport:
    """Create what is missing and update what differs; never delete anything."""
    report = BootstrapReport()
    for spec in specs:
        name = database_name(prefix, spec.suffix)
        db = client.db(name)
        if not await db.exists() and await db.create():
            report.created_databases.append(name)
        security = await db.security()
        if security.get("members") != ADMIN_ONLY_SECURITY["members"]:
            await db.put_security(ADMIN_ONLY_SECURITY)
            report.security_set.append(name)
        for wanted in spec.design_docs:
            current = await db.get_or_none(str(wanted["_id"]))
            if current is not None and _strip_rev(current) == wanted:
                continue
            doc = dict(wanted)
            if current is not None:
                doc["_rev"] = current["_rev"]
            try:
                await db.put(doc)
            except CouchError as exc:
                if exc.status != 409:  # another instance wrote the same document at the same moment
                    raise
            report.written_design_docs.append(f"{name}/{wanted['_id']}")
        for index in spec.indexes:
            result = await client.json("POST", f"{db.path}/_index", json=index)
            if result.get("result") == "created":
                report.created_indexes.append(f"{name}/{index['name']}")
    if report.changed:
        logger.info("bootstrap changed: %s", report)
    return report
