"""The service page in a real browser: Debian's headless chromium driven by Playwright (which downloads no browser)."""

from __future__ import annotations

import shutil
import threading
from contextlib import contextmanager

import numpy as np
import pytest
from mjpeg_server import MjpegServer

from service_client import BLUE, RED, TOKEN, Server, png

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)


@contextmanager
def logged_in_page(port: int, errors: list):
    """The service's page in Debian's chromium at a phone's width, past the login form; script errors go to `errors`."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 412, "height": 900})
            page.on("pageerror", lambda error: errors.append(error))
            page.goto(f"http://127.0.0.1:{port}/")
            page.fill("input[name=token]", TOKEN)
            page.click("button")
            yield page
        finally:
            browser.close()


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium executable (Debian: apt-get install chromium)")
def test_the_page_shows_the_model_and_classifies_an_uploaded_photo(tiny_models, tmp_path):
    server = Server(["--model", str(tiny_models.int8), "--events", str(tmp_path / "events.db"),
                    "--token", TOKEN])
    photo = tmp_path / "blue.png"
    photo.write_bytes(png(BLUE))
    errors = []
    try:
        with logged_in_page(server.port, errors) as page:
            page.wait_for_selector("#model td:has-text('ant, bee')")
            page.set_input_files("input[name=image]", str(photo))
            page.click("#upload button")
            page.wait_for_function("document.getElementById('answer').textContent.startsWith('bee')")
            # The result arrives over /events too, and the table follows.
            page.wait_for_function("document.getElementById('latest').textContent.includes('blue.png')")
            page.wait_for_selector("#results td:has-text('blue.png')")
            page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    finally:
        server.stop()
    assert errors == []
    assert (tmp_path / "page.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"screenshot: {tmp_path / 'page.png'}")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium executable (Debian: apt-get install chromium)")
def test_the_page_shows_a_live_stream_with_its_label_and_fps_changing_as_the_pictures_change(tiny_models, tmp_path):
    colour = {"now": RED}
    source = MjpegServer(lambda: np.full((120, 160, 3), colour["now"], np.uint8), fps=10).start()
    server = Server(["--video", f"entrance={source.url}", "--model", str(tiny_models.int8),
                     "--events", str(tmp_path / "events.db"), "--token", TOKEN])
    threading.Thread(target=server.process.stdout.read, daemon=True).start()  # the terminal's lines
    label = "document.querySelector('[data-source=entrance] .label')?.textContent ?? ''"
    numbers = "document.querySelector('[data-source=entrance] .numbers')?.textContent ?? ''"
    errors = []
    try:
        with logged_in_page(server.port, errors) as page:
            page.wait_for_function(f"({label}).startsWith('ant')", timeout=60_000)
            page.wait_for_function(f"({numbers}).includes(' fps, ')")
            page.wait_for_selector("[data-source=entrance] .state.online")
            # The live view's <img> shows the stream: it has decoded a picture of the stream's size.
            page.wait_for_function("document.querySelector('[data-source=entrance] img')?.naturalWidth === 160")
            before = page.evaluate(numbers)
            page.wait_for_function(f"({numbers}) !== {before!r}")  # the fps and latency follow the frames
            colour["now"] = BLUE
            page.wait_for_function(f"({label}).startsWith('bee')", timeout=60_000)
            page.wait_for_timeout(500)  # the stream's next part shows the blue picture
            page.screenshot(path=str(tmp_path / "live.png"), full_page=True)
    finally:
        server.stop()
        source.stop()
    assert errors == []
    assert (tmp_path / "live.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"screenshot: {tmp_path / 'live.png'}")
