"""Chunk plans and cross-fades: coverage, exact reconstruction, constant power, no clicks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiostyle.synthesis.chunking import Stitcher, crossfade, plan_chunks


@settings(max_examples=300, deadline=None)
@given(length=st.integers(1, 200_000), chunk=st.integers(2, 50_000), data=st.data())
def test_plan_covers_the_signal_in_equal_overlapping_spans(length, chunk, data):
    overlap = data.draw(st.integers(0, chunk - 1))
    spans = plan_chunks(length, chunk, overlap)
    assert spans[0][0] == 0 and spans[-1][1] == length
    sizes = [stop - start for start, stop in spans]
    assert max(sizes) <= chunk and max(sizes) - min(sizes) <= 1
    for (_, stop), (start, _) in itertools.pairwise(spans):
        assert stop - start == overlap  # neighbours share exactly the overlap
    if len(spans) > 1:  # no short remainder: every span is longer than half a stride
        assert min(sizes) > (chunk - overlap) / 2 + overlap - 1


def test_plan_rejects_impossible_sizes():
    with pytest.raises(ValueError):
        plan_chunks(100, 10, 10)
    with pytest.raises(ValueError):
        plan_chunks(0, 10, 2)


@settings(max_examples=150, deadline=None)
@given(length=st.integers(1, 30_000), chunk=st.integers(8, 8_000), channels=st.integers(1, 8),
       data=st.data())
def test_stitching_slices_of_a_signal_gives_it_back(length, chunk, channels, data):
    """Pieces that agree on their overlap (correlation 1) join into the signal itself, of the
    right length and channels, never NaN."""
    overlap = data.draw(st.integers(0, chunk // 2))
    seed = data.draw(st.integers(0, 2**16))
    signal = np.random.default_rng(seed).standard_normal((channels, length)).astype(np.float32)
    signal[:, : length // 3] = 0.0  # silence is joined too
    stitcher = Stitcher(channels, length)
    for start, stop in plan_chunks(length, chunk, overlap):
        stitcher.add(start, signal[:, start:stop])
    assert stitcher.samples.shape == (channels, length)
    assert np.all(np.isfinite(stitcher.samples))
    np.testing.assert_allclose(stitcher.samples, signal, atol=1e-5)


def test_crossfade_of_unrelated_noises_keeps_the_power():
    """Independent pieces (correlation ≈ 0): an equal-power fade, no dip in the middle."""
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 64, 4000)).astype(np.float32)
    mixed = crossfade(a, b)
    power = np.mean(mixed.astype(np.float64) ** 2, axis=0)  # over 64 channels
    for part in np.array_split(power, 8):
        assert np.mean(part) == pytest.approx(1.0, abs=0.08)
    # a plain complementary (linear-gain) fade would dip by 3 dB in the middle
    w = 0.5 - 0.5 * np.cos(np.pi * (np.arange(4000) + 0.5) / 4000)
    plain = np.mean(((1 - w) * a + w * b) ** 2, axis=0)
    assert np.mean(plain[1900:2100]) < 0.55


def test_crossfade_of_silence_is_silence():
    silent = np.zeros((2, 100), np.float32)
    assert np.array_equal(crossfade(silent, silent), silent)
    loud = np.ones((2, 100), np.float32)
    assert np.all(np.isfinite(crossfade(silent, loud)))


def test_joining_unrelated_tones_makes_no_click():
    """At every seam the sample-to-sample jump stays within the signal's own range, where
    butting the pieces together would jump."""
    sr, length = 8000, 40_000
    t = np.arange(length) / sr
    spans = plan_chunks(length, 8000, 1000)
    stitcher, butted = Stitcher(1, length), np.zeros(length, np.float32)
    for k, (start, stop) in enumerate(spans):  # each piece a tone with its own phase
        piece = np.sin(2 * np.pi * 220 * t[start:stop] + 2.1 * k).astype(np.float32)[None]
        stitcher.add(start, piece)
        butted[start:stop] = piece[0]
    normal = np.abs(np.diff(np.sin(2 * np.pi * 220 * t))).max()
    joined = np.abs(np.diff(stitcher.samples[0])).max()
    assert joined <= normal * 1.05
    assert np.abs(np.diff(butted)).max() > 3 * normal


def test_pieces_must_continue_what_is_joined():
    stitcher = Stitcher(1, 100)
    stitcher.add(0, np.ones((1, 50), np.float32))
    with pytest.raises(ValueError, match="does not continue"):
        stitcher.add(60, np.ones((1, 20), np.float32))
