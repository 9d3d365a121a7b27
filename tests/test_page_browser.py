"""The listening page in a real headless Chromium (Debian's package, driven by Playwright).

Success: from ``file://`` and from a static server, every ``<audio>`` loads its file (metadata
read, duration > 0, no media error), every picture decodes at its size, the file name that is
also HTML shows as text, the console has no error, no request fails, no script runs; a
screenshot is saved.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest
from matplotlib.image import imread

from conftest import NASTY_NAME

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed: `./run test` installs Debian's chromium package when "
    "run as root; otherwise run `sudo apt-get install chromium`",
)

LOADED = "() => [...document.querySelectorAll('audio')].every(a => a.readyState >= 1 || a.error)"
AUDIO = """() => [...document.querySelectorAll('audio')].map(a => ({
    src: a.currentSrc, state: a.readyState, duration: a.duration,
    error: a.error ? a.error.code : null}))"""
IMAGES = """async () => Promise.all([...document.images].map(async i => {
    try { await i.decode(); } catch (e) { return {src: i.src, error: String(e)}; }
    return {src: i.src, width: i.naturalWidth, height: i.naturalHeight}; }))"""


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright is missing: pip install -e '.[test]'")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


@pytest.fixture
def server(grid_page):
    """The page's folder on a static HTTP server at 127.0.0.1 (loopback only)."""
    handler = functools.partial(_QuietHandler, directory=str(grid_page.parent))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/index.html"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def _check(browser, url: str, screenshot: Path) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}"))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    try:
        page.goto(url, wait_until="load")
        page.wait_for_function(LOADED, timeout=30_000)
        audio = page.evaluate(AUDIO)
        images = page.evaluate(IMAGES)
        assert page.get_by_text(NASTY_NAME, exact=True).count() >= 1
        page.screenshot(path=str(screenshot), full_page=True)
    finally:
        page.close()
    assert len(audio) == 5
    for item in audio:
        assert item["error"] is None and item["state"] >= 1 and item["duration"] > 0.9, item
    assert len(images) == 5
    for item in images:
        assert (item.get("width"), item.get("height")) == (320, 150), item
    assert problems == []
    height, width = imread(screenshot).shape[:2]
    assert width == 1100 and height > 800  # the whole page, taller than the window


def test_page_from_file_url(browser, grid_page, tmp_path):
    shot = tmp_path / "listening-page.png"
    _check(browser, grid_page.as_uri(), shot)
    print(f"screenshot: {shot}")


def test_page_from_a_static_server(browser, server, tmp_path):
    _check(browser, server, tmp_path / "served.png")


def test_a_missing_file_is_caught(browser, grid_page, tmp_path):
    """The check itself can fail: a page whose audio file is gone does not pass."""
    folder = shutil.copytree(grid_page.parent, tmp_path / "page")
    next((folder / "audio").glob("*.wav")).unlink()
    with pytest.raises(AssertionError):
        _check(browser, (folder / "index.html").as_uri(), tmp_path / "broken.png")
