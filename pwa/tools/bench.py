"""PWA figures (run by scripts/bench/pwa): app-shell bytes on first load, time to first usable screen on an
offline reload, and sync time of records + photos over a throttled 3G-like link. Prints, asserts nothing."""

from __future__ import annotations

import io
import random
import sys
import time

from PIL import Image

from pwa.tools.harness import running
from tests.browser.test_pwa_offline import document_records
from tests.browser.test_pwa_sync import _prepare
from tests.support.threads import run_async

# Chromium DevTools "Regular 3G"-like: 750 kbit/s down, 250 kbit/s up, 100 ms latency.
THREE_G = {
    "offline": False,
    "latency": 100,
    "downloadThroughput": 750 * 1024 / 8,
    "uploadThroughput": 250 * 1024 / 8,
}


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


def main() -> int:
    records = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    photos = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    with running() as harness:
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
