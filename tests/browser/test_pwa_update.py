"""A new version of the app installs in the background and waits: the user is offered a reload, and the
new version takes over only when they accept (never in the middle of a form)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.support.servers import ServerProcess


def test_new_version_waits_until_the_user_reloads(page: Page, live_server: ServerProcess) -> None:
    page.goto(f"http://localhost:{live_server.port}/app")
    page.wait_for_function("() => navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    expect(page.locator("[data-role='update']")).to_have_count(0)

    # A deploy: the browser finds a changed worker script for the same scope (here: a new script URL).
    page.evaluate("navigator.serviceWorker.register('/sw.js?release=2', {scope: '/'})")
    update = page.locator("[data-role='update']")
    expect(update).to_be_visible(timeout=15000)
    expect(page.locator("#update-banner")).to_contain_text("Versi baru aplikasi siap.")
    old = page.evaluate("navigator.serviceWorker.controller.scriptURL")
    assert old.endswith("/sw.js")  # still the old version until the user says so

    with page.expect_navigation():
        update.click()
    page.wait_for_selector("#app[data-ready='true']")
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL").endswith("/sw.js?release=2")
