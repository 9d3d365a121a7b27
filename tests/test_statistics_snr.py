"""Reading statistics and the statistics SNR."""

from __future__ import annotations

import numpy as np
import pytest

import audiostyle
from audiostyle.extractors.statistics import gram_matrix
from conftest import SR

SMALL = {"extractor": "shallow", "options": {"filters": 64, "form": "drawn"}}


def test_stats_returns_the_gram_matrix_of_the_features(melody):
    out = audiostyle.stats(melody, SR, **SMALL)
    net = audiostyle.get_extractor("shallow", filters=64, form="drawn")
    import torch

    expected = gram_matrix(net(torch.from_numpy(melody)[None])["conv"])[0].numpy()
    assert set(out) == {"conv"}
    np.testing.assert_allclose(out["conv"], expected, rtol=1e-5)


def test_statistics_snr_is_very_high_for_identical_and_finite_otherwise(melody, bongos):
    same = audiostyle.statistics_snr(melody, melody, SR, **SMALL)
    assert same["conv"] > 60  # only float32 rounding separates them
    other = audiostyle.statistics_snr(bongos, melody, SR, **SMALL)
    assert np.isfinite(other["conv"]) and other["mean"] == pytest.approx(other["conv"])
    # a slightly louder copy (+0.4 dB) is far closer than a different sound
    near = audiostyle.statistics_snr(1.05 * melody, melody, SR, **SMALL)
    assert near["conv"] > other["conv"] + 10
