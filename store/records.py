"""What the gateway and the office ask of the synced records database, by meaning rather than by URL.

Every request shape the replication protocol needs on the records database (the `_changes` feed, a batch of
current revisions, `_revs_diff`, `_bulk_get`, `open_revs`, photo attachments, per-device checkpoints) is
spelled once here, so `sync/` and `server/` never build a CouchDB path themselves. Errors are the client's
own (`CouchError`, `CouchNotFound`, `CouchConflict`, `CouchUnavailable`); each caller translates them at its
edge (the gateway into CouchDB-shaped answers, the office pages into messages).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from records.types import JSONDict
from store.couch import Database

#: Ids per `_all_docs` request (keys travel in the body, so the URL stays short whatever the batch).
KEYS_PER_REQUEST = 500


def seq_param(seq: object) -> str:
    """A `since` value as CouchDB wants it: an opaque string as it is, a number (PouchDB Server) as JSON."""
    return seq if isinstance(seq, str) else json.dumps(seq)


class RecordsStore:
    """The records database (`<prefix>_records`) seen through the questions Segel asks of it."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- current revisions -------------------------------------------------------------------------

    async def current_rows(self, ids: Iterable[str], *, conflicts: bool = False) -> list[JSONDict]:
        """`_all_docs` rows (with `doc`) of these ids, sorted and de-duplicated, one request per 500 ids.

        A deleted record's row has no `doc` but `value.deleted`; an unknown id's row has an `error`."""
        wanted = sorted(set(ids))
        params: dict[str, str | int | bool] = {"include_docs": True}
        if conflicts:
            params["conflicts"] = True
        rows: list[JSONDict] = []
        for start in range(0, len(wanted), KEYS_PER_REQUEST):
            rows.extend(await self.db.rows_for_keys(wanted[start : start + KEYS_PER_REQUEST], **params))
        return rows

    async def current(self, ids: Iterable[str]) -> dict[str, JSONDict]:
        """The current (winning, non-deleted) revision of each id that exists."""
        return {
            str(row["id"]): row["doc"]
            for row in await self.current_rows(ids)
            if isinstance(row.get("doc"), dict)
        }

    async def present(self, ids: Iterable[str]) -> set[str]:
        """The ids among `ids` the database holds and has not deleted, in one request (no bodies read)."""
        wanted = sorted(set(ids))
        if not wanted:
            return set()
        rows = await self.db.rows_for_keys(wanted)
        return {str(row["id"]) for row in rows if "id" in row and not (row.get("value") or {}).get("deleted")}

    # ---- replication ----------------------------------------------------------------------------------

    async def changes_since(self, since: object, limit: int) -> JSONDict:
        """One page of the global feed after `since`, every leaf revision listed, bodies included."""
        return await self.db.changes(since=seq_param(since), limit=limit, style="all_docs", include_docs=True)

    async def follow_changes(self, since: object, *, limit: int, wait_ms: int) -> JSONDict:
        """A longpoll on the feed (ids and every leaf revision, no bodies): answers at once with up to `limit`
        changes after `since` when there are any, else with the first to come, or empty after `wait_ms`.

        PouchDB Server ignores `timeout` and holds an idle longpoll open until something changes: the
        request then ends in `CouchTimeout` a few seconds after `wait_ms`, which means "nothing changed"
        there as much as an empty answer does. It is sent once, never repeated by the client."""
        result: JSONDict = await self.db.client.json(
            "GET",
            f"{self.db.path}/_changes",
            params={
                "since": seq_param(since),
                "feed": "longpoll",
                "timeout": wait_ms,
                "limit": limit,
                "style": "all_docs",
            },
            timeout=wait_ms / 1000 + 5,
            retries=0,
        )
        return result

    async def revs_diff(self, offered: Mapping[str, list[str]]) -> JSONDict:
        """Of the offered revisions per id, which the database lacks."""
        return await self.db.revs_diff(offered)

    async def bulk_get(self, docs: list[JSONDict], **params: str | int | bool) -> list[JSONDict]:
        """`_bulk_get` of `{"id", "rev"?, "atts_since"?}` requests; its `results` list."""
        return await self.db.bulk_get(docs, **params)

    async def read_document(self, doc_id: str, params: Mapping[str, str]) -> Any:
        """A document read with the replication parameters a client passed (`rev`, `open_revs`...): one
        document, or a list of `{"ok": ...}` entries for `open_revs`."""
        return await self.db.read(doc_id, **params)

    async def open_revs(self, doc_id: str, revs: list[str]) -> list[JSONDict]:
        """These leaf revisions of one record (`[{"ok": doc}, ...]`; a missing one is `{"missing": rev}`)."""
        return await self.db.open_revs(doc_id, revs)

    # ---- photos -----------------------------------------------------------------------------------------

    async def put_photo(self, doc_id: str, name: str, rev: str, data: bytes, content_type: str) -> JSONDict:
        """Attach a photo's image to revision `rev` of its photo record."""
        return await self.db.put_attachment(doc_id, name, rev, data, content_type)

    async def photo_bytes(self, doc_id: str, name: str) -> bytes:
        """The stored image of a photo record (photos are capped at 5 MB, so reading it whole is fine)."""
        return await self.db.attachment_bytes(doc_id, name)

    # ---- checkpoints ------------------------------------------------------------------------------------

    async def checkpoint(self, local_id: str) -> JSONDict:
        """A replication checkpoint (`_local/...`); CouchNotFound when there is none."""
        return await self.db.get(local_id)

    async def save_checkpoint(self, doc: JSONDict) -> str:
        """Write a checkpoint (its `_id` is `_local/...`); the new revision. CouchConflict on a stale rev."""
        return await self.db.put(doc)

    async def delete_checkpoint(self, local_id: str, rev: str) -> str:
        """Delete a checkpoint at revision `rev`; CouchNotFound or CouchConflict as CouchDB answers."""
        return await self.db.delete(local_id, rev)
