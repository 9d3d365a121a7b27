"""The shallow random-CNN extractor (Ulyanov & Lebedev setting)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from audiostyle.errors import AudioStyleError
from audiostyle.extractors import available, get_extractor


def test_weights_have_ulyanov_scale_and_are_seeded():
    net = get_extractor("shallow")
    assert tuple(net.weight.shape) == (4096, 1025, 11)
    expected = math.sqrt(2) * math.sqrt(2 / ((1025 + 4096) * 11))
    assert float(net.weight.std()) == pytest.approx(expected, rel=0.01)
    assert abs(float(net.weight.mean())) < expected * 0.01
    torch.testing.assert_close(net.weight, get_extractor("shallow").weight, rtol=0, atol=0)
    assert not torch.equal(net.weight, get_extractor("shallow", seed=1).weight)


def test_features_are_relu_of_valid_convolution_over_frames():
    net = get_extractor("shallow", filters=16, kernel_width=5, n_fft=256, hop_length=64)
    wave = torch.randn(2, 3000)
    inputs = net.analyse(wave)
    features = net.features(inputs)["conv"]
    frames = 3000 // 64 + 1
    assert inputs.shape == (2, 129, frames)
    assert features.shape == (2, 16, frames - 4)
    # independent computation of one output: Σ_c Σ_k w[f, c, k] · x[c, t + k], then ReLU
    x = inputs[1].double().numpy()
    w = net.weight[3].double().numpy()
    value = max(0.0, float(np.sum(w * x[:, 7:12])))
    assert float(features[1, 3, 7]) == pytest.approx(value, rel=1e-4, abs=1e-5)


def test_min_samples_gives_one_frame_of_features():
    net = get_extractor("shallow", filters=8)
    assert net.features(net.analyse(torch.randn(1, net.min_samples)))["conv"].shape[-1] == 1


def test_registry_suggests_closest_name_and_options():
    assert "shallow" in available()
    with pytest.raises(AudioStyleError, match="Did you mean 'shallow'"):
        get_extractor("shalow")
    with pytest.raises(AudioStyleError, match="Did you mean 'filters'"):
        get_extractor("shallow", filter=10)
    with pytest.raises(AudioStyleError, match="not a valid int"):
        get_extractor("shallow", filters="many")
    assert get_extractor("shallow", filters="32").weight.shape[0] == 32
