"""The PWA shell in real headless Chromium: it loads, installs its service worker and opens offline."""

from __future__ import annotations

import httpx
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import CSP_WATCH, csp_violations
from tests.support.servers import ServerProcess


def test_shell_opens_offline_after_first_visit(
    page: Page, context: BrowserContext, live_server: ServerProcess
) -> None:
    page.goto(f"http://localhost:{live_server.port}/app")
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_selector("#app[data-ready='true']")

    context.set_offline(True)
    page.reload()

    assert page.locator(".brand").inner_text() == "Segel"
    expect(page.locator("h1")).to_have_text("Dokumen saya")
    expect(
        page.locator("[data-role='login']").first
    ).to_be_visible()  # not signed in: local data, sign-in link
    assert page.evaluate("navigator.onLine") is False


def test_service_worker_precaches_every_shell_file_of_this_build(live_server: ServerProcess) -> None:
    source = httpx.get(f"{live_server.url}/sw.js").text
    manifest = httpx.get(f"{live_server.url}/static/dist/asset-manifest.json").json()
    for url in manifest["precache"]:
        assert f'"{url}"' in source
        assert httpx.get(f"{live_server.url}{url}").status_code == 200
    # The scanner's wasm is not in the install list (it is fetched when first needed), but is known as lazy.
    wasm = manifest["assets"]["zxing_reader.wasm"]
    shell_part = source.split('"lazy"')[0]
    assert wasm not in shell_part and wasm in source
    assert f'"{manifest["assets"]["app.js"]}"' in shell_part
    # The shell page names every bundle the entry imports, so none waits for the entry to be parsed first.
    page = httpx.get(f"{live_server.url}/app").text
    for url in manifest["precache"]:
        if url.endswith(".js"):
            assert f'<link rel="modulepreload" href="{url}">' in page


def test_bundles_are_sent_gzipped_and_cached_for_a_year(live_server: ServerProcess) -> None:
    manifest = httpx.get(f"{live_server.url}/static/dist/asset-manifest.json").json()
    url = f"{live_server.url}{manifest['assets']['app.js']}"
    zipped = httpx.get(url, headers={"Accept-Encoding": "gzip"})
    plain = httpx.get(url, headers={"Accept-Encoding": "identity"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["content-type"].startswith("text/javascript")
    assert int(zipped.headers["content-length"]) < len(plain.content) / 2
    assert zipped.content == plain.content  # httpx undid the gzip: same bytes
    assert "immutable" in zipped.headers["cache-control"]
    wasm = httpx.get(f"{live_server.url}{manifest['assets']['zxing_reader.wasm']}")
    assert wasm.headers["content-type"] == "application/wasm" and wasm.content[:4] == b"\0asm"


def test_the_policy_refuses_an_injected_inline_script_and_the_check_sees_it(
    browser: Browser, live_server: ServerProcess
) -> None:
    """What every browser test's CSP check relies on: an inline script (what an XSS would inject) does not
    run, and the violation reaches the console where the fixture looks for it."""
    context = browser.new_context()
    messages: list[str] = []
    context.add_init_script(CSP_WATCH)
    context.on("console", lambda message: messages.append(message.text))
    try:
        page = context.new_page()
        response = page.goto(f"http://localhost:{live_server.port}/app")
        assert (
            response is not None and "frame-ancestors 'none'" in response.headers["content-security-policy"]
        )
        page.wait_for_selector("#app[data-ready='true']")
        assert csp_violations(messages) == []  # the shell itself needs nothing the policy refuses
        page.evaluate(
            """() => { const s = document.createElement('script'); s.textContent = 'window.injected = 1';
                       document.body.append(s); }"""
        )
        page.wait_for_function("() => true")
        assert page.evaluate("window.injected") is None
        expect(page.locator("h1")).to_have_text("Dokumen saya")
        deadline = 50
        while not csp_violations(messages) and deadline:
            page.wait_for_timeout(100)
            deadline -= 1
        assert any("script-src" in m for m in csp_violations(messages))
    finally:
        context.close()
