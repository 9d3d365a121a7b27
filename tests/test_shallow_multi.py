"""The multi-scale shallow extractor (Antognini et al. 2019): several widths in parallel."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import audiostyle
from audiostyle.extractors import get_extractor
from conftest import SR


def test_one_layer_per_width_with_ulyanov_scale():
    net = get_extractor("shallow-multi", widths="3,1,9", filters="200", seed=4, form="drawn")
    assert net.widths == (1, 3, 9) and list(net.layer_weights) == ["conv1", "conv3", "conv9"]
    x = torch.rand(2, 1025, 40)
    features = net.features(x)
    for width in net.widths:
        weight = getattr(net, f"weight{width}")
        assert weight.shape == (200, 1025, width)
        assert float(weight.std()) == pytest.approx(
            math.sqrt(2) * math.sqrt(2 / ((1025 + 200) * width)), rel=0.02)
        assert features[f"conv{width}"].shape == (2, 200, 40 - width + 1)
        assert float(features[f"conv{width}"].min()) >= 0  # ReLU
    again = get_extractor("shallow-multi", widths=(3, 1, 9), filters=200, seed=4, form="drawn")
    assert torch.equal(again.weight9, net.weight9)
    assert net.min_samples == 8 * 512 and net.frame_rate == pytest.approx(22050 / 512)


def test_default_costs_at_most_one_and_a_half_single_nets():
    single = get_extractor("shallow", form="drawn")
    multi = get_extractor("shallow-multi", form="drawn")
    # multiply-adds per bin and frame of the convolutions, which dominate an iteration
    single_cost = single.weight.shape[0] * single.weight.shape[-1]
    multi_cost = sum(getattr(multi, f"weight{w}").shape[0] * w for w in multi.widths)
    assert multi_cost <= 1.5 * single_cost


def test_bad_widths_are_refused():
    with pytest.raises(audiostyle.AudioStyleError, match="distinct"):
        get_extractor("shallow-multi", widths="4,4")
    with pytest.raises(audiostyle.AudioStyleError, match=r"widths\[0\]=0 must be between 1 and"):
        get_extractor("shallow-multi", widths="0,4")
    with pytest.raises(audiostyle.AudioStyleError, match=r"widths\[1\]=5000 must be between 1"):
        get_extractor("shallow-multi", widths="2,5000")
    with pytest.raises(audiostyle.AudioStyleError, match="3 filter counts for 2 widths"):
        get_extractor("shallow-multi", widths="2,4", filters="8,8,8", form="drawn")


def test_texture_synthesis_matches_every_width(bongos):
    result = audiostyle.texture(bongos, seconds=2.0, sr=SR, extractor="shallow-multi",
                                iterations=30, refine_iterations=10,
                                progress=False)
    assert result.audio.samples.shape == (1, 2 * SR)
    assert result.loss_db < -15
    assert np.isfinite(result.audio.samples).all()
