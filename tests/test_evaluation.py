"""audiostyle.evaluate: known answers on synthesised sounds, notes, JSON."""

from __future__ import annotations

import doctest
import json
import math

import numpy as np
import pytest
import soundfile as sf

import audiostyle
from audiostyle._util import to_json
from audiostyle.errors import AudioStyleError
from audiostyle.evaluation import evaluator as evaluation
from audiostyle.evaluation.independent import CLASSES
from conftest import SR

SMALL = {"shallow": {}}


@pytest.fixture(scope="module")
def pair(melody, bongos):
    """3 s of melody (content) and 3 s of bongos (style), same length."""
    style = np.resize(bongos, melody.size)
    return melody, style


def test_the_style_itself_is_a_copy_with_maximal_style_match(pair):
    content, style = pair
    evaluator = evaluation.Evaluator(style, content, sr=SR, extractors=SMALL)
    itself = evaluator(style, SR)
    content_only = evaluator(content, SR)
    assert itself.copy == pytest.approx(1.0, abs=1e-6)
    assert itself.style_match["shallow"].snr_db > 60  # only rounding separates them
    assert itself.style_match["shallow"].snr_db > content_only.style_match["shallow"].snr_db + 50
    assert content_only.content.chroma == pytest.approx(1.0)
    assert content_only.style_match["shallow"].gain_db == 0.0
    assert content_only.copy < 0.2
    independent = evaluation.INDEPENDENT
    assert itself.style_match[independent].snr_db == math.inf
    assert content_only.style_match[independent].gain_db == 0.0
    assert set(itself.style_match[independent].layers) == set(CLASSES)


def test_mixing_in_more_style_moves_every_metric_the_right_way(pair):
    content, style = pair
    evaluator = evaluation.Evaluator(style, content, sr=SR, extractors=SMALL)
    results = [evaluator((1 - a) * content + a * style, SR) for a in (0.0, 0.3, 0.6, 0.9)]
    snr = [r.style_match["shallow"].snr_db for r in results]
    independent = [r.style_match[evaluation.INDEPENDENT].snr_db for r in results]
    assert np.all(np.diff(independent) > 0.5), independent
    copy = [r.copy for r in results]
    kept = {name: [getattr(r.content, name) for r in results]
            for name in ("chroma", "onsets", "envelopes")}
    assert np.all(np.diff(snr) > 0.5), snr
    assert np.all(np.diff(copy) > 0.05), copy
    for name, values in kept.items():
        assert np.all(np.diff(values) < 0), (name, values)
    assert kept["chroma"][0] == pytest.approx(1.0) and kept["chroma"][-1] < 0.7


def test_texture_without_content_and_files_at_other_rates(tmp_path, bongos):
    stereo = np.stack([bongos, 0.5 * bongos], axis=1)
    sf.write(tmp_path / "style.wav", stereo, SR)
    sf.write(tmp_path / "out.flac", stereo[:, ::-1].copy(), SR)  # channels swapped
    result = audiostyle.evaluate(tmp_path / "out.flac", style=tmp_path / "style.wav",
                                 extractors=SMALL)
    assert result.content is None and result.channels == 2 and result.sr == SR
    assert result.style_match["shallow"].content_snr_db is None
    assert result.style_match["shallow"].gain_db is None
    assert result.copy > 0.95  # the downmixes differ only in level: still a copy


def test_unavailable_extractors_are_skipped_with_a_note_unless_named(monkeypatch, pair):
    content, style = pair
    real = evaluation.build_extractor

    def build(name, options=None):
        if name == "needs_weights":
            raise AudioStyleError("needs_weights weights are not installed; run "
                                  "`audiostyle weights install needs_weights`")
        return real(name, options)

    monkeypatch.setattr(evaluation, "build_extractor", build)
    monkeypatch.setattr(evaluation.registry, "available", lambda: ["needs_weights", "shallow"])
    result = audiostyle.evaluate(content, style=style, sr=SR)
    assert list(result.style_match) == ["shallow", evaluation.INDEPENDENT]
    assert any(note.startswith("needs_weights not used:") for note in result.notes)
    assert "needs_weights not used" in result.summary()
    with pytest.raises(AudioStyleError, match="not installed"):
        audiostyle.evaluate(content, style=style, sr=SR, extractors=["needs_weights"])


def test_nan_samples_are_reported_not_fatal(tmp_path, pair):
    content, style = pair
    broken = content.copy()
    broken[1000:1010] = np.nan
    sf.write(tmp_path / "broken.wav", broken, SR, subtype="FLOAT")
    result = audiostyle.evaluate(tmp_path / "broken.wav", style=style, content=content, sr=SR,
                                 extractors=SMALL)
    assert result.sanity.nonfinite == 10
    assert any("NaN" in note for note in result.notes)
    assert math.isfinite(result.style_match["shallow"].snr_db)
    assert result.content.chroma > 0.99


def test_json_is_strict_and_keeps_infinities(pair):
    content, style = pair
    result = audiostyle.evaluate(np.zeros(SR, np.float32), style=style, content=content,
                                 sr=SR, extractors=SMALL)
    text = to_json(result.as_dict())
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard {c}"))
    assert data["sanity"]["peak_dbfs"] == "-inf" and data["sanity"]["silent_fraction"] == 1.0
    assert data["style_match"]["shallow"]["gain_db"] == pytest.approx(
        data["style_match"]["shallow"]["snr_db"]
        - data["style_match"]["shallow"]["content_snr_db"])


def test_docstring_examples_run():
    assert doctest.testmod(evaluation, raise_on_error=False).failed == 0
