"""The office's background work: fold new handoffs into the open deliveries, run the checks, send the
outbox, flag seal photos that never arrived, and close the assignments of documents delivered (returned,
lost) longer ago than the grace period.

Pages do the same work on demand (bounded), so nothing depends on this loop; it keeps the exceptions queue,
the residents' messages and the dashboard current between page loads (closing assignments happens only
here). Every step is safe to run in several processes at once (claimed pages, create-once findings, claimed
messages, revision-checked document writes).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from starlette.applications import Starlette

from server.office.awaited_photos import settle_awaited
from server.office.checks import run_checks
from server.office.closure import close_ended_assignments
from server.office.config import OfficeConfig
from server.office.deliveries import update_open_deliveries
from server.office.ledger import Ledger
from server.office.notifications import LogFileSender, Sender, deliver_pending
from sync.couch import CouchError, CouchUnavailable
from sync.receipt_proof import ReceiptKey

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkDone:
    delivery_changes: int
    checked: int
    findings: int
    sent: int
    closed: int = 0
    photos_flagged: int = 0


async def run_once(
    ledger: Ledger, config: OfficeConfig, origin: str, sender: Sender, receipt_key: ReceiptKey | None = None
) -> WorkDone:
    rolled = await update_open_deliveries(ledger, max_batches=4)
    checks = await run_checks(ledger, config, limit=2000, origin=origin, receipt_key=receipt_key)
    sent = await deliver_pending(ledger, sender)
    awaited = await settle_awaited(ledger, config)
    closure = await close_ended_assignments(ledger, config)
    return WorkDone(rolled, checks.checked, checks.findings, sent, closure.closed, awaited.flagged)


async def run(app: Starlette) -> None:
    """Loop every `SEGEL_OFFICE_WORKER_S` seconds (0 turns it off) until the app stops."""
    try:
        config = OfficeConfig.from_env()
    except ValueError as exc:
        logger.error("office worker not started: %s", exc)
        return
    if config.worker_interval_s <= 0:
        return
    await app.state.bootstrap_done.wait()
    settings = app.state.settings
    while True:
        await asyncio.sleep(config.worker_interval_s)
        sender: Sender = getattr(app.state, "office_sender", None) or LogFileSender(settings.data_dir)
        try:
            await run_once(
                Ledger.of(app.state.couch, settings), config, settings.origin, sender, app.state.receipt_key
            )
        except (CouchError, CouchUnavailable) as exc:
            logger.warning("office worker: CouchDB answered %s; retrying next round", type(exc).__name__)
        except Exception:  # keep the loop alive: the next round may succeed, and pages do the work too
            logger.exception("office worker round failed")
