"""The identity audit log: one document per event in `settings.audit_db`, written and never changed.

Every identity event is recorded (enrolled, logged in, login failed, revoked, token used, signature verified
or refused…), so an office can reconstruct who did what. Entries carry ids and reasons, never a secret: no
token, cookie, challenge, link or assertion ever goes in here.
"""

from __future__ import annotations

import logging
import secrets
import time

from records.types import JSONDict
from server.settings import Settings
from store.couch import CouchClient, CouchError, CouchUnavailable

logger = logging.getLogger(__name__)


async def record_event(
    couch: CouchClient,
    settings: Settings,
    event: str,
    *,
    user_id: str | None = None,
    office: str | None = None,
    outcome: str = "ok",
    reason: str | None = None,
    actor: str | None = None,
    **details: str | int | bool | None,
) -> None:
    """Append one audit entry; a database hiccup is logged but never turns a refusal into a crash."""
    moment = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)) + f".{int(moment % 1 * 1000):03d}Z"
    doc: JSONDict = {
        "_id": f"audit:{stamp}:{secrets.token_hex(4)}",
        "type": "audit",
        "category": "identity",
        "event": event,
        "outcome": outcome,
        "user_id": user_id,
        "office": office,
        "actor": actor,
        "reason": reason,
        "at": stamp,
        **{k: v for k, v in details.items() if v is not None},
    }
    try:
        await couch.db(settings.audit_db).put(doc)
    except (CouchError, CouchUnavailable) as exc:
        logger.error("audit entry %s for %s not written: %s", event, user_id, exc)
    logger.info("identity %s %s user=%s reason=%s", event, outcome, user_id, reason)


async def events(couch: CouchClient, settings: Settings, *, limit: int = 1000) -> list[JSONDict]:
    """The newest audit entries first (for tests and the office's audit page)."""
    result = await couch.db(settings.audit_db).all_docs(
        startkey='"audit:\ufff0"', endkey='"audit:"', descending=True, include_docs=True, limit=limit
    )
    return [row["doc"] for row in result["rows"]]
