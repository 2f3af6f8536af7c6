"""The service page in a real browser: Debian's headless chromium driven by Playwright (which downloads no browser)."""

from __future__ import annotations

import shutil

import pytest

from service_client import BLUE, TOKEN, Server, png

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium executable (Debian: apt-get install chromium)")
def test_the_page_shows_the_model_and_classifies_an_uploaded_photo(tiny_models, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
    server = Server(["--model", str(tiny_models.int8), "--events", str(tmp_path / "events.db"),
                    "--token", TOKEN])
    photo = tmp_path / "blue.png"
    photo.write_bytes(png(BLUE))
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 412, "height": 900})  # a phone's width
            errors = []
            page.on("pageerror", lambda error: errors.append(error))
            base = f"http://127.0.0.1:{server.port}"
            page.goto(base + "/")
            page.fill("input[name=token]", TOKEN)  # the login form first
            page.click("button")
            page.wait_for_selector("#model td:has-text('ant, bee')")
            page.set_input_files("input[name=image]", str(photo))
            page.click("#upload button")
            page.wait_for_function("document.getElementById('answer').textContent.startsWith('bee')")
            # The result arrives over /events too, and the table follows.
            page.wait_for_function("document.getElementById('latest').textContent.includes('blue.png')")
            page.wait_for_selector("#results td:has-text('blue.png')")
            page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
            browser.close()
    finally:
        server.stop()
    assert errors == []
    assert (tmp_path / "page.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"screenshot: {tmp_path / 'page.png'}")
