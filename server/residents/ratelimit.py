"""Rate limits for the resident page, counted in CouchDB so every server process shares them.

A counter document per bucket and hour (`rate:<bucket>:<YYYYMMDDHH>`) is incremented with its revision; a
conflict means another request counted at the same moment, so it retries. Buckets are hashes, never the raw
token or address.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from store.couch import CouchConflict, Database


async def count_hit(db: Database, bucket: str) -> int:
    """Count one request in `bucket` for the current hour and return the count so far."""
    hour = datetime.now(UTC).strftime("%Y%m%d%H")
    doc_id = f"rate:{hashlib.sha256(bucket.encode()).hexdigest()[:24]}:{hour}"
    for _ in range(25):
        doc = await db.get_or_none(doc_id) or {"_id": doc_id, "type": "rate", "count": 0}
        doc["count"] = int(doc["count"]) + 1
        try:
            await db.put(doc)
        except CouchConflict:
            continue
        return int(doc["count"])
    return 1_000_000  # could not count under heavy contention: treat as over the limit
