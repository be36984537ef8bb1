"""Browser fixtures: Debian's headless Chromium driven by Playwright, against the real server and database.

Playwright never downloads a browser here: `executable_path` points at the `chromium` on PATH (installed by
scripts/test from Debian's packages).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, CDPSession, Page, Playwright, sync_playwright

from devtools.embedded import free_port
from server.settings import Settings
from tests.conftest import settings_env
from tests.support.logscan import log_file
from tests.support.servers import ServerProcess

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[Playwright]:
    """Playwright per test file, not per session: its sync API runs an event loop in the main thread while it
    lives, and the async tests a split run (pytest-xdist) may give this process after a browser file would
    meet that loop and fail. Stopping it after each file costs a Chromium start per file (about 1 s)."""
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        raise RuntimeError(
            "Debian's chromium is not installed: run scripts/test, or apt-get install chromium"
        )
    browser = playwright_instance.chromium.launch(
        executable_path=executable, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def live_server(settings: Settings, tmp_path: Path) -> Iterator[ServerProcess]:
    """The real server on a free port, with its origin on `localhost` (a secure context for passkeys)."""
    port = free_port()
    env = settings_env(settings) | {"SEGEL_ORIGIN": f"http://localhost:{port}", "SEGEL_RP_ID": "localhost"}
    server = ServerProcess(env=env, port=port, log_path=log_file("browser-server"))
    server.start()
    yield server
    server.stop()


#: Reports every Content-Security-Policy violation on the console, where the context fixture collects it.
CSP_WATCH = """
document.addEventListener('securitypolicyviolation', (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline'}`
    + ` at ${event.sourceFile || location.href}:${event.lineNumber}`);
});
"""


def csp_violations(messages: list[str]) -> list[str]:
    """Console lines that say the page's Content-Security-Policy blocked something."""
    return [m for m in messages if m.startswith("CSP violation:") or "Content Security Policy" in m]


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies, storage or service worker from other tests), phone-sized.

    Every browser test also checks that the pages' Content-Security-Policy blocked nothing: a script,
    style or image the policy refuses is a feature that silently stopped working. Write
    `wait_for_function` predicates as functions (`"() => ..."`): Playwright evaluates a bare expression
    string with `eval` inside the page, which the policy (rightly) refuses.
    """
    context = browser.new_context(
        viewport={"width": 360, "height": 640}, locale="id-ID", device_scale_factor=1
    )
    messages: list[str] = []
    context.add_init_script(CSP_WATCH)
    context.on("console", lambda message: messages.append(message.text))
    yield context
    context.close()
    assert csp_violations(messages) == [], "the Content-Security-Policy blocked part of a page"


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@dataclass
class VirtualAuthenticator:
    """Chromium's virtual WebAuthn authenticator (CDP `WebAuthn` domain) attached to one page."""

    cdp: CDPSession
    authenticator_id: str

    def credentials(self) -> list[dict[str, Any]]:
        result = self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.authenticator_id})
        return list(result["credentials"])

    def remove(self) -> None:
        self.cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": self.authenticator_id})


def add_virtual_authenticator(page: Page) -> VirtualAuthenticator:
    """A platform authenticator with resident keys and user verification, as on a modern Android phone."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    result = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return VirtualAuthenticator(cdp=cdp, authenticator_id=result["authenticatorId"])


@pytest.fixture
def authenticator(page: Page) -> VirtualAuthenticator:
    return add_virtual_authenticator(page)
