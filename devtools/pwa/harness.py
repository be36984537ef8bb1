"""A throwaway Segel (embedded CouchDB + server, temporary data) and a phone-sized Chromium, for the
screenshot script and the PWA benchmark. Not used by tests (they have fixtures)."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

from devtools.embedded import EmbeddedCouch, free_port
from server.settings import Settings
from tests.browser.conftest import CHROMIUM_ARGS
from tests.conftest import settings_env
from tests.support.servers import ServerProcess


@dataclass
class Harness:
    settings: Settings
    server: ServerProcess
    browser: Browser

    #: the browser's DevTools port when asked for (`running(devtools=True)`), else None
    devtools_port: int | None = None

    @property
    def origin(self) -> str:
        return f"http://localhost:{self.server.port}"


@contextlib.contextmanager
def running(*, devtools: bool = False) -> Iterator[Harness]:
    """`devtools`: also open Chromium's DevTools socket on a free port (the bench throttles service workers
    through it, which Playwright's own CDP sessions cannot reach)."""
    with tempfile.TemporaryDirectory(prefix="segel-pwa-") as tmp:
        data = Path(tmp)
        couch = EmbeddedCouch(
            data_dir=data / "couch", port=free_port(), user="admin", password=secrets.token_urlsafe(16)
        )
        (data / "couch").mkdir()
        couch.start()
        try:
            settings = Settings(
                couchdb_url=couch.url,
                couchdb_user=couch.user,
                couchdb_password=couch.password,
                secret_key=secrets.token_urlsafe(48),
                db_prefix="pwa",
                data_dir=data,
            )
            port = free_port()
            env = settings_env(settings) | {
                "SEGEL_ORIGIN": f"http://localhost:{port}",
                "SEGEL_RP_ID": "localhost",
            }
            server = ServerProcess(env=env, port=port, log_path=data / "server.log")
            server.start()
            try:
                with sync_playwright() as playwright:
                    executable = shutil.which("chromium")
                    if executable is None:
                        raise SystemExit("Debian's chromium is needed: apt-get install chromium")
                    devtools_port = free_port() if devtools else None
                    extra = [f"--remote-debugging-port={devtools_port}"] if devtools_port else []
                    browser = playwright.chromium.launch(
                        executable_path=executable, headless=True, args=[*CHROMIUM_ARGS, *extra]
                    )
                    yield Harness(
                        settings=settings, server=server, browser=browser, devtools_port=devtools_port
                    )
                    browser.close()
            finally:
                server.stop()
        finally:
            couch.stop()
