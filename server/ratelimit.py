"""Rate-limit counters in CouchDB, shared by every server process: one document per key and time window.

`ratelimit:<key>:<window>` is incremented with its revision (a conflict means another request counted at
the same moment, so it retries) and carries `expires_at`, the end of its window. The identity feature
counts sign-in and enrollment attempts with it, the resident page its link openings and misses; both
hash what they count by (an address, a link token) into the key, so no counter names either in clear.

A window's counter is worthless once the window ended: `purge_expired_counters` deletes those, run by
`segel worker` every round for the office database and by `segel purge-identity` for the identity one.
"""

from __future__ import annotations

import hashlib
import json
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
    """Count one hit for `key` in the window holding `at` (now); returns the count including this one."""
    moment = time.time() if at is None else at
    window = int(moment // window_s)
    doc_id = f"{PREFIX}{key}:{window}"
    for _ in range(attempts):
        doc = await db.get_or_none(doc_id) or {
            "_id": doc_id,
            "type": "ratelimit",
            "count": 0,
            "expires_at": (window + 1) * window_s,
        }
        doc["count"] = int(doc["count"]) + 1
        try:
            await db.put(doc)
        except CouchConflict:
            continue
        return int(doc["count"])
    return OVER_ANY_LIMIT


async def purge_expired_counters(db: Database, *, grace_s: float = 0, at: float | None = None) -> int:
    """Delete the counters whose window ended more than `grace_s` before `at` (now); returns how many."""
    cutoff = (time.time() if at is None else at) - grace_s
    result = await db.all_docs(
        startkey=json.dumps(PREFIX), endkey=json.dumps(PREFIX + "\ufff0"), include_docs=True
    )
    stale = [
        {"_id": row["id"], "_rev": row["doc"]["_rev"], "_deleted": True}
        for row in result["rows"]
        if isinstance(row.get("doc"), dict) and float(row["doc"].get("expires_at") or 0) < cutoff
    ]
    deleted = 0
    for start in range(0, len(stale), 500):
        answers = await db.bulk_docs(stale[start : start + 500])
        deleted += sum(1 for answer in answers if "error" not in answer)
    return deleted
