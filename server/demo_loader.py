"""Load the generated demo data into CouchDB exactly once per database."""

from __future__ import annotations

import logging

from server.demo import generate_demo
from server.settings import Settings
from sync.couch import CouchClient

logger = logging.getLogger(__name__)

#: A `_local` document is never replicated, so the marker stays on this server and never reaches a phone.
DEMO_MARKER = "_local/segel-demo-loaded"


async def load_demo(couch: CouchClient, settings: Settings) -> bool:
    """Write the demo records unless they were loaded before; True when this call loaded them.

    Records are written by id, and ids that already exist are skipped, so an interrupted load finishes on
    the next run without duplicating anything.
    """
    db = couch.db(settings.records_db)
    if await db.get_or_none(DEMO_MARKER) is not None:
        return False
    demo = generate_demo()
    docs = [*demo.records, *demo.schedule]
    ids = [str(d["_id"]) for d in docs]
    found = await couch.json("POST", f"{db.path}/_all_docs", json={"keys": ids})
    present = {row["id"] for row in found["rows"] if "id" in row and not row.get("value", {}).get("deleted")}
    missing = [d for d in docs if d["_id"] not in present]
    for start in range(0, len(missing), 500):
        results = await db.bulk_docs(missing[start : start + 500])
        failed = [r for r in results if "error" in r and r.get("error") != "conflict"]
        if failed:
            raise RuntimeError(f"demo load refused {len(failed)} records, first: {failed[0]}")
    await db.put({"_id": DEMO_MARKER, "records": len(docs)})
    logger.info("demo data loaded: %d records (%d new)", len(docs), len(missing))
    return True
