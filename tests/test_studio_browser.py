"""The studio in a real headless Chromium (Debian's package, driven by Playwright), served by
uvicorn on the loopback address: upload two sounds, start a transfer, watch it, play a snapshot
while it runs, cancel it and get its best result, run a short one to its end, download, and a
text file named ``.wav`` shows the loader's message. No console errors, nothing fetched from
elsewhere."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import soundfile as sf

from conftest import NASTY_NAME, SR
from test_page_browser import CHROMIUM, IMAGES, browser  # noqa: F401  (the fixture)

pytest.importorskip("uvicorn", reason="the studio extra is missing: pip install -e '.[studio]'")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")

AUDIO_READY = """(selector) => { const a = document.querySelector(selector);
    return a && a.readyState >= 2 && a.duration > 0; }"""


@pytest.fixture
def studio(tmp_path):
    """The studio on 127.0.0.1 at a free port: its address."""
    import uvicorn

    from audiostyle.studio.app import create_app
    from audiostyle.studio.config import StudioConfig

    app = create_app(StudioConfig(data=tmp_path / "data", port=0, threads=1))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive()
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=30)


def test_the_studio_in_a_browser(browser, studio, tmp_path, melody, bongos):  # noqa: F811
    sf.write(tmp_path / "tune.wav", melody[: 2 * SR], SR)
    style_name = NASTY_NAME.replace(".wav", ".flac")  # a name that is also HTML
    sf.write(tmp_path / style_name, bongos[:SR], SR)
    (tmp_path / "notes.wav").write_text("not a sound\n")
    page = browser.new_page(viewport={"width": 1100, "height": 900}, accept_downloads=True)
    problems: list[str] = []

    def console(message):
        expected = "status of 400" in message.text and "notes.wav" in message.location["url"]
        if message.type == "error" and not expected:
            problems.append(f"console: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("request", lambda r: r.url.startswith(studio) or r.url.startswith("data:")
            or problems.append(f"outside request: {r.url}"))
    try:
        page.goto(studio, wait_until="load")
        page.wait_for_selector("#extractor option[value=shallow]", state="attached")
        page.set_input_files("#content-file", str(tmp_path / "tune.wav"))
        page.set_input_files("#style-file", str(tmp_path / style_name))
        page.wait_for_function(AUDIO_READY, arg="#content-sounds audio", timeout=20_000)
        page.wait_for_function(AUDIO_READY, arg="#style-sounds audio", timeout=20_000)
        assert page.locator("#content-sounds .stat").inner_text() == "2.00 s · 22050 Hz · mono"
        assert page.locator("#style-sounds").get_by_text(style_name, exact=True).count() == 1

        page.set_input_files("#style-file", str(tmp_path / "notes.wav"))
        page.wait_for_function("() => document.querySelector('#styles-error').textContent"
                               ".includes('notes.wav: not an audio file')")
        assert page.locator("#style-sounds .sound").count() == 1

        page.select_option("#extractor", "shallow")
        page.click("#advanced summary")
        page.fill("[data-option=form]", "drawn")  # the drawn net of docs/studio.png
        page.fill("[data-option=filters]", "256")
        page.fill("#iterations", "20")
        page.fill("#refine", "10")
        page.click("#start")  # a short transfer, to its end
        page.wait_for_selector("#results .card", timeout=60_000)
        page.wait_for_function(AUDIO_READY, arg="#results .card audio.result", timeout=20_000)
        short = page.locator("#results .card").first
        assert "cancelled" not in short.inner_text() and "style SNR" in short.inner_text()
        assert "statistics no loss optimises" in short.inner_text()
        with page.expect_download() as download:
            short.get_by_text("download WAV").click()
        samples, rate = sf.read(download.value.path())

        page.fill("#iterations", "400")  # a long one: watch it, play a snapshot, cancel
        page.click("#start")
        job = page.locator("#jobs .job").first
        job.wait_for()
        numbers = job.locator(".stat").nth(1)
        seen = set()
        deadline = time.monotonic() + 60
        while len(seen - {""}) < 3:
            assert time.monotonic() < deadline, seen
            seen.add(numbers.inner_text())
            time.sleep(0.05)
        assert all("loss" in text and "ETA" in text for text in seen - {""})
        page.wait_for_function("() => document.querySelectorAll('#jobs .snapshot').length >= 2",
                               timeout=60_000)
        played = page.evaluate("""async () => {
            const a = document.querySelector('#jobs .job .snapshot audio');
            await a.play(); await new Promise(r => setTimeout(r, 300));
            const state = {ready: a.readyState, time: a.currentTime, duration: a.duration};
            a.pause(); return state; }""")
        assert played["ready"] >= 2 and played["duration"] > 0 and played["time"] > 0, played
        page.screenshot(path=str(tmp_path / "studio.png"), full_page=True)
        print(f"screenshot: {tmp_path / 'studio.png'}")
        assert page.locator("#jobs .job").count() == 1  # it was still running
        job.locator("button.cancel").click()
        page.wait_for_function("() => document.querySelectorAll('#results .card').length == 2",
                               timeout=60_000)
        newest = page.locator("#results .card").first
        assert "cancelled: the best result so far" in newest.inner_text()
        page.wait_for_function(AUDIO_READY, arg="#results .card:first-child audio.result",
                               timeout=20_000)
        images = page.evaluate(IMAGES)
        page.click("#export")  # the listening page, styled inside the studio too
        page.wait_for_selector("#export-link[href]")
        page.goto(studio.rstrip("/") + page.get_attribute("#export-link", "href"),
                  wait_until="load")
        body = page.evaluate("() => getComputedStyle(document.body).color")
    finally:
        page.close()
    assert body == "rgb(34, 34, 34)"  # its inline style applied (the CSP allows its hash)
    assert rate == SR and samples.shape == (2 * SR,) and np.any(samples)
    assert len(images) == 2 + 2 * 3
    for item in images:
        assert (item.get("width"), item.get("height")) == (320, 150), item
    assert problems == []


#: The loss curve's pixels in the column of its labels that are the curve's green.
GREEN_UNDER_LABELS = """() => {
    const canvas = document.createElement("canvas"); canvas.width = 320; canvas.height = 90;
    drawCurve(canvas, [[0, 0], [5, -30], [10, -60]], 10);
    const { data } = canvas.getContext("2d").getImageData(0, 0, 46, 90);
    let green = 0;
    for (let i = 0; i < data.length; i += 4)
        if (data[i + 1] > 120 && data[i] < 120 && data[i + 3] > 0) green++;
    return green; }"""


def _opened(chromium, studio: str) -> tuple:
    """A new page on the studio, its menus filled; the list its script errors go to."""
    page = chromium.new_page(viewport={"width": 1100, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    page.goto(studio, wait_until="load")
    page.wait_for_selector("#extractor option[value=shallow]", state="attached")
    return page, problems


def test_the_page_keeps_the_chosen_sounds_and_fresh_messages(browser, studio, tmp_path,  # noqa: F811
                                                             melody, bongos):
    sf.write(tmp_path / "tune.wav", melody[:SR], SR)  # 1 s: too short for shallow-multi
    sf.write(tmp_path / "drums.wav", bongos[:SR], SR)
    page, problems = _opened(browser, studio)
    try:
        page.set_input_files("#content-file", str(tmp_path / "tune.wav"))
        page.set_input_files("#style-file", str(tmp_path / "drums.wav"))
        page.wait_for_selector("#style-sounds .sound")
        page.fill("#style-sounds input.weight", "2")
        page.select_option("#extractor", "shallow-multi")
        page.wait_for_function("() => document.querySelector('#content-error').textContent"
                               ".includes('too short for the shallow-multi extractor')")
        estimate = page.inner_text("#estimate")
        assert estimate.startswith("no time estimate: tune.wav: too short"), estimate
        page.select_option("#extractor", "shallow")  # the message goes with the field
        page.wait_for_function("() => document.querySelector('#content-error').textContent"
                               " === ''")
        page.wait_for_function("() => document.querySelector('#estimate').textContent"
                               ".includes('iterations')")
        labels = page.locator("#options label.opt").all_text_contents()
        assert "shallow seed" in [label.strip() for label in labels], labels
        assert page.evaluate(GREEN_UNDER_LABELS) == 0  # the curve keeps off its labels

        page.reload(wait_until="load")  # the chosen sounds are still there, with their weight
        page.wait_for_selector("#style-sounds .sound")
        assert page.locator("#content-sounds .name").inner_text() == "tune.wav"
        assert page.locator("#style-sounds .name").inner_text() == "drums.wav"
        assert page.input_value("#style-sounds input.weight") == "2"
        assert page.inner_text("#earlier summary") == "Earlier sounds (2)"
    finally:
        page.close()
    assert problems == []


def test_learning_a_style_model_and_applying_it_in_the_page(browser, studio, tmp_path,  # noqa: F811
                                                            melody, bongos):
    sf.write(tmp_path / "tune.wav", melody[: 2 * SR], SR)
    sf.write(tmp_path / "drums.wav", bongos[:SR], SR)
    page, problems = _opened(browser, studio)
    try:
        assert page.input_value("#minutes") != ""  # the studio's budget, from /api/info
        page.set_input_files("#content-file", str(tmp_path / "tune.wav"))
        page.set_input_files("#style-file", str(tmp_path / "drums.wav"))
        page.wait_for_selector("#style-sounds .sound")
        page.select_option("#extractor", "shallow")
        page.click("#advanced summary")
        page.fill("#minutes", "99")  # over the studio's limit: the field's message
        page.click("#learn")
        page.wait_for_function("() => document.querySelector('#minutes-error').textContent"
                               ".includes('at most')")
        page.fill("#minutes", "1")
        page.click("#learn")  # learn; at its first steps, stop: the model so far is kept
        job = page.locator("#jobs .job").first
        job.wait_for()
        page.wait_for_function("() => (document.querySelector('#jobs .job .stat:nth-of-type(2)')"
                               " || {}).textContent?.startsWith('step')", timeout=60_000)
        assert "held-out" in job.locator(".stat").nth(1).inner_text()
        job.locator("button.cancel").click()
        model = page.locator("#models .card").first
        model.wait_for(timeout=60_000)
        text = model.inner_text()
        assert "drums.wav (shallow)" in text and "stopped early" in text and "latency" in text
        assert page.locator("#models .card details .snapshot").count() >= 1  # a preview
        model.get_by_text("apply to the content").click()  # a quick job: a result card
        page.wait_for_selector("#results .card", timeout=60_000)
        result = page.locator("#results .card").first.inner_text()
        assert "style model drums.wav (shallow)" in result, result
        page.fill("#iterations", "3")
        page.fill("#refine", "1")
        model.get_by_text("transfer from it").click()  # a transfer from the model's output
        page.wait_for_function("() => document.querySelectorAll('#results .card').length == 2",
                               timeout=60_000)
        assert "from a style model's output" in page.locator("#results .card").first.inner_text()

        page.reload(wait_until="load")  # the models are listed again
        page.wait_for_selector("#models .card")
        page.locator("#models .card").first.get_by_text("delete").click()
        page.wait_for_function("() => !document.querySelector('#models .card')")
    finally:
        page.close()
    assert problems == []
