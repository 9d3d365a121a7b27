"""Signal metrics on synthesised signals with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from audiostyle.demo import harmonic_note
from audiostyle.evaluation import metrics
from conftest import SR, tone

CANON = (78, 76, 74, 73, 71, 69, 71, 73)
OTHER = (60, 64, 67, 72, 62, 65, 69, 66)


def _hz(note: int) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def pluck(freq: float, seconds: float, sr: int = SR) -> np.ndarray:
    """Another timbre: odd harmonics only (1/k), sharp attack, fast decay."""
    t = np.arange(int(seconds * sr)) / sr
    ks = np.arange(1, 16, 2)
    ks = ks[ks * freq < sr / 2]
    wave = (np.sin(2 * np.pi * freq * ks[:, None] * t) / ks[:, None]).sum(0)
    return (wave * np.exp(-t / 0.12) * np.minimum(t / 0.003, 1)).astype(np.float32)


def melody(notes, timbre: str = "organ", note_seconds: float = 0.3) -> np.ndarray:
    make = {"organ": lambda f: harmonic_note(f, note_seconds, SR),
            "pluck": lambda f: pluck(f, note_seconds)}[timbre]
    y = np.concatenate([make(_hz(n)) for n in notes])
    return (0.5 * y / np.abs(y).max()).astype(np.float32)


@pytest.fixture(scope="module")
def canon() -> metrics.ContentReference:
    """The Canon's top line as the content."""
    return metrics.ContentReference(melody(CANON), SR)


def test_chroma_follows_the_melody_not_the_timbre(canon):
    assert canon.chroma_similarity(melody(CANON)) == pytest.approx(1.0)
    assert canon.chroma_similarity(melody(CANON, "pluck")) > 0.9
    assert canon.chroma_similarity(melody(OTHER, "pluck")) < 0.3
    assert canon.chroma_similarity(melody(OTHER)) < 0.3


def test_onsets_follow_the_rhythm(canon):
    same_rhythm = canon.onset_correlation(melody(OTHER, "pluck"))
    offbeat = melody(CANON)[int(0.15 * SR):]  # shifted by half a note
    assert canon.onset_correlation(melody(CANON)) == pytest.approx(1.0)
    assert same_rhythm > 0.5
    assert canon.onset_correlation(offbeat) < same_rhythm - 0.3


def test_envelopes_of_a_delayed_copy_correlate_less(canon):
    tune = melody(CANON)
    late = np.concatenate([np.zeros(int(0.15 * SR), np.float32), tune])
    assert canon.envelope_correlation(tune) == pytest.approx(1.0)
    # a level change does not change the envelopes (dB, mean removed)
    assert canon.envelope_correlation(0.1 * tune) == pytest.approx(1.0, abs=1e-3)
    assert canon.envelope_correlation(late) < 0.8


def test_silent_output_keeps_nothing_and_silent_content_is_undefined(canon):
    silence = np.zeros(SR, np.float32)
    assert canon.chroma_similarity(silence) == 0.0
    assert canon.onset_correlation(silence) == 0.0
    assert canon.envelope_correlation(silence) == 0.0
    assert math.isnan(metrics.ContentReference(silence, SR).chroma_similarity(melody(CANON)))


def _naive_copy_score(a: np.ndarray, b: np.ndarray) -> float:
    best, shortest = 0.0, min(a.size, b.size)
    for lag in range(-(b.size - 1), a.size):
        start, stop = max(0, lag), min(a.size, b.size + lag)
        if stop - start < math.ceil(metrics.MIN_OVERLAP * shortest):
            continue
        x, y = a[start:stop], b[start - lag:stop - lag]
        scale = np.linalg.norm(x) * np.linalg.norm(y)
        if scale > 0:
            best = max(best, abs(x @ y) / scale)
    return best


@pytest.mark.parametrize("sizes", [(50, 80), (80, 50), (64, 64)])
def test_copy_score_equals_a_direct_computation(sizes):
    rng = np.random.default_rng(sum(sizes))
    a, b = rng.standard_normal(sizes[0]), rng.standard_normal(sizes[1])
    assert metrics.copy_score(a, b) == pytest.approx(_naive_copy_score(a, b), rel=1e-9)


def test_copy_score_finds_a_scaled_inverted_excerpt_and_ignores_noise():
    rng = np.random.default_rng(0)
    style = rng.standard_normal(2 * SR)
    excerpt = -0.3 * style[SR // 3: SR // 3 + SR]
    assert metrics.copy_score(excerpt, style) == pytest.approx(1.0, abs=1e-9)
    # independent noise: each lag's correlation is ~N(0, 1/overlap), the maximum of ~33000
    # lags about 4 standard deviations (0.04)
    assert metrics.copy_score(rng.standard_normal(SR), style) < 0.06
    assert metrics.copy_score(np.zeros(SR), style) == 0.0


def test_sanity_of_a_sine_matches_bs1770():
    # BS.1770: a full-scale 997 Hz sine in one channel reads -3.01 LUFS; half scale is 6 dB less
    checks = metrics.sanity(tone(997.0, 3.0, sr=48000, amplitude=0.5)[None], 48000)
    assert checks.loudness_lufs == pytest.approx(-3.01 - 6.02, abs=0.05)
    assert checks.peak_dbfs == pytest.approx(-6.02, abs=0.01)
    assert checks.clipped_fraction == 0 and checks.nonfinite == 0
    assert checks.silent_fraction == 0


def test_sanity_counts_clipping_nan_and_silence():
    x = np.zeros((2, 2 * SR), np.float32)
    x[:, :SR] = tone(440.0, 1.0, amplitude=0.5)
    x[0, 100:110] = 1.0
    x[1, 200:205] = -1.0
    x[1, 300:303] = np.nan
    checks = metrics.sanity(x, SR)
    assert checks.clipped_fraction == pytest.approx(15 / x.size)
    assert checks.nonfinite == 3
    assert checks.silent_fraction == pytest.approx(0.5, abs=0.03)
    assert checks.peak_dbfs == 0.0


def test_sanity_of_silence_and_of_a_too_short_sound():
    silent = metrics.sanity(np.zeros((1, SR)), SR)
    assert silent.loudness_lufs == -math.inf and silent.peak_dbfs == -math.inf
    assert silent.silent_fraction == 1.0
    assert math.isnan(metrics.sanity(tone(440.0, 0.2)[None], SR).loudness_lufs)
