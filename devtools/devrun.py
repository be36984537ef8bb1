"""`python -m devtools dev`: the whole system on one machine, as `scripts/run` starts it.

Starts the embedded CouchDB unless COUCHDB_URL names one, bootstraps, loads the demo data once, serves the
app with the office worker beside it (the same `serve` loop as `segel worker`, as a task of this process),
and on Ctrl-C stops everything it started. Secrets for a development install are generated once into
var/secrets.env (mode 600) so that a second run finds the same data with the same passwords.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
from pathlib import Path

from devtools.demo.identities import demo_login_hint
from devtools.demo.loader import load_demo
from devtools.embedded import EmbeddedCouch, EmbeddedCouchError
from server.app import create_app
from server.databases import prepare_databases
from server.logs import configure_logging
from server.serving import serve
from server.settings import Settings, data_dir_from_env, open_couch
from store.couch import CouchClient

logger = logging.getLogger(__name__)


def _load_or_create_secrets(path: Path) -> dict[str, str]:
    """Read KEY=VALUE lines; create the file with fresh random secrets the first time."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        values = {
            "SEGEL_SECRET_KEY": secrets.token_urlsafe(48),
            "SEGEL_EMBEDDED_COUCHDB_PASSWORD": secrets.token_urlsafe(24),
        }
        path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        path.chmod(0o600)
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


async def _supervise(couch: EmbeddedCouch) -> None:
    """Report a crash of the embedded CouchDB loudly and start it again; the app recovers by itself."""
    while True:
        await asyncio.sleep(2.0)
        code = couch.exit_code()
        if code is None:
            continue
        logger.error(
            "embedded CouchDB died (exit %s); restarting. Last log lines:\n%s", code, couch.log_tail()
        )
        try:
            await asyncio.to_thread(couch.start)
        except EmbeddedCouchError as exc:
            logger.error("could not restart the embedded CouchDB: %s", exc)


def _terminate_gracefully(signum: int, frame: object) -> None:
    """SIGTERM before uvicorn runs (or after) unwinds like Ctrl-C, so the embedded CouchDB is stopped."""
    raise KeyboardInterrupt


async def run_dev() -> int:
    signal.signal(signal.SIGTERM, _terminate_gracefully)
    env = dict(os.environ)
    data_dir = data_dir_from_env(env)
    stored = _load_or_create_secrets(data_dir / "secrets.env")
    env.setdefault("SEGEL_SECRET_KEY", stored["SEGEL_SECRET_KEY"])
    embedded: EmbeddedCouch | None = None
    if not env.get("COUCHDB_URL"):
        embedded = EmbeddedCouch(
            data_dir=data_dir / "couchdb",
            port=int(env.get("SEGEL_COUCHDB_PORT", "5984")),
            user="admin",
            password=stored["SEGEL_EMBEDDED_COUCHDB_PASSWORD"],
        )
        print(f"Menyalakan CouchDB tertanam (PouchDB Server) di {embedded.url} …", flush=True)
        embedded.start()
        env.update(COUCHDB_URL=embedded.url, COUCHDB_USER=embedded.user, COUCHDB_PASSWORD=embedded.password)
    settings = Settings.from_env(env)
    configure_logging(settings.log_level)
    supervisor: asyncio.Task[None] | None = None
    worker: asyncio.Task[None] | None = None
    stop_worker = asyncio.Event()
    try:
        couch = open_couch(settings)
        await prepare_databases(couch, settings)
        loaded = await load_demo(couch, settings)
        if loaded:
            await _first_office_round(couch, settings, env)
        login_hint = await demo_login_hint(couch, settings)
        await couch.aclose()
        url = f"http://localhost:{settings.port}/"
        print("\n" + "=" * 72)
        print(f"Segel berjalan di / is running at: {url}")
        print(f"  Data demo: {'dimuat sekarang' if loaded else 'sudah ada, dipakai ulang'}")
        print(login_hint)
        print("  Tekan Ctrl-C untuk berhenti / press Ctrl-C to stop.")
        print("=" * 72 + "\n", flush=True)
        if embedded is not None:
            supervisor = asyncio.create_task(_supervise(embedded))
        worker = asyncio.create_task(_office_worker(settings, env, stop_worker))
        await serve(create_app(settings), settings, lifespan="on")
    finally:
        stop_worker.set()
        if worker is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(worker, 30)
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        if embedded is not None:
            print("Menghentikan CouchDB tertanam …", flush=True)
            embedded.stop()
    return 0


async def _office_worker(settings: Settings, env: dict[str, str], stop: asyncio.Event) -> None:
    """`segel worker`'s loop, in this process: checks, rollups, closures and the residents' messages."""
    from server.office.config import OfficeConfig
    from server.office.worker import serve

    await serve(settings, OfficeConfig.from_env(env), stop)


async def _first_office_round(couch: CouchClient, settings: Settings, env: dict[str, str]) -> None:
    """Run the office's background round once over the freshly loaded demo (checks, photo hashes, rollups),
    so the first visit to the exceptions queue or the dashboard does not wait for it (about 10 s)."""
    from records.receipt_proof import ReceiptKey
    from server.office.config import OfficeConfig
    from server.office.ledger import Ledger
    from server.office.senders import sender_from_settings
    from server.office.worker import run_once

    print("  Memeriksa data demo sekali (pengecualian, dasbor) …", flush=True)
    config = OfficeConfig.from_env(env)
    ledger = Ledger.of(couch, settings)
    key = ReceiptKey.from_secret(settings.secret_key)
    while (await run_once(ledger, config, settings.origin, sender_from_settings(settings), key)).checked:
        pass
