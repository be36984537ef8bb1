"""A new phone's first sync: the courier's documents show before their seal photos have come down (the
photos follow, all of them), and installing the app fetches the shell from the server once."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from devtools.embedded import free_port
from server.identity.sessions import SESSION_COOKIE
from server.settings import Settings
from tests.browser.test_pwa_offline import seal_photo
from tests.browser.test_pwa_sync import _prepare
from tests.conftest import settings_env
from tests.support.records import picked_up_with_photo
from tests.support.servers import ServerProcess
from tests.support.threads import run_async

PHOTO_BYTES_URL = re.compile(r"/sync/records/photo(%3A|:)[^/?]+/")


def test_documents_show_while_photos_are_held_back_and_the_photos_follow(
    page: Page, context: BrowserContext, live_server: ServerProcess, settings: Settings, tmp_path: Path
) -> None:
    jpeg = seal_photo(tmp_path / "seal.jpg").read_bytes()
    docs = [*picked_up_with_photo("P0001", jpeg, seq=1), *picked_up_with_photo("P0002", jpeg, seq=2)]
    cookie = run_async(_prepare, settings, docs)
    origin = f"http://localhost:{live_server.port}"
    context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": origin}])
    held: list[Route] = []
    holding = [True]

    def stall(route: Route) -> None:  # the image downloads hang, as on a link that stalls
        if holding[0]:
            held.append(route)
        else:
            route.continue_()

    context.route(PHOTO_BYTES_URL, stall)

    page.goto(f"{origin}/app")
    expect(page.locator("a[data-doc]")).to_have_count(2, timeout=30000)
    expect(page.locator("section[aria-label='Sedang saya bawa'] h2")).to_have_text("Sedang saya bawa (2)")
    deadline = 60
    while not held and deadline:
        page.wait_for_timeout(500)  # the photo pull starts once the records have caught up
        deadline -= 1
    assert held, "the photo pull never asked for an image"
    assert page.evaluate("window.segelData.localDocs('photo:')") == []

    holding[0] = False
    for route in held:
        route.continue_()
    photos: list[dict[str, Any]] = []
    for _ in range(120):  # every photo arrives once the link lets them through
        photos = page.evaluate("window.segelData.localDocs('photo:')")
        if len(photos) == 2:
            break
        page.wait_for_timeout(500)
    assert {p["_digest_sha256"] for p in photos} == {hashlib.sha256(jpeg).hexdigest()}
    expect(page.locator("a[data-doc]")).to_have_count(2)


def _full_downloads(log: Path) -> list[str]:
    """Paths the server answered with 200 (a full body), from its one-line-per-request access log."""
    paths = []
    for line in log.read_text().splitlines():
        try:
            message = str(json.loads(line).get("message", ""))
        except ValueError:
            continue
        parts = message.split()
        if len(parts) >= 3 and parts[0] == "GET" and parts[2] == "200":
            paths.append(parts[1])
    return paths


@pytest.fixture
def logged_server(settings: Settings, tmp_path: Path) -> Iterator[ServerProcess]:
    """The real server with its access log on (the other browser tests keep it at WARNING)."""
    port = free_port()
    env = settings_env(settings) | {
        "SEGEL_ORIGIN": f"http://localhost:{port}",
        "SEGEL_RP_ID": "localhost",
        "SEGEL_LOG_LEVEL": "INFO",
    }
    server = ServerProcess(env=env, port=port, log_path=tmp_path / "server.log")
    server.start()
    yield server
    server.stop()


def test_first_install_fetches_each_shell_file_from_the_server_once(
    page: Page, logged_server: ServerProcess
) -> None:
    live_server = logged_server
    page.goto(f"http://localhost:{live_server.port}/app")
    page.wait_for_function("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_selector("#app[data-ready='true']")
    page.wait_for_timeout(1000)
    source = page.evaluate("fetch('/sw.js').then((r) => r.text())")
    shell = json.loads(source.split("const BUILD = ", 1)[1].split(";\n", 1)[0])["shell"]
    # The worker cached the whole shell...
    cached = page.evaluate(
        "caches.keys().then((k) => caches.open(k[0])).then((c) => c.keys())"
        ".then((r) => r.map((q) => new URL(q.url).pathname))"
    )
    # (beside it, static files the page fetched once the worker controlled it may already be cached, as the
    # lazily loaded bundle chunks and the icon are on a loaded machine; never anything but static files)
    assert set(shell) <= set(cached), sorted(set(shell) - set(cached))
    assert all(url.startswith("/static/") for url in set(cached) - set(shell)), sorted(cached)
    # ...yet no shell file came from the server twice (the bundles are the page's own downloads).
    downloads = _full_downloads(live_server.log_path)
    bundles = [url for url in shell if url.startswith("/static/dist/")]
    assert bundles and all(downloads.count(url) == 1 for url in bundles), downloads
    # /app and the schemas carry no validator, so the install's revalidation downloads them again (a few KB).


def test_a_new_phone_starts_its_pull_without_repeated_round_trips(
    page: Page, context: BrowserContext, live_server: ServerProcess, settings: Settings, tmp_path: Path
) -> None:
    """On a slow link every request before the first `_changes` costs a round trip: the app asks who is
    signed in once, and the gateway's root (which names the checkpoints) once for all its replications."""
    jpeg = seal_photo(tmp_path / "seal.jpg").read_bytes()
    cookie = run_async(_prepare, settings, picked_up_with_photo("P0003", jpeg, seq=3))
    origin = f"http://localhost:{live_server.port}"
    context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": origin}])
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url.removeprefix(origin).split("?")[0]))

    page.goto(f"{origin}/app")
    expect(page.locator("a[data-doc]")).to_have_count(1, timeout=30000)
    photos: list[dict[str, Any]] = []
    for _ in range(120):  # the photo pull and the photo push start too, and still need no second root
        photos = page.evaluate("window.segelData.localDocs('photo:')")
        if photos:
            break
        page.wait_for_timeout(500)
    assert [p["_digest_sha256"] for p in photos] == [hashlib.sha256(jpeg).hexdigest()]
    assert asked.count("/auth/me") == 1, asked
    assert asked.count("/sync/") == 1, asked
    assert "/sync/records/_changes" in asked
