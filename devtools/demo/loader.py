"""Load the generated demo data into CouchDB exactly once per database.

The handoffs made away from the desk are signed by their authors' history passkeys
(`devtools/demo/signing.py`) and judged by the gateway's own verification, which writes their
receipts as if each had been pushed by the author's phone shortly after it happened: the office then shows
verified signatures, and only the handful a courier could not sign waits for staff.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from devtools.demo.generator import generate_demo
from devtools.demo.identities import ensure_demo_identities
from devtools.demo.signing import HistorySigner
from devtools.demo.steps import DESK_REASON
from records.types import JSONDict
from server.identity.auth import principal_from_user
from server.identity.store import IdentityStore
from server.settings import Settings
from store.couch import CouchClient
from store.records import RecordsStore
from sync.push import receipt_for, receipt_revision
from sync.signatures import assess_handoffs, write_audit_entries

logger = logging.getLogger(__name__)

#: A `_local` document is never replicated, so the marker stays on this server and never reaches a phone.
DEMO_MARKER = "_local/segel-demo-loaded"
#: How long after a demo handoff its (imagined) phone synced it: the receipt's `received_at`.
SYNCED_AFTER = timedelta(minutes=3)


async def load_demo(couch: CouchClient, settings: Settings) -> bool:
    """Write the demo records unless they were loaded before; True when this call loaded them.

    Records are written by id, and ids that already exist are skipped, so an interrupted load finishes on
    the next run without duplicating anything: the handoffs it still writes are signed by new keys, the
    ones the cut-off load wrote but did not judge get their receipts now, and every history passkey of the
    demo users is revoked at the end.
    """
    db = couch.db(settings.records_db)
    if await db.get_or_none(DEMO_MARKER) is not None:
        return False
    await ensure_demo_identities(couch, settings)  # the authors exist before their passkeys do
    signer = HistorySigner(settings.origin, settings.rp_id)
    demo = generate_demo(signer=signer.sign)
    store = IdentityStore(couch, settings)
    await signer.register(store)
    docs = [*demo.records, *demo.schedule]
    ids = [str(d["_id"]) for d in docs]
    present = await RecordsStore(db).present(ids)
    missing = [d for d in docs if d["_id"] not in present]
    for start in range(0, len(missing), 500):
        results = await db.bulk_docs(missing[start : start + 500])
        failed = [r for r in results if "error" in r and r.get("error") != "conflict"]
        if failed:
            raise RuntimeError(f"demo load refused {len(failed)} records, first: {failed[0]}")
    verified = await _receipts(couch, settings, store, await _without_receipt(couch, settings, demo.records))
    await signer.retire(store, [str(user["id"]) for user in demo.users])
    await db.put({"_id": DEMO_MARKER, "records": len(docs)})
    logger.info(
        "demo data loaded: %d records (%d new), %d handoff signatures verified",
        len(docs),
        len(missing),
        verified,
    )
    return True


async def _without_receipt(couch: CouchClient, settings: Settings, records: list[JSONDict]) -> list[JSONDict]:
    """The demo's handoffs made away from the desk that have no receipt yet, as the database holds them:
    all of them on a first load, and after a load that was cut off, the ones it wrote but did not judge."""
    db = couch.db(settings.records_db)
    ids = [
        str(r["_id"])
        for r in records
        if r.get("type") == "handoff" and r.get("unsigned_reason") != DESK_REASON
    ]
    if not ids:
        return []
    records_store = RecordsStore(db)
    receipts_store = RecordsStore(couch.db(settings.receipts_db))
    judged = {i.removeprefix("receipt:") for i in await receipts_store.present(f"receipt:{i}" for i in ids)}
    stored = await records_store.current(i for i in ids if i not in judged)
    return [stored[i] for i in ids if i in stored]  # in the order they were signed (passkey counters)


async def _receipts(
    couch: CouchClient, settings: Settings, store: IdentityStore, handoffs: list[JSONDict]
) -> int:
    """Judge the handoffs as the gateway does and write their receipts; returns how many verified."""
    by_author: dict[str, list[JSONDict]] = defaultdict(list)
    for handoff in handoffs:
        by_author[str(handoff["author"])].append(handoff)
    receipts: list[JSONDict] = []
    verified = 0
    for author, records in sorted(by_author.items()):
        user = await store.get_user(author)
        principal = principal_from_user(user, device_id="demo-history") if user else None
        if principal is None:
            logger.warning("demo: no user %s, its %d handoffs get no receipt", author, len(records))
            continue
        verdicts, entries = await assess_handoffs(
            couch, settings.identity_db, records, principal, origin=settings.origin, rp_id=settings.rp_id
        )
        await write_audit_entries(couch, settings.identity_db, entries, audit_db=settings.audit_db)
        for record, verdict in zip(records, verdicts, strict=True):
            verified += verdict.status == "verified"
            synced = datetime.fromisoformat(str(record["device_time"])) + SYNCED_AFTER
            receipt = receipt_for(
                record,
                principal,
                synced.isoformat(timespec="seconds"),
                verdict,
                None,
            )
            receipts.append({**receipt, "_rev": receipt_revision(str(receipt["_id"]))})
    db = couch.db(settings.receipts_db)
    for start in range(0, len(receipts), 500):
        await db.bulk_docs(receipts[start : start + 500], new_edits=False)
    return verified
