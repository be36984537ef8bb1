"""What is read and written in the identity database (`<prefix>_identity`) by document kind, not by id.

The identity database's document ids (`credential:<id>`, `signed:<record hash>`, `sigcount:<id>:<n>`,
`user:<id>`) are spelled here, so the gateway's signature check (`sync/signatures.py`) and the server's
identity package share one layout instead of each building ids and URLs. Errors are the client's own
(`CouchConflict` when a marker already exists, `CouchUnavailable`...); callers translate them.

`follow` is the database's continuous `_changes` feed, which the server's principal cache listens to
(`server/identity/follower.py`): sequences pass through it as opaque values, never read.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

from records.types import JSONDict
from store.couch import Database
from store.records import seq_param


@dataclass(frozen=True)
class FeedLine:
    """One line of the identity database's continuous feed.

    `doc_id` names a changed (or deleted) document and `rev` the revision it now has (its winner); a line
    with neither field set is the feed opening or a heartbeat, proof that the feed is alive; `last_seq` is
    set on the line that ends the feed, and is where to continue from.
    """

    doc_id: str | None = None
    rev: str | None = None
    last_seq: object = None


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

    async def update_seq(self) -> object:
        """The database's current sequence (opaque): a feed followed from it misses no later change."""
        info = await self.db.info()
        return info.get("update_seq", 0)

    async def follow(self, since: object, *, heartbeat_ms: int, silence_s: float) -> AsyncIterator[FeedLine]:
        """Every change after `since`, as it happens, until the database ends the feed or it breaks
        (CouchUnavailable, also after `silence_s` without even a heartbeat)."""
        feed = self.db.continuous_changes(seq_param(since), heartbeat_ms=heartbeat_ms, silence_s=silence_s)
        async for row in feed:
            if row is None:
                yield FeedLine()
            elif "last_seq" in row:
                yield FeedLine(last_seq=row["last_seq"])
            elif "id" in row:
                revs = row.get("changes")
                rev = (
                    revs[0].get("rev")
                    if isinstance(revs, list) and revs and isinstance(revs[0], dict)
                    else None
                )
                yield FeedLine(doc_id=str(row["id"]), rev=str(rev) if rev else None)


def counter_marker_id(credential_id: str, counter: int) -> str:
    return f"sigcount:{credential_id}:{counter}"
