"""What is read and written in the identity database (`<prefix>_identity`) by document kind, not by id.

The identity database's document ids (`credential:<id>`, `signed:<record hash>`, `sigcount:<id>:<n>`,
`user:<id>`) are spelled here, so the gateway's signature check (`sync/signatures.py`) and the server's
identity package share one layout instead of each building ids and URLs. Errors are the client's own
(`CouchConflict` when a marker already exists, `CouchUnavailable`...); callers translate them.
"""

from __future__ import annotations

import json

from records.types import JSONDict
from store.couch import Database


class IdentityDocs:
    """Passkeys, their replay and counter markers, and sessions with their users."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def credential(self, credential_id: str) -> JSONDict | None:
        """A passkey by its base64url id, or None when it was never registered."""
        return await self.db.get_or_none(f"credential:{credential_id}")

    async def credentials(self, user_id: str) -> list[JSONDict]:
        """Every passkey of one user (revoked ones too), from the `credentials_by_user` view."""
        rows = await self.db.view_rows(
            "identity", "credentials_by_user", key=json.dumps(user_id), include_docs=True
        )
        return [row["doc"] for row in rows]

    async def save_credential(self, credential: JSONDict) -> str:
        """Write a passkey back (its `_rev` decides); CouchConflict when it changed since it was read."""
        return await self.db.put(credential)

    async def signed_marker(self, digest: str) -> JSONDict | None:
        """Which passkey signed the record with this custody hash, if any did (the replay marker)."""
        return await self.db.get_or_none(f"signed:{digest}")

    async def add_signed_marker(self, digest: str, marker: JSONDict) -> None:
        """Record that a passkey signed this hash; CouchConflict when a marker exists already."""
        await self.db.put({**marker, "_id": f"signed:{digest}", "type": "signed"})

    async def counter_marker(self, credential_id: str, counter: int) -> JSONDict | None:
        """The record hash a passkey signed with this counter value, if it has used it."""
        return await self.db.get_or_none(counter_marker_id(credential_id, counter))

    async def add_counter_marker(self, credential_id: str, counter: int, marker: JSONDict) -> None:
        """Claim a counter value for one record hash; CouchConflict when it was claimed already."""
        await self.db.put({**marker, "_id": counter_marker_id(credential_id, counter), "type": "sigcount"})

    async def with_users(self, keys: list[str]) -> dict[str, JSONDict]:
        """Several documents (a session or token and a `user:` document) in one read, by id; missing ones
        are left out. One request, so a revoked user and a still-open session are never read apart."""
        rows = await self.db.rows_for_keys(keys, include_docs=True)
        return {str(row.get("key")): row["doc"] for row in rows if isinstance(row.get("doc"), dict)}


def counter_marker_id(credential_id: str, counter: int) -> str:
    return f"sigcount:{credential_id}:{counter}"
