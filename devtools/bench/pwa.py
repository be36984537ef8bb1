"""PWA figures (run by scripts/bench/pwa): app-shell bytes on first load, time to first usable screen on an
offline reload, sync time of records + photos over a throttled 3G-like link, and how soon a new phone on
slow 3G shows the courier's first document. Prints, asserts nothing.

`scripts/bench/pwa --first-document [documents] [--log]` runs only the last figure (a few minutes, not the 15
or so the photo upload takes); `--log` also prints the page's request timeline up to the first document."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from devtools.pwa.harness import Harness, running
from server.settings import Settings, open_couch
from tests.browser.test_pwa_sync import _prepare
from tests.support.records import document_records, picked_up_with_photo
from tests.support.threads import run_async

# Chromium DevTools "Regular 3G"-like: 750 kbit/s down, 250 kbit/s up, 100 ms latency.
THREE_G = {
    "offline": False,
    "latency": 100,
    "downloadThroughput": 750 * 1024 / 8,
    "uploadThroughput": 250 * 1024 / 8,
}

# The tester's slow 3G (issue 11): 400 ms latency, 400 kbit/s both ways.
SLOW_3G = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 400 * 1024 / 8,
    "uploadThroughput": 400 * 1024 / 8,
}
THROTTLE_WORKERS = Path(__file__).with_name("throttle_workers.mjs")

PHOTO_BYTES = 150 * 1024

MAKE_HANDOFFS = """async ([records, photos, bytes]) => {
  const data = window.segelData;
  const me = await data.currentUser();
  const blob = new Blob([new Uint8Array(bytes)], {type: 'image/jpeg'});
  const items = (await data.listDocuments(me)).slice(0, photos);
  for (const item of items) {
    await data.saveHandoff({me, item, kind: 'picked_up', sealScanned: item.seal.number,
      sealCondition: 'intact', photos: [{blob, width: 1600, height: 1200, contentType: 'image/jpeg'}]});
  }
  let made = items.length;
  for (const item of await data.listDocuments(me)) {
    if (made >= records) break;
    await data.saveHandoff({me, item, kind: 'failed_attempt', sealScanned: item.seal.number,
      sealCondition: 'intact', photos: [], failureReason: 'not_at_home'});
    made += 1;
  }
}"""


def noisy_jpeg() -> bytes:
    """A JPEG of about PHOTO_BYTES, like a compressed seal photo (noise does not compress away)."""
    rng = random.Random(7)
    image = Image.frombytes("RGB", (640, 480), bytes(rng.getrandbits(8) for _ in range(640 * 480 * 3)))
    for quality in range(90, 10, -5):
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality)
        if buffer.tell() <= PHOTO_BYTES:
            return buffer.getvalue()
    return buffer.getvalue()


def wait_for(page, key: str, start: float, timeout: float = 1800) -> float:  # type: ignore[no-untyped-def]
    while time.perf_counter() - start < timeout:
        if page.evaluate("window.segelData.syncStatus()")[key] == 0:
            return time.perf_counter() - start
        time.sleep(0.5)
    return float("nan")


def courier_history(count: int, jpeg: bytes) -> list[dict[str, Any]]:
    """`count` documents as the 3G phase leaves them on the server: each sealed at the office, then picked up
    by the courier with one seal photo of PHOTO_BYTES (the photo record carries its JPEG attachment)."""
    docs: list[dict[str, Any]] = []
    for i in range(count):
        name, seal = f"Warga {i:03d}", f"BP{14000 + i:08d}"
        docs += picked_up_with_photo(
            f"F{i:05d}", jpeg, seq=i + 1, name=name, seal_number=seal, size=(640, 480)
        )
    return docs


async def _write(settings: Settings, docs: list[dict[str, Any]]) -> None:
    couch = open_couch(settings)
    try:
        for start in range(0, len(docs), 50):  # slices: the photos make a large request body
            await couch.db(settings.records_db).bulk_docs(docs[start : start + 50])
    finally:
        await couch.aclose()


def throttle_workers(harness: Harness) -> tuple[subprocess.Popen[str], list[dict[str, Any]]]:
    """Starts the node helper that gives service workers the slow link too; returns it and the list it fills
    with the workers' finished requests."""
    version = httpx.get(f"http://127.0.0.1:{harness.devtools_port}/json/version", timeout=10).json()
    helper = subprocess.Popen(
        [
            "node",
            "--experimental-websocket",
            "--no-warnings",
            str(THROTTLE_WORKERS),
            version["webSocketDebuggerUrl"],
            json.dumps(SLOW_3G),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert helper.stdout is not None
    first = helper.stdout.readline().strip()
    if first != "ready":
        raise SystemExit(f"throttle_workers.mjs: {first}")
    fetched: list[dict[str, Any]] = []

    def read() -> None:
        assert helper.stdout is not None
        for line in helper.stdout:
            if line.startswith("{"):
                fetched.append(json.loads(line))

    threading.Thread(target=read, daemon=True).start()
    return helper, fetched


def first_document_on_slow_3g(harness: Harness, documents: int, cookie: str, log: bool = False) -> None:
    """A new phone (fresh profile, no service worker) opens the app right after sign-in on slow 3G: when does
    the first document show, when all, and what went over the link for the app shell."""
    worker = httpx.get(f"{harness.origin}/sw.js").text
    shell = json.loads(worker.split("const BUILD = ", 1)[1].split(";\n", 1)[0])["shell"]
    helper, worker_fetches = throttle_workers(harness)
    try:
        context = harness.browser.new_context(viewport={"width": 360, "height": 640}, locale="id-ID")
        context.add_cookies([{"name": "segel_session", "value": cookie, "url": harness.origin}])
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", SLOW_3G)
        urls: dict[str, str] = {}
        sent: dict[str, float] = {}
        page_fetches: list[dict[str, Any]] = []

        def will_send(e: dict[str, Any]) -> None:
            urls[e["requestId"]] = f"{e['request']['method']} {e['request']['url']}"
            sent.setdefault(e["requestId"], float(e["timestamp"]))

        cdp.on("Network.requestWillBeSent", will_send)
        cdp.on(
            "Network.loadingFinished",
            lambda e: page_fetches.append(
                {
                    "url": urls.get(e["requestId"], "").split(" ", 1)[-1],
                    "request": urls.get(e["requestId"], ""),
                    "bytes": int(e["encodedDataLength"]),
                    "sent": sent.get(e["requestId"], float("nan")),
                    "done": float(e["timestamp"]),
                }
            ),
        )
        start = time.perf_counter()
        page.goto(f"{harness.origin}/app", timeout=120000)
        page.wait_for_selector("a[data-doc]", timeout=600000)
        first = time.perf_counter() - start
        # Functions, not bare expressions: Playwright polls an expression with eval, which the app's CSP
        # refuses (no 'unsafe-eval'), so the figure was never printed.
        page.wait_for_function(
            f"() => document.querySelectorAll('a[data-doc]').length === {documents}", timeout=600000
        )
        every = time.perf_counter() - start
        photos_then = len(page.evaluate("window.segelData.localDocs('photo:')"))
        page.wait_for_function("() => navigator.serviceWorker.ready.then(() => true)", timeout=600000)
        page.wait_for_timeout(3000)

        def shell_bytes(fetches: list[dict[str, Any]]) -> tuple[int, int]:
            hits = [f for f in fetches if "/" + f["url"].split("/", 3)[-1].split("?")[0] in shell]
            network = [f for f in hits if not f.get("cache") and f["bytes"] > 0]
            return len(network), sum(f["bytes"] for f in network)

        page_n, page_b = shell_bytes(page_fetches)
        worker_n, worker_b = shell_bytes(worker_fetches)
        print(
            f"new phone on slow 3G (400 ms, 400 kbit/s; {documents} documents, one 150 KB seal photo each): "
            f"first document visible after sign-in {first:.1f} s, all {documents} after {every:.1f} s "
            f"({photos_then} photos on the phone by then)"
        )
        print(
            f"app shell over the slow link: page {page_b / 1024:.0f} KB in {page_n} requests, "
            f"service worker install {worker_b / 1024:.0f} KB in {worker_n} requests"
        )
        if log:
            # The page's requests until the first document showed, in the order sent, in seconds after the
            # first one (the page itself): where the time to the first document goes.
            base = min(f["sent"] for f in page_fetches)
            print("requests until the first document (sent - done s, bytes over the link; sw: the worker's):")
            from_worker = [
                {**f, "request": f"sw {'cache' if f.get('cache') else 'GET'} {f['url']}"}
                for f in worker_fetches
                if "sent" in f
            ]
            for f in sorted([*page_fetches, *from_worker], key=lambda f: f["sent"]):
                if f["sent"] - base > first:
                    continue
                path = "/" + f["request"].split("/", 3)[-1] if "//" in f["request"] else f["request"]
                method = f["request"].rsplit(" ", 1)[0]
                when = f"{f['sent'] - base:6.2f} - {f['done'] - base:6.2f}"
                print(f"  {when}  {f['bytes']:>7}  {method} {path[:110]}")
        context.close()
    finally:
        helper.terminate()
        helper.wait(timeout=10)


def main() -> int:
    if sys.argv[1:2] in (["-h"], ["--help"]):
        print("usage: scripts/bench/pwa [records photos] | --first-document [documents] [--log]\n")
        print(__doc__)
        return 0
    if sys.argv[1:2] == ["--first-document"]:
        log = "--log" in sys.argv
        args = [a for a in sys.argv[2:] if a != "--log"]
        documents = int(args[0]) if args else 100
        with running(devtools=True) as harness:
            cookie = run_async(_prepare, harness.settings, [])
            run_async(_write, harness.settings, courier_history(documents, noisy_jpeg()))
            first_document_on_slow_3g(harness, documents, cookie, log)
        return 0
    records = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    photos = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    with running(devtools=True) as harness:
        context = harness.browser.new_context(viewport={"width": 360, "height": 640}, locale="id-ID")
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        sizes: dict[str, int] = {}
        cdp.on(
            "Network.loadingFinished",
            lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])),
        )
        urls: dict[str, str] = {}
        cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
        page.goto(f"{harness.origin}/app")
        page.wait_for_selector("#app[data-ready='true']")
        page.wait_for_timeout(300)
        first = sum(sizes.values())
        wasm_early = any(u.endswith(".wasm") for u in urls.values())
        print(
            f"app shell on first load: {first / 1024:.0f} KB transferred (compressed as served), "
            f"{len(sizes)} requests, scanner wasm fetched before first screen: {wasm_early}"
        )
        page.wait_for_function("() => navigator.serviceWorker.ready.then(() => true)")
        page.wait_for_timeout(3000)
        total = sum(sizes.values())
        print(
            f"page requests after 3 s (the service worker's own precache fetches are not counted here): "
            f"{total / 1024:.0f} KB"
        )
        context.set_offline(True)
        timings: list[float] = []
        for _ in range(5):
            start = time.perf_counter()
            page.reload()
            page.wait_for_selector("#app[data-ready='true']")
            timings.append((time.perf_counter() - start) * 1000)
        timings.sort()
        print(
            f"offline reload to first usable screen: median {timings[2]:.0f} ms, "
            f"best {timings[0]:.0f} ms (5 runs)"
        )
        context.close()

        # Sync over 3G: a courier's phone pushes `records` handoff-sized records and `photos` seal photos.
        docs = [
            r
            for i in range(photos)
            for r in document_records(f"B{i:05d}", "Siti Rahmawati", "6471054506900012", f"BP{13000 + i:08d}")
        ]
        cookie = run_async(_prepare, harness.settings, docs)  # a courier with `photos` assigned documents
        context = harness.browser.new_context(viewport={"width": 360, "height": 640})
        context.add_cookies([{"name": "segel_session", "value": cookie, "url": harness.origin}])
        page = context.new_page()
        page.goto(f"{harness.origin}/app")
        page.wait_for_function(
            f"() => document.querySelectorAll('a[data-doc]').length === {photos}", timeout=120000
        )
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        context.set_offline(True)
        page.evaluate(MAKE_HANDOFFS, [records, photos, list(noisy_jpeg())])
        pending = page.evaluate("window.segelData.syncStatus()")
        print(f"made offline: {pending['pendingRecords']} records, {pending['pendingPhotos']} photos")
        cdp.send("Network.emulateNetworkConditions", THREE_G)
        context.set_offline(False)
        start = time.perf_counter()
        page.evaluate("window.dispatchEvent(new Event('online'))")
        records_done = wait_for(page, "pendingRecords", start)
        photos_done = wait_for(page, "pendingPhotos", start)
        print(
            f"sync over 3G-like link (750/250 kbit/s, 100 ms): {records} records in {records_done:.1f} s, "
            f"{photos} photos ({photos * PHOTO_BYTES // 1024} KB) done after {photos_done:.1f} s"
        )
        context.close()
        # The same courier on a new phone: their documents and the photos just uploaded come down.
        first_document_on_slow_3g(harness, photos, cookie)
    return 0


if __name__ == "__main__":
    sys.exit(main())
