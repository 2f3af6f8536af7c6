"""The service page in a real browser: Debian's headless chromium driven by Playwright (which downloads no browser)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)


def _service_helpers():
    name = "antbee_test_service_helpers"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / "test_service.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium executable (Debian: apt-get install chromium)")
def test_the_page_shows_the_model_and_classifies_an_uploaded_photo(tiny_models, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
    helpers = _service_helpers()
    server = helpers.Server(["--model", str(tiny_models.int8), "--events", str(tmp_path / "events.db"),
                             "--token", helpers.TOKEN])
    photo = tmp_path / "blue.png"
    photo.write_bytes(helpers.png(helpers.BLUE))
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 412, "height": 900})  # a phone's width
            errors = []
            page.on("pageerror", lambda error: errors.append(error))
            base = f"http://127.0.0.1:{server.port}"
            page.goto(base + "/")
            page.fill("input[name=token]", helpers.TOKEN)  # the login form first
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
