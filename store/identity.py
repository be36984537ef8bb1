"""What is read and written in the identity database (`<prefix>_identity`) by document kind, not by id.

The identity database's document ids (`credential:<id>`, `signed:<record hash>`, `sigcount:<id>:<n>`,
`user:<id>`) are spelled here, so the gateway's signature check (`sync/signatures.py`) and the server's
identity package share one layout instead of each building ids and URLs. Errors are the client's own
(`CouchConflict` when a marker already exists, `CouchUnavailable`...); callers translate them.

`wait_for_changes` is the database's `_changes` feed as the server's principal cache follows it
(`server/identity/follower.py`): sequences pass through it as opaque values, never read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from records.types import JSONDict
from store.couch import CouchUnavailable, Database
from store.records import seq_param

#: Changes per wait on the identity feed: a follower far behind catches up in pages of this many.
FEED_PAGE = 500


@dataclass(frozen=True)
class IdentityChange:
    """A document of the identity database changed (or was deleted) and now has revision `rev`."""

    doc_id: str
    rev: str | None


@dataclass(frozen=True)
class ChangesPage:
    """What one wait on the identity feed brought: its changes, and where to wait next (opaque)."""

    changes: list[IdentityChange]
    last_seq: object


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

    async def wait_for_changes(
        self, since: object, *, heartbeat_ms: int, silence_s: float, alive: Callable[[], None]
    ) -> ChangesPage:
        """The changes after `since`, waiting (with heartbeats) until there is at least one; `alive()` is
        called whenever the database sends anything. CouchUnavailable when the feed breaks, also after
        `silence_s` without even a heartbeat."""
        answer = await self.db.longpoll_changes(
            seq_param(since), heartbeat_ms=heartbeat_ms, silence_s=silence_s, limit=FEED_PAGE, alive=alive
        )
        changes = []
        for row in answer.get("results") or []:
            if not isinstance(row, dict) or "id" not in row:
                continue
            revs = row.get("changes")
            first = revs[0] if isinstance(revs, list) and revs and isinstance(revs[0], dict) else {}
            rev = first.get("rev")
            changes.append(IdentityChange(str(row["id"]), str(rev) if rev else None))
        if "last_seq" not in answer:
            raise CouchUnavailable(f"the changes feed of {self.db.name} answered without its last sequence")
        return ChangesPage(changes, answer["last_seq"])


def counter_marker_id(credential_id: str, counter: int) -> str:
    return f"sigcount:{credential_id}:{counter}"
