"""Rate-limit counters in CouchDB, shared by every server process: one document per key and time window.

`ratelimit:<key>:<window>` is incremented with its revision (a conflict means another request counted at
the same moment, so it retries) and carries `expires_at`, the end of its window. The count a limit is held
against slides: the window's own hits plus the previous window's, weighted by how much of it still lies
within one window length of now. Fixed windows alone would let a client send twice the limit across a
boundary (a full window's worth just before it, another just after), and start again from zero there.
The identity feature counts sign-in and enrollment attempts with it, the resident page its link openings
and misses; both hash what they count by (an address, a link token) into the key, so no counter names
either in clear.

A window's counter is worthless one window after its own ended: `purge_expired_counters` deletes those,
run by `segel worker` every round for the office database and by `segel purge-identity` for the identity
one.
"""

from __future__ import annotations

import hashlib
import json
import math
import time

from store.couch import CouchConflict, Database

PREFIX = "ratelimit:"
#: Answer of a counter that could not be written under heavy contention: over any limit.
OVER_ANY_LIMIT = 1_000_000


def hashed_key(text: str, length: int = 16) -> str:
    """A counter key for `text` (an address, a token) that does not hold it in clear."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


async def count_hit(
    db: Database, key: str, window_s: int, *, at: float | None = None, attempts: int = 25
) -> int:
    """Count one hit for `key` at `at` (now); returns the sliding count including this one: the hits of the
    window holding `at` and the previous window's, weighted by how much of it is within `window_s` of now."""
    moment = time.time() if at is None else at
    window = int(moment // window_s)
    doc_id = f"{PREFIX}{key}:{window}"
    async with db.one_writer(doc_id):
        for _ in range(attempts):
            doc = await db.get_or_none(doc_id) or {
                "_id": doc_id,
                "type": "ratelimit",
                "count": 0,
                "expires_at": (window + 1) * window_s,
                "window_s": window_s,
            }
            doc["count"] = int(doc["count"]) + 1
            try:
                await db.put_exclusive(doc)
            except CouchConflict:
                continue
            return int(doc["count"]) + await _carried(db, key, window, window_s, moment)
    return OVER_ANY_LIMIT


async def _carried(db: Database, key: str, window: int, window_s: int, moment: float) -> int:
    """The previous window's hits that still count: all of them at the boundary, none a window later."""
    previous = await db.get_or_none(f"{PREFIX}{key}:{window - 1}")
    if previous is None:
        return 0
    still_inside = 1 - (moment - window * window_s) / window_s
    return math.floor(int(previous["count"]) * still_inside)


async def purge_expired_counters(db: Database, *, grace_s: float = 0, at: float | None = None) -> int:
    """Delete the counters whose window ended more than one window length and `grace_s` before `at` (now;
    until then the next window still weighs them in); returns how many."""
    cutoff = (time.time() if at is None else at) - grace_s
    result = await db.all_docs(
        startkey=json.dumps(PREFIX), endkey=json.dumps(PREFIX + "\ufff0"), include_docs=True
    )
    stale = [
        {"_id": row["id"], "_rev": row["doc"]["_rev"], "_deleted": True}
        for row in result["rows"]
        if isinstance(row.get("doc"), dict) and _no_longer_counted(row["doc"]) < cutoff
    ]
    deleted = 0
    for start in range(0, len(stale), 500):
        answers = await db.bulk_docs(stale[start : start + 500])
        deleted += sum(1 for answer in answers if "error" not in answer)
    return deleted


def _no_longer_counted(counter: dict[str, object]) -> float:
    """When a counter stops counting: one window after its own window ended."""
    expires = float(str(counter.get("expires_at") or 0))
    return expires + float(str(counter.get("window_s") or 0))
