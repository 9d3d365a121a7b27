"""`audiostyle grid` and `audiostyle evaluate` on the command line."""

from __future__ import annotations

import json
import re
import shutil
from html import unescape
from urllib.parse import quote, unquote

import pytest
import soundfile as sf

from audiostyle.cli import main
from audiostyle.runs import engines, jobs
from conftest import NASTY_NAME, SR, TINY_CLI


def test_grid_page_has_every_combination_with_metrics(grid_page):
    page = grid_page.read_text()
    folder = grid_page.parent
    players = re.findall(r'<audio controls preload="metadata" src="([^"]+)"', page)
    assert len(players) == 1 + 2 + 2  # content, 2 styles, 2 results
    for src in players:
        assert sf.info(folder / unquote(src)).frames == SR
    records = sorted((folder / "audio").glob("*.json"))
    assert len(records) == 2
    for path in records:
        record = json.loads(path.read_text())
        assert set(record["metrics"]["style_match"]) == {"shallow", "independent"}
        assert record["metrics"]["content"]["chroma"] > 0.5  # few iterations: still the tune
        assert f'href="audio/{quote(path.name)}"' in page
    assert NASTY_NAME not in page and unescape("&lt;img src=x onerror=alert(1)&gt;.wav") in \
        unescape(page)
    assert "2 (2 run now, 0 from before)" in page


def test_running_again_only_runs_new_combinations(grid_page, tmp_path, monkeypatch):
    folder = shutil.copytree(grid_page.parent, tmp_path / "page")
    sources = grid_page.parent.parent
    calls, styles = [], []
    real, real_target = jobs.transfer, engines.compute_style_target

    def counted(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    def target(job, *args, **kwargs):
        styles.append(job.style)
        return real_target(job, *args, **kwargs)

    monkeypatch.setattr(jobs, "transfer", counted)
    monkeypatch.setattr(engines, "compute_style_target", target)
    code = main(["grid", "-c", str(sources / "tune.wav"), "-s", str(sources / NASTY_NAME),
                 str(sources / "noise.flac"), str(sources / "tune.wav"), "-o", str(folder),
                 *TINY_CLI])
    assert code == 0
    assert calls == styles == [str(sources / "tune.wav")]  # one new combination
    page = (folder / "index.html").read_text()
    assert "3 (1 run now, 2 from before)" in page
    assert len(re.findall(r"<audio ", page)) == 1 + 3 + 3


@pytest.mark.parametrize(("option", "message"), [
    ("nonsense=1", "no extractor used here has an option 'nonsense'"),
    ("vgg.layers=1", "'vgg' is not one of the extractors used"),
])
def test_grid_option_mistakes_exit_2_before_any_work(grid_page, tmp_path, capsys, option,
                                                     message):
    sources = grid_page.parent.parent
    code = main(["grid", "-c", str(sources / "tune.wav"), "-s", str(sources / "noise.flac"),
                 "-o", str(tmp_path / "out"), "-X", option, "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and "\n" not in err
    assert not (tmp_path / "out").exists()


def test_every_option_of_every_column_is_checked_before_any_work(grid_page, tmp_path,
                                                                    capsys):
    sources = grid_page.parent.parent
    code = main(["grid", "-c", str(sources / "tune.wav"), "-s", str(sources / "noise.flac"),
                 "-o", str(tmp_path / "out"), "-e", "mcdermott", "shallow", "-X",
                 "shallow.filters=abc", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == "audiostyle: error: Extractor 'shallow': option filters='abc' is not a valid " \
                  "int\n"
    assert not (tmp_path / "out").exists()  # the mcdermott column did not run first


def test_evaluate_prints_metrics_and_json(grid_page, capsys):
    sources = grid_page.parent.parent
    results = sorted((grid_page.parent / "audio").glob("*.wav"))
    args = ["evaluate", "--content", str(sources / "tune.wav"), "--style",
            str(sources / "noise.flac"), *map(str, results), "--quiet"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert text.count("style match: statistics SNR") == 2 and "chroma" in text
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["name"] for d in data] == [str(r) for r in results]
    # the noise-style result is closer to the noise than the bongo-style one
    snr = {d["name"].split("--")[1]: d["style_match"]["shallow"]["snr_db"] for d in data}
    assert snr["noise"] > snr["img_src_x_onerror_alert_1"]
