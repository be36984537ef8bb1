"""The PWA shell in real headless Chromium: it loads, installs its service worker and opens offline."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Page

from tests.support.servers import ServerProcess


def test_shell_opens_offline_after_first_visit(
    page: Page, context: BrowserContext, live_server: ServerProcess
) -> None:
    page.goto(f"http://localhost:{live_server.port}/app")
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_selector("text=Siap dipakai")
    page.reload()  # let the now-active service worker control the page

    context.set_offline(True)
    page.reload()

    assert page.locator("h1").first.inner_text() == "Segel"
    assert page.evaluate("navigator.onLine") is False
