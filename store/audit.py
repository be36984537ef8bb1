"""The audit database (`Settings.audit_db`): entries are appended, never changed."""

from __future__ import annotations

from collections.abc import Sequence

from records.types import JSONDict
from store.couch import Database


class AuditLog:
    """Append-only access to the audit database; its name comes from the caller's settings."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def append_many(self, entries: Sequence[JSONDict]) -> list[JSONDict]:
        """Write new entries in one `_bulk_docs`; CouchDB's row per entry (one with `error` was not kept)."""
        return await self.db.bulk_docs(list(entries))
