"""Design documents and Mango indexes that bootstrap installs, as data.

Each feature adds its views here rather than creating them at run time, so a fresh CouchDB, a cluster and
PouchDB Server all end up with the same set, and `bootstrap` can compare instead of blindly rewriting (a
rewritten design document makes CouchDB rebuild its index).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from records.types import JSONDict
from sync.gateway_design import GATEWAY_DESIGN
from sync.reports_design import OFFICE_DESIGN, REPORTS_DESIGN


@dataclass(frozen=True)
class DatabaseSpec:
    """One database: its name suffix (after the prefix), design documents and Mango indexes."""

    suffix: str
    design_docs: tuple[JSONDict, ...] = ()
    indexes: tuple[JSONDict, ...] = field(default_factory=tuple)


RECORDS_DESIGN: JSONDict = {
    "_id": "_design/records",
    "language": "javascript",
    "views": {
        # Counting records by type lets /healthz-style checks and the office dashboard answer without scans.
        "by_type": {
            "map": "function (doc) { if (doc.type) { emit([doc.type, doc.office || null], null); } }",
            "reduce": "_count",
        },
        # Every custody event of one document, in device-time order: the timeline and the chain verifier.
        "handoffs_by_document": {
            "map": (
                "function (doc) { if (doc.type === 'handoff') "
                "{ emit([doc.document_id, doc.device_time, doc.seq], null); } }"
            ),
        },
        # Which handoffs name the same predecessor ([document, prev_hash], null for the first): the office
        # checks find a forked or twice-started chain from one handoff without reading the whole history.
        "handoff_links": {
            "map": (
                "function (doc) { if (doc.type === 'handoff') "
                "{ emit([doc.document_id, doc.prev_hash === undefined ? null : doc.prev_hash], null); } }"
            ),
        },
        # The seals bound to one document, for judging a delivery's seal without its whole history.
        "seals_by_document": {
            "map": "function (doc) { if (doc.type === 'seal') { emit(doc.document_id, doc.bound_at); } }",
        },
    },
}

IDENTITY_DESIGN: JSONDict = {
    "_id": "_design/identity",
    "language": "javascript",
    "views": {
        # A user's passkeys (for /auth/me, login options and revocation) without scanning the database.
        "credentials_by_user": {
            "map": "function (doc) { if (doc.type === 'credential') { emit(doc.user_id, null); } }",
        },
        # Device tokens of a user, so revoking a user can list them.
        "tokens_by_user": {
            "map": "function (doc) { if (doc.type === 'token') { emit(doc.user_id, null); } }",
        },
    },
}

DATABASES: tuple[DatabaseSpec, ...] = (
    DatabaseSpec(
        suffix="records",
        design_docs=(RECORDS_DESIGN, REPORTS_DESIGN, GATEWAY_DESIGN),
        indexes=(
            {"index": {"fields": ["type", "office"]}, "name": "type-office", "ddoc": "idx-type-office"},
        ),
    ),
    DatabaseSpec(suffix="identity", design_docs=(IDENTITY_DESIGN,)),
    DatabaseSpec(suffix="audit"),
    DatabaseSpec(suffix="office", design_docs=(OFFICE_DESIGN,)),
)
