"""Moving the receipts and seq claims that versions before the receipts database wrote among the records.

Since the receipts database (`<prefix>_receipts`, docs/sync.md "Receipts"), the gateway writes its
`receipt:<record id>` and `seqclaim:<author>:<seq>` documents there and reads them only there. A database
upgraded from an earlier version still holds its old ones among the records, where nothing reads them any
more: an old claim left there would let a replayed handoff take its sequence number again, and an old
receipt would no longer give the office its handoff's arrival time and passkey verdict. Every start
(the app, the worker, `segel bootstrap`) moves what is left, a page at a time: each page is copied with its
revisions (a repeat writes nothing new) and only then deleted from the records, so a stop in between
leaves a document in both places, never in neither, and the next start finishes the move.

Every instance of the earlier version must be stopped before the first new one starts (docs/deploy.md,
"Upgrading"): an old instance still running would go on claiming among the records.
"""

from __future__ import annotations

import json
import logging

from records.types import JSONDict
from store.couch import CouchConflict, Database

logger = logging.getLogger(__name__)

#: The id prefixes of what the gateway keeps in the receipts database.
MOVED_PREFIXES = ("receipt:", "seqclaim:")
PAGE = 500


class MoveStuck(CouchConflict):
    """A page of old receipts could not be deleted from the records (something keeps writing them): a
    conflict, so the start-up loops that retry a failed bootstrap log it and try again."""


async def move_receipts(records: Database, receipts: Database, *, page: int = PAGE) -> int:
    """Move every old receipt and seq claim from the records to the receipts database; returns how many."""
    moved = 0
    for prefix in MOVED_PREFIXES:
        idle = 0  # pages in a row of which nothing could be deleted
        while True:
            rows = await records.all_docs(
                startkey=json.dumps(prefix),
                endkey=json.dumps(prefix + "\ufff0"),
                include_docs=True,
                limit=page,
            )
            docs: list[JSONDict] = [row["doc"] for row in rows.get("rows", []) if row.get("doc")]
            if not docs:
                break
            await receipts.bulk_docs(docs, new_edits=False)  # the same revisions: copying twice is a no-op
            result = await records.bulk_docs(
                [{"_id": doc["_id"], "_rev": doc["_rev"], "_deleted": True} for doc in docs]
            )
            deleted = sum(1 for entry in result if not entry.get("error"))
            # A conflict: another new instance moved the same page at the same moment (the next read shows
            # it gone), or an old instance updated the document (it stays, and says so after a few tries).
            idle = 0 if deleted else idle + 1
            if idle >= 3:
                raise MoveStuck(
                    409,
                    "conflict",
                    f"{len(docs)} old {prefix} documents could not be removed from the records database: an "
                    "instance of an earlier Segel version is probably still running; stop it and start again",
                )
            moved += deleted
    if moved:
        logger.info("moved %d receipts and seq claims from the records to the receipts database", moved)
    return moved
