"""`segel worker`: the office's background work, in a process of its own (as cht-core's sentinel is).

Each round folds new handoffs into the open deliveries, runs the checks (which judge deliveries and queue
the residents' messages), sends the outbox, flags seal photos that never arrived, and closes the
assignments of documents delivered (returned, lost) longer ago than the grace period, and deletes the
resident page's rate-limit counters of windows that ended. Web instances only
serve: a page load never sends a message or writes a rollup, so what happens does not depend on which
instance a person happens to reach, and a slow round never slows a page.

Run one or more: every step is safe in several processes at once (claimed checkpoints, create-once
findings, leased messages, revision-checked document writes). A round that found work is followed at once by
the next; an idle worker sleeps `SEGEL_OFFICE_WORKER_S` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass

from records.receipt_proof import ReceiptKey
from server.databases import prepare_databases
from server.office.awaited_photos import settle_awaited
from server.office.checks import run_checks
from server.office.closure import close_ended_assignments
from server.office.config import OfficeConfig
from server.office.deliveries import update_open_deliveries
from server.office.ledger import Ledger
from server.office.notifications import RetryPolicy, deliver_pending
from server.office.senders import Sender, sender_from_settings
from server.ratelimit import purge_expired_counters
from server.settings import Settings, open_couch
from store.couch import CouchClient, CouchError, CouchUnavailable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkDone:
    delivery_changes: int
    checked: int
    findings: int
    sent: int
    closed: int = 0
    photos_flagged: int = 0
    counters_purged: int = 0  # housekeeping, not work: a round that only purged is still an idle one

    @property
    def any(self) -> bool:
        return any((self.delivery_changes, self.checked, self.sent, self.closed, self.photos_flagged))


async def run_once(
    ledger: Ledger, config: OfficeConfig, origin: str, sender: Sender, receipt_key: ReceiptKey | None = None
) -> WorkDone:
    """One round of everything, bounded (a few pages of changes, 2000 checked records, 100 messages)."""
    rolled = await update_open_deliveries(ledger, max_batches=4)
    checks = await run_checks(ledger, config, limit=2000, origin=origin, receipt_key=receipt_key)
    sent = await deliver_pending(ledger, sender, policy=RetryPolicy.of(config))
    awaited = await settle_awaited(ledger, config)
    closure = await close_ended_assignments(ledger, config)
    purged = await purge_expired_counters(ledger.office)
    return WorkDone(rolled, checks.checked, checks.findings, sent, closure.closed, awaited.flagged, purged)


async def _bootstrapped(couch: CouchClient, settings: Settings, stop: asyncio.Event) -> bool:
    """Wait until the databases and views exist (the web instances set them up too; both may race)."""
    delay = 0.5
    while not stop.is_set():
        try:
            await prepare_databases(couch, settings)
            return True
        except (CouchUnavailable, CouchError) as exc:
            logger.warning("worker: bootstrap failed, retrying in %.0fs: %s", delay, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, 15.0)
    return False


async def serve(
    settings: Settings,
    config: OfficeConfig,
    stop: asyncio.Event,
    *,
    couch: CouchClient | None = None,
    sender: Sender | None = None,
) -> None:
    """Run rounds until `stop` is set; a failed round is logged and the next one tries again."""
    own = couch is None
    couch = couch or open_couch(settings)
    sender = sender or sender_from_settings(settings)
    ledger = Ledger.of(couch, settings)
    key = ReceiptKey.from_secret(settings.secret_key)
    interval = max(config.worker_interval_s, 1)
    try:
        if not await _bootstrapped(couch, settings, stop):
            return
        logger.info("office worker started (sender %s, every %ss when idle)", settings.sender, interval)
        while not stop.is_set():
            busy = False
            try:
                busy = (await run_once(ledger, config, settings.origin, sender, key)).any
            except (CouchError, CouchUnavailable) as exc:
                logger.warning("office worker: CouchDB answered %s; retrying next round", type(exc).__name__)
            except Exception:  # keep the worker alive: one bad round must not stop the office's work
                logger.exception("office worker round failed")
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval)
    finally:
        if own:
            await couch.aclose()


async def run_worker(settings: Settings, config: OfficeConfig) -> int:
    """The `segel worker` process: SIGTERM or Ctrl-C ends it after the round under way."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await serve(settings, config, stop)
    logger.info("office worker stopped")
    return 0
