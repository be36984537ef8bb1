"""Staff in real headless Chromium with a virtual passkey: sign-in brings them to the office pages (or back
to the office page they opened signed out), the field app sends them on to /office, and their browser ends
with no local records database, i.e. no offline copy of the office's resident data."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from server.settings import Settings, open_couch
from tests.browser.conftest import add_virtual_authenticator
from tests.support.identity import enrollment_token, make_office, make_user
from tests.support.servers import ServerProcess
from tests.support.threads import run_async

SEGEL_DATABASES = (
    "indexedDB.databases().then((dbs) => dbs.map((d) => d.name).filter((n) => n.includes('segel')))"
)


async def _staff_link(settings: Settings) -> str:
    couch = open_couch(settings)
    try:
        await make_office(couch, settings)
        await make_user(couch, settings, "budi.santoso", "staff", office="6471", name="Budi Santoso")
        return await enrollment_token(couch, settings, "budi.santoso")
    finally:
        await couch.aclose()


@pytest.fixture
def desk(browser: Browser) -> Iterator[BrowserContext]:
    """A desktop profile. Service workers are blocked so `page.route` sees every navigation; the worker's
    own redirect handling is the same network answer."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="id-ID", service_workers="block"
    )
    yield context
    context.close()


def _signed_out_shell(live_server: ServerProcess) -> str:
    """The app shell as the service worker caches it (fetched without a session)."""
    return httpx.get(f"{live_server.url}/app").text


def test_staff_sign_in_lands_at_the_office_and_keeps_no_replica(
    desk: BrowserContext, live_server: ServerProcess, settings: Settings
) -> None:
    page: Page = desk.new_page()
    add_virtual_authenticator(page)
    origin = f"http://localhost:{live_server.port}"
    page.goto(f"{origin}/auth/enroll/{run_async(_staff_link, settings)}")
    page.click("#enroll-button")
    expect(page.locator("#continue")).to_have_attribute("href", "/office")
    page.goto(f"{origin}/auth/login")
    page.click("#logout")
    expect(page.locator("#logged-out")).to_be_visible()

    # Plain sign-in: the office dashboard, not the courier app.
    page.click("#login-button")
    page.wait_for_url(f"{origin}/office")
    expect(page.locator("[data-role='office-home']")).to_be_visible()
    page.goto(f"{origin}/auth/login")
    page.click("#logout")

    # Signed out, an office page sends to the login page, and the login comes back to it.
    page.goto(f"{origin}/office/documents?q=siti")
    assert page.url.startswith(f"{origin}/auth/login?next=")
    expect(page.locator("#login-needed")).to_be_visible()
    page.click("#login-button")
    page.wait_for_url(f"{origin}/office/documents?q=siti")

    # The field app sends staff to the office; nothing local was created.
    page.goto(f"{origin}/app")
    page.wait_for_url(f"{origin}/office")
    assert page.evaluate(SEGEL_DATABASES) == []


def test_a_cached_shell_opened_by_staff_removes_the_replica_and_goes_to_the_office(
    desk: BrowserContext, live_server: ServerProcess, settings: Settings
) -> None:
    """The shell can come from the service worker's cache; then the app itself asks /auth/me first."""
    page: Page = desk.new_page()
    add_virtual_authenticator(page)
    origin = f"http://localhost:{live_server.port}"
    page.goto(f"{origin}/auth/enroll/{run_async(_staff_link, settings)}")
    page.click("#enroll-button")
    expect(page.locator("#continue")).to_be_visible()
    shell = _signed_out_shell(live_server)

    def cached_shell(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body=shell)

    # A replica left from before: the app opened while /auth/me did not know the user (as when offline).
    page.route(f"{origin}/app", cached_shell)
    page.route(f"{origin}/auth/me", lambda route: route.fulfill(status=401, json={"error": "unauthorized"}))
    page.goto(f"{origin}/app")
    page.wait_for_selector("#app[data-ready='true']")
    page.wait_for_function(f"() => {SEGEL_DATABASES}.then((names) => names.length > 0)")
    page.unroute(f"{origin}/auth/me")

    page.goto(f"{origin}/app")
    page.wait_for_url(f"{origin}/office")
    assert page.evaluate(SEGEL_DATABASES) == []
    sync_requests: list[str] = []
    page.on("request", lambda request: sync_requests.append(request.url) if "/sync/" in request.url else None)
    page.goto(f"{origin}/app")
    page.wait_for_url(f"{origin}/office")
    assert sync_requests == [] and page.evaluate(SEGEL_DATABASES) == []


def test_the_service_worker_follows_the_redirect_to_the_office(
    page: Page, live_server: ServerProcess, settings: Settings
) -> None:
    """With the app's service worker installed (a browser that opened /app before), /app for staff is the
    server's redirect, not the cached shell."""
    add_virtual_authenticator(page)
    origin = f"http://localhost:{live_server.port}"
    page.goto(f"{origin}/app")
    page.wait_for_function("() => navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.goto(f"{origin}/auth/enroll/{run_async(_staff_link, settings)}")
    page.click("#enroll-button")
    expect(page.locator("#continue")).to_be_visible()

    sync_requests: list[str] = []
    page.on("request", lambda request: sync_requests.append(request.url) if "/sync/" in request.url else None)
    response = page.goto(f"{origin}/app")
    assert response is not None and response.url == f"{origin}/office"  # no shell was opened on the way
    expect(page.locator("[data-role='office-home']")).to_be_visible()
    assert sync_requests == []
