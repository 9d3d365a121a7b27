"""End-to-end style transfer and texture synthesis with the shallow extractor."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import soundfile as sf

import audiostyle
from audiostyle.evaluation.independent import IndependentJudge
from audiostyle.synthesis.optimiser import to_db
from conftest import SR

SMALL = {"extractor": "shallow"}


@pytest.fixture(scope="module")
def default_result(melody, bongos):
    """The shallow extractor with its default options (infinitely many filters) on 3 s of
    melody with a bongo style."""
    return audiostyle.transfer(melody, bongos, sr=SR, extractor="shallow", iterations=30,
                               refine_iterations=15, progress=False)


def test_loss_falls_below_five_percent_of_its_start(default_result):
    spectral = default_result.stages["spectrogram"].losses
    assert spectral[0] == pytest.approx(1.0)
    assert min(spectral) <= 0.05
    # "monotonic enough": every 5-evaluation window improves on the one before it
    windows = [min(spectral[i : i + 5]) for i in range(0, 30, 5)]
    assert all(b < a for a, b in itertools.pairwise(windows))
    # and the written sound itself (after Griffin-Lim and refinement) is at <= 5 % too
    assert default_result.loss_db <= to_db(0.05)


def test_result_statistics_are_much_closer_to_the_style_than_the_content_was(
    default_result, melody, bongos
):
    start = audiostyle.transfer(melody, bongos, sr=SR, extractor="shallow", iterations=1,
                                refine_iterations=0, progress=False)
    # one L-BFGS evaluation does not move the content: its style distance is the content's
    content_distance_db = start.style_distance_db
    gain_db = content_distance_db - default_result.style_distance_db
    print(f"style distance: content {content_distance_db:.1f} dB, result "
          f"{default_result.style_distance_db:.1f} dB: {10 ** (gain_db / 10):.0f}x closer")
    assert gain_db >= 13  # the result's Gram distance to the style is >= 20x smaller


def test_statistics_no_loss_optimises_move_towards_the_style(default_result, melody, bongos):
    judge = IndependentJudge(bongos)
    result = default_result.audio.samples[0]
    gain = judge(result)["mean"] - judge(melody)["mean"]
    print(f"independent judge: gain {gain:.1f} dB")
    assert gain > 2


def test_output_has_content_length_and_rate(default_result, melody):
    assert default_result.audio.samples.shape == (1, melody.size)
    assert default_result.audio.sr == SR
    assert np.all(np.isfinite(default_result.audio.samples))


def test_transferring_a_sound_onto_itself_changes_it_little(melody):
    result = audiostyle.transfer(melody, melody, sr=SR, **SMALL, iterations=10,
                                 refine_iterations=5, progress=False)
    out = result.audio.samples[0]
    snr = 10 * np.log10(np.sum(melody**2) / np.sum((out - melody) ** 2))
    assert snr > 20


def test_same_seed_same_output_and_other_seed_differs(bongos):
    kwargs = dict(sr=SR, seconds=1.0, **SMALL, iterations=6, refine_iterations=3,
                  progress=False)
    a = audiostyle.texture(bongos, seed=3, **kwargs).audio.samples
    b = audiostyle.texture(bongos, seed=3, **kwargs).audio.samples
    c = audiostyle.texture(bongos, seed=4, **kwargs).audio.samples
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_texture_of_any_length_from_a_file(tmp_path, bongos):
    path = tmp_path / "style.flac"
    sf.write(path, bongos, SR)
    result = audiostyle.texture(path, seconds=3.5, **SMALL, iterations=10,
                                output_sr=16000, progress=False)
    assert result.audio.sr == 16000
    assert result.audio.samples.shape == (1, round(3.5 * 16000))
    assert result.loss_db < -3


def test_waveform_domain_and_adam_run(melody, bongos):
    result = audiostyle.transfer(melody[: SR], bongos, sr=SR, **SMALL, domain="waveform",
                                 optimizer="adam", iterations=15, progress=False)
    assert list(result.stages) == ["waveform"]
    assert result.loss_db < 0


def test_too_short_inputs_are_refused(melody):
    with pytest.raises(audiostyle.AudioStyleError, match="too short for the shallow extractor"):
        audiostyle.transfer(melody, melody[:1000], sr=SR, extractor="shallow", progress=False)


def test_result_fits_under_the_peak_ceiling_without_losing_its_statistics(
    default_result, bongos
):
    """The waveform stage's headroom term: the written file needs (almost) no scaling, so
    its statistics stay as close to the style's as the optimised signal's were."""
    from audiostyle.io.audio import PEAK_CEILING_DB, limit_peak

    samples = default_result.audio.samples
    assert np.abs(samples).max() <= 1.03 * 10 ** (PEAK_CEILING_DB / 20)
    written, _ = limit_peak(samples)
    optimised = audiostyle.statistics_snr(samples, bongos, SR, extractor="shallow")["mean"]
    kept = audiostyle.statistics_snr(written, bongos, SR, extractor="shallow")["mean"]
    assert kept >= optimised - 1.0
