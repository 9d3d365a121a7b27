"""The listening page: escaping, links, colour scale per row, metrics, clean-up."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
import soundfile as sf
from matplotlib.image import imread

from audiostyle.errors import AudioStyleError
from audiostyle.report.page import Clip, Column, write_page
from conftest import SR, tone

NASTY = '<img src=x onerror=alert(1)> "quoted" & 100%.wav'


def _wav(path: Path, x: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x, SR)
    return path


@pytest.fixture
def folder(tmp_path):
    _wav(tmp_path / "in" / "content.wav", tone(440.0, 1.0))
    _wav(tmp_path / "in" / "a #1 100%.wav", tone(660.0, 1.0))
    noise = np.random.default_rng(0).standard_normal(SR).astype(np.float32)
    _wav(tmp_path / "out" / "loud.wav", 0.3 * noise)
    _wav(tmp_path / "out" / "quiet.wav", 0.003 * noise)  # 40 dB quieter
    return tmp_path


def _column(folder: Path) -> Column:
    return Column(Clip(folder / "in" / "content.wav", "content.wav"),
                  Clip(folder / "in" / "a #1 100%.wav", NASTY))


def _brightness(folder: Path, page: str, alt: str) -> float:
    """Mean brightness (0 … 1) inside the plot of the picture whose alt text is ``alt``."""
    src = re.search(rf'<img src="([^"]+)" width="320" height="150" alt="{re.escape(alt)}"',
                    page).group(1)
    return float(imread(folder / unquote(src))[20:110, 60:300, :3].mean())


def test_user_text_is_escaped_and_links_resolve(folder):
    column = _column(folder)
    metrics = {"style_match": {"shallow": {"snr_db": "inf", "gain_db": "inf"}},
               "copy": 1.0, "sanity": {"loudness_lufs": -20.0, "peak_dbfs": 0.0,
                                       "clipped_fraction": 0.01, "nonfinite": 0,
                                       "silent_fraction": 0.0}}
    page = write_page(folder, [column], {"<b>row</b>": [
        Clip(folder / "out" / "loud.wav", NASTY, metrics=metrics, seconds=1.25)]},
        title="<title>", facts={"<script>": "alert('x') & more"}).read_text()
    assert "<img src=x" not in page and "<script>" not in page and "<b>row" not in page
    assert "&lt;img src=x onerror=alert(1)&gt; &quot;quoted&quot; &amp; 100%.wav" in page
    assert "&lt;script&gt;" in page and "alert(&#x27;x&#x27;) &amp; more" in page
    for link in re.findall(r'(?:src|href)="([^"]+)"', page):
        if not link.startswith("data:"):
            assert (folder / unquote(link)).is_file(), link
    assert 'src="in/a%20%231%20100%25.wav"' in page
    assert "shallow +∞ dB (+∞)" not in page and "shallow ∞ dB (+∞)" in page
    assert "clipped 1.00 %" in page and "1.2 s" in page


def test_every_picture_of_a_row_shares_its_colour_scale(folder):
    column = _column(folder)
    loud = Clip(folder / "out" / "loud.wav", "loud")
    quiet = Clip(folder / "out" / "quiet.wav", "quiet")
    page = write_page(folder, [column, column], {"both": [loud, quiet]}).read_text()
    ranges = re.findall(r'data-colour-range="([^"]+)"', page)
    assert len(ranges) == 3  # content, style, the row
    dark = _brightness(folder, page, "spectrogram of quiet")
    bright = _brightness(folder, page, "spectrogram of loud")
    assert dark < bright - 0.2  # 40 dB quieter on the same scale: much darker

    alone = write_page(folder, [column], {"alone": [quiet]}).read_text()
    # on its own scale the quiet noise looks like the loud one did
    assert _brightness(folder, alone, "spectrogram of quiet") == pytest.approx(bright, abs=0.05)
    drawn = {p.name for p in (folder / "spectrograms").iterdir()}
    shown = {Path(unquote(s)).name for s in re.findall(r'<img src="([^"]+)"', alone)}
    assert drawn == shown  # pictures of the previous page are gone


def test_clips_outside_the_folder_and_ragged_rows_are_refused(folder, tmp_path_factory):
    column = _column(folder)
    outside = _wav(tmp_path_factory.mktemp("elsewhere") / "x.wav", tone(440.0, 0.5))
    with pytest.raises(AudioStyleError, match="inside the page's folder"):
        write_page(folder, [column], {"row": [Clip(outside, "x")]})
    with pytest.raises(AudioStyleError, match="2 clips for 1 columns"):
        clip = Clip(folder / "out" / "loud.wav", "loud")
        write_page(folder, [column], {"row": [clip, clip]})
