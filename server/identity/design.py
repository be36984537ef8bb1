"""Design documents of the identity database, as data; `DATABASES` hands them to bootstrap
(`server/databases.py`). The audit database (`Settings.audit_db`) is identity's too: it has no views, since
entries are read by id range (`server/identity/audit.py`).
"""

from __future__ import annotations

from records.types import JSONDict
from store.design_docs import DatabaseSpec

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

#: What identity installs: the identity database with its views, and the audit database.
DATABASES: tuple[DatabaseSpec, ...] = (
    DatabaseSpec(suffix="identity", design_docs=(IDENTITY_DESIGN,)),
    DatabaseSpec(suffix="audit"),
)
