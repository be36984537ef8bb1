"""Views the sync gateway reads, as data; `DATABASES` hands them to bootstrap (`server/databases.py`).

`by_scope` and `by_link` are the index behind an initial pull: rows keyed by scope, so a courier's first
sync reads their own rows, not the database. Their map functions mirror `sync.visibility.record_scopes` and
`linked_document_id`; `tests/unit/test_visibility.py` runs both on the same records to keep them in step.
Values carry the winning revision and any conflicting ones, which is what a `_changes` row needs.
"""

from __future__ import annotations

from records.types import JSONDict
from store.design_docs import DatabaseSpec

_REVS = "var revs = [doc._rev].concat(doc._conflicts || []);"
_SYNCED = "var synced = {document: 1, seal: 1, handoff: 1, photo: 1, visit: 1, complaint: 1, stop: 1};"

BY_SCOPE_MAP = (
    "function (doc) {"
    f" {_SYNCED} if (!synced[doc.type] || doc._deleted) {{ return; }} {_REVS}"
    " if (doc.office) { emit(['office:' + doc.office, doc._id], revs); }"
    " if (doc.type === 'document' && doc.assignment && doc.assignment.courier) {"
    " emit(['courier:' + doc.assignment.courier, doc._id], revs); }"
    " if ((doc.type === 'visit' || doc.type === 'stop') && doc.van) {"
    " emit(['van:' + doc.van, doc._id], revs); }"
    " }"
)

BY_LINK_MAP = (
    "function (doc) {"
    " var linked = {seal: 1, handoff: 1, photo: 1};"
    " if (!linked[doc.type] || doc._deleted || typeof doc.document_id !== 'string') { return; }"
    " if (doc.document_id.indexOf('document:') !== 0) { return; }"
    f" {_REVS} emit(doc.document_id, revs); }}"
)

# One author's handoffs by their own sequence number: a second handoff with a seq already used is a replay.
HANDOFF_SEQ_MAP = (
    "function (doc) { if (doc.type === 'handoff' && doc.author && typeof doc.seq === 'number') {"
    " emit([doc.author, doc.seq], null); } }"
)

# Documents with conflicting revisions, per office, for staff to resolve.
CONFLICTS_MAP = (
    "function (doc) { if (doc._conflicts && doc.type) {"
    " emit([doc.office || '', doc._id], doc._conflicts); } }"
)

GATEWAY_DESIGN: JSONDict = {
    "_id": "_design/gateway",
    "language": "javascript",
    "views": {
        "by_scope": {"map": BY_SCOPE_MAP},
        "by_link": {"map": BY_LINK_MAP},
        "handoff_seq": {"map": HANDOFF_SEQ_MAP},
        "conflicts": {"map": CONFLICTS_MAP},
    },
}

#: What the gateway installs: its views in the records database it replicates.
DATABASES: tuple[DatabaseSpec, ...] = (DatabaseSpec(suffix="records", design_docs=(GATEWAY_DESIGN,)),)
