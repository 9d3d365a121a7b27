"""The independent style judge: known answers on synthesised noises and tones, and naive
reference computations of its statistics."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from audiostyle.errors import AudioStyleError
from audiostyle.evaluation import independent as judge
from audiostyle.evaluation.independent import SR, IndependentJudge, texture_statistics


def noise(seconds: float, seed: int, pink: bool = False) -> np.ndarray:
    """White (or pink: −3 dB/octave, Kellet's filter) Gaussian noise at :data:`SR`."""
    x = np.random.default_rng(seed).standard_normal(int(seconds * SR))
    if pink:
        x = lfilter([0.049922035, -0.095993537, 0.050612699, -0.004408786],
                    [1, -2.494956002, 2.017265875, -0.522189400], x)
    return x


def test_a_sound_against_itself_its_louder_copy_and_another_excerpt():
    white = noise(4, 0)
    scores = IndependentJudge(white)
    assert scores(white)["mean"] == np.inf
    louder = scores(30 * white)  # every level is relative to the sound's own
    assert min(louder.values()) > 100
    other = scores(noise(2, 1))  # another excerpt, half as long: the same texture
    pink = scores(noise(4, 2, pink=True))
    assert other["mean"] > 15
    assert other["spectrum"] > 15 and pink["spectrum"] < 5
    assert pink["mean"] < other["mean"] - 3


def test_a_tone_lands_in_its_bark_band():
    # critical-band rates of Zwicker & Terhardt's table (1 and 4 kHz: 8.5 and 17.3 Bark)
    assert judge.bark([1000, 4000]) == pytest.approx([8.5, 17.3], abs=0.2)
    t = np.arange(2 * SR) / SR
    stats = texture_statistics(np.sin(2 * np.pi * 1000 * t))
    centres = judge.bark(judge.LOW_HZ) + (judge.bark(judge.HIGH_HZ) - judge.bark(
        judge.LOW_HZ)) * np.arange(1, judge.BANDS + 1) / (judge.BANDS + 1)
    assert np.argmax(stats["spectrum"]) == np.argmin(np.abs(centres - judge.bark(1000)))


def test_modulated_noise_peaks_at_its_modulation_octave():
    t = np.arange(6 * SR) / SR
    stats = texture_statistics(noise(6, 3) * (1 + 0.9 * np.sin(2 * np.pi * 5 * t)))
    shares = stats["modulation"].reshape(judge.BANDS, -1)
    octave = np.searchsorted(judge.MODULATION_EDGES, 5) - 1  # 4–8 Hz
    assert np.all(np.argmax(shares, axis=1) == octave)
    assert np.allclose(shares.sum(1), 1)
    assert texture_statistics(noise(6, 3))["modulation"].reshape(judge.BANDS, -1)[
        :, octave].max() < 0.5


def test_statistics_against_naive_computations():
    x = noise(3, 4, pink=True)
    stats = texture_statistics(x)
    # band levels: frame by frame, bin by bin, the triangles from their definition
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(judge.N_FFT) / judge.N_FFT)
    freqs = np.arange(judge.N_FFT // 2 + 1) * SR / judge.N_FFT
    points = np.linspace(judge.bark(judge.LOW_HZ), judge.bark(judge.HIGH_HZ), judge.BANDS + 2)
    energy = []
    for start in range(0, x.size - judge.N_FFT + 1, judge.HOP):
        power = np.abs(np.fft.rfft(window * x[start:start + judge.N_FFT])) ** 2
        row = []
        for k in range(judge.BANDS):
            z = judge.bark(freqs)
            up = (z - points[k]) / (points[k + 1] - points[k])
            down = (points[k + 2] - z) / (points[k + 2] - points[k + 1])
            row.append(np.sum(power * np.clip(np.minimum(up, down), 0, None)))
        energy.append(row)
    energy = np.array(energy)
    levels = 10 * np.log10(energy + judge.FLOOR * energy.mean())
    pairs = [np.corrcoef(levels[:, i], levels[:, j])[0, 1]
             for i in range(judge.BANDS) for j in range(i + 1, judge.BANDS)]
    np.testing.assert_allclose(stats["correlation"], pairs, atol=1e-9)
    median = np.median(levels, axis=0)
    np.testing.assert_allclose(stats["spectrum"], median - median.mean(), atol=1e-9)
    # white noise's periodogram is exponential: flatness exp(−γ), −2.5 dB, in regions of many
    # bins (from 1 kHz: 46 and more; fewer, correlated by the window, give a higher value)
    flatness = texture_statistics(noise(3, 5))["flatness"].reshape(-1, len(judge.QUANTILES))
    assert flatness[3:, 1] == pytest.approx(10 * np.log10(np.exp(-np.euler_gamma)), abs=0.2)


def test_silence_is_finite_and_too_short_is_refused():
    silence = texture_statistics(np.zeros(SR))
    assert all(np.all(np.isfinite(v)) for v in silence.values())
    assert np.isfinite(IndependentJudge(noise(1, 6))(np.zeros(SR))["mean"])
    with pytest.raises(AudioStyleError, match="at least"):
        texture_statistics(np.zeros(judge.N_FFT))


def test_other_rates_are_resampled():
    x = noise(2, 7, pink=True)
    from audiostyle.io.audio import Audio, resample

    at_44k = resample(Audio(x[None].astype(np.float32), SR), 44100).samples[0]
    assert IndependentJudge(x)(at_44k, 44100)["mean"] > 20
