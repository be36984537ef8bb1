"""Screenshots of the PWA's main screens at 360x640 (run by scripts/screens), into docs/screens/."""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

from devtools.pwa.harness import running
from tests.support.records import COURIER, VAN_OPERATOR, document_records, stop_record

OUT = Path(__file__).resolve().parents[2] / "docs" / "screens"


def shoot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path))
    # Keep the committed PNGs small: a 64-colour palette is plenty for flat UI.
    Image.open(path).convert("RGB").quantize(colors=64).save(path, optimize=True)
    print(f"{path.relative_to(OUT.parents[1])}: {path.stat().st_size // 1024} KB")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    docs = [
        *document_records("D0001", "Siti Rahmawati", "6471054506900012", "BP00012001"),
        *document_records("D0002", "Budi Hartono", "6471021203850007", "BP00012002"),
    ]
    with running() as harness:
        context = harness.browser.new_context(viewport={"width": 360, "height": 640}, locale="id-ID")
        page = context.new_page()
        page.goto(f"{harness.origin}/app")
        page.wait_for_selector("#app[data-ready='true']")
        page.evaluate("([docs, me]) => window.segelData.loadPulled(docs, me)", [docs, COURIER])
        page.reload()
        page.wait_for_selector("a[data-doc]")
        shoot(page, "courier-documents")
        page.goto(f"{harness.origin}/app#/pickup")
        page.wait_for_selector("li[data-doc]")
        page.locator("li[data-doc] [data-role='seal-number']").nth(1).fill("BP00099999")
        page.locator("li[data-doc]").nth(1).scroll_into_view_if_needed()
        shoot(page, "courier-pickup-seal-mismatch")
        page.goto(f"{harness.origin}/app#/handoff/delivered/document:01JDTESTD0001")
        page.wait_for_selector("[data-role='receipt-code']")
        page.evaluate("window.scrollTo(0, 0)")
        shoot(page, "courier-delivery")
        context.set_offline(True)
        page.goto(f"{harness.origin}/app#/")
        page.wait_for_selector("a[data-doc]")
        shoot(page, "courier-offline")
        context.close()

        context = harness.browser.new_context(viewport={"width": 360, "height": 640}, locale="id-ID")
        page = context.new_page()
        page.goto(f"{harness.origin}/app")
        page.wait_for_selector("#app[data-ready='true']")
        date = page.evaluate("() => new Date().toLocaleDateString('sv-SE')")
        page.evaluate(
            "([docs, me]) => window.segelData.loadPulled(docs, me)", [[stop_record(date)], VAN_OPERATOR]
        )
        page.goto(f"{harness.origin}/app#/stops")
        page.wait_for_selector("[data-stop]")
        shoot(page, "van-stops")
        page.goto(f"{harness.origin}/app#/visit/{stop_record(date)['_id']}")
        page.wait_for_selector("[data-role='nik']")
        page.locator("[data-role='nik']").fill("6471054506900012")
        page.locator("[data-role='applicant-temp']").fill("38.2")
        page.locator("[data-role='operator-temp']").fill("36.4")
        shoot(page, "van-visit-form")
        context.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
