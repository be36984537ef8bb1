"""Live camera scanning of a seal: Chromium's fake camera plays a video of the seal's QR code, and the PWA
reads it from the video stream (with the WASM reader when the browser has no native BarcodeDetector)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import qrcode
from PIL import Image
from playwright.sync_api import Browser, Page, Playwright, expect

from tests.browser.conftest import CHROMIUM_ARGS
from tests.support.records import COURIER, document_records
from tests.support.servers import ServerProcess

WIDTH, HEIGHT, FRAMES = 640, 480, 10


def qr_video(text: str, path: Path) -> Path:
    """A few seconds of a QR code as raw YUV 4:2:0 (.y4m), the format Chromium's fake camera plays."""
    code = qrcode.make(text, box_size=10, border=4).get_image().convert("L")
    side = min(HEIGHT - 40, code.size[0])
    frame = code.resize((side, side))
    canvas = Image.new("L", (WIDTH, HEIGHT), 255)
    canvas.paste(frame, ((WIDTH - side) // 2, (HEIGHT - side) // 2))
    luma = canvas.tobytes()
    chroma = bytes([128]) * (WIDTH // 2 * HEIGHT // 2)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(FRAMES):
            out.write(b"FRAME\n" + luma + chroma + chroma)
    return path


@pytest.fixture
def camera_page(playwright_instance: Playwright, tmp_path: Path) -> Iterator[Page]:
    video = qr_video("BP00016001", tmp_path / "seal.y4m")
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is needed"
    browser: Browser = playwright_instance.chromium.launch(
        executable_path=executable,
        headless=True,
        args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={video}"],
    )
    context = browser.new_context(viewport={"width": 360, "height": 640}, locale="id-ID")
    yield context.new_page()
    context.close()
    browser.close()


def test_seal_is_read_from_the_live_camera(camera_page: Page, live_server: ServerProcess) -> None:
    page = camera_page
    page.context.grant_permissions(["camera"], origin=f"http://localhost:{live_server.port}")
    page.goto(f"http://localhost:{live_server.port}/app")
    page.wait_for_selector("#app[data-ready='true']")
    docs = document_records("C0001", "Siti Rahmawati", "6471054506900012", "BP00016001")
    page.evaluate("([docs, me]) => window.segelData.loadPulled(docs, me)", [docs, COURIER])
    page.goto(f"http://localhost:{live_server.port}/app#/pickup")
    page.get_by_role("button", name="Pindai dengan kamera").click()
    expect(page.locator("[data-role='seal-verdict']")).to_have_text("Cocok: BP00016001", timeout=30000)
    expect(page.locator("[data-role='seal-number']")).to_have_value("BP00016001")
    expect(page.locator("video.scanner-video")).to_be_hidden()  # the camera is released after the read
