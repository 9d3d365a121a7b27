"""The shallow random-CNN extractor (Ulyanov & Lebedev setting)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from audiostyle.demo import canon_melody
from audiostyle.errors import AudioStyleError
from audiostyle.extractors import available, get_extractor, precision
from audiostyle.extractors.statistics import Gram


def test_weights_have_ulyanov_scale_and_are_seeded():
    net = get_extractor("shallow", form="drawn")
    assert tuple(net.weight.shape) == (4096, 1025, 11)
    expected = math.sqrt(2) * math.sqrt(2 / ((1025 + 4096) * 11))
    assert float(net.weight.std()) == pytest.approx(expected, rel=0.01)
    assert abs(float(net.weight.mean())) < expected * 0.01
    again = get_extractor("shallow", form="drawn")
    torch.testing.assert_close(net.weight, again.weight, rtol=0, atol=0)
    assert not torch.equal(net.weight, get_extractor("shallow", form="drawn", seed=1).weight)


def test_features_are_relu_of_valid_convolution_over_frames():
    net = get_extractor("shallow", form="drawn", filters=16, kernel_width=5, n_fft=256,
                        hop_length=64, precision="float32")
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
    net = get_extractor("shallow", form="drawn", filters=8)
    assert net.features(net.analyse(torch.randn(1, net.min_samples)))["conv"].shape[-1] == 1


def test_registry_suggests_closest_name_and_options():
    assert "shallow" in available()
    with pytest.raises(AudioStyleError, match="Did you mean 'shallow'"):
        get_extractor("shalow")
    with pytest.raises(AudioStyleError, match="Did you mean 'filters'"):
        get_extractor("shallow", filter=10)
    with pytest.raises(AudioStyleError, match="not a valid int"):
        get_extractor("shallow", form="drawn", filters="many")
    assert get_extractor("shallow", form="drawn", filters="32").weight.shape[0] == 32


@pytest.mark.parametrize(("name", "options"), [
    ("shallow", {"filters": 512}),
    ("shallow-multi", {"filters": (256, 128), "widths": (4, 16)}),
])
def test_bfloat16_products_keep_features_statistics_and_gradient(name, options):
    """The bfloat16 convolution (the default where the CPU has it) against float32 on a melody:
    features within 1 %, the Gram distance to another sound's within 1 %, the gradient
    pointing the same way."""
    exact = get_extractor(name, form="drawn", precision="float32", **options)
    fast = get_extractor(name, form="drawn", precision="bfloat16", **options)
    melody = torch.from_numpy(canon_melody(22050)[: 3 * 22050])[None]
    noise = torch.randn(1, 3 * 22050, generator=torch.Generator().manual_seed(1)) * 0.1
    target_features = exact.features(exact.analyse(noise))
    gram = Gram()

    def loss_and_gradient(net):
        inputs = net.analyse(melody).requires_grad_(True)
        features = net.features(inputs)
        loss = sum(gram.distance(features[k], gram.target([(target_features[k], 1.0)])).sum()
                   for k in features)
        loss.backward()
        features = {k: v.detach() for k, v in features.items()}
        return features, float(loss.detach()), inputs.grad.flatten()

    features, loss, gradient = loss_and_gradient(exact)
    features_low, loss_low, gradient_low = loss_and_gradient(fast)
    for key, value in features.items():
        assert features_low[key].dtype == torch.float32
        assert float((features_low[key] - value).norm() / value.norm()) < 0.01
    assert loss_low == pytest.approx(loss, rel=0.01)
    assert float(torch.nn.functional.cosine_similarity(gradient, gradient_low, dim=0)) > 0.999
    assert not torch.equal(gradient, gradient_low)  # bfloat16 did run


def test_auto_precision_is_bfloat16_only_where_the_cpu_multiplies_it(monkeypatch):
    net = get_extractor("shallow", form="drawn", filters=64)
    inputs = net.analyse(torch.from_numpy(canon_melody(22050)[:22050])[None])
    results = {}
    for native in (False, True):
        monkeypatch.setattr(precision, "cpu_multiplies_bfloat16", lambda native=native: native)
        results[native] = net.features(inputs)["conv"]
    drawn = {"form": "drawn", "filters": 64}
    exact = get_extractor("shallow", precision="float32", **drawn).features(inputs)["conv"]
    low = get_extractor("shallow", precision="bfloat16", **drawn).features(inputs)["conv"]
    assert torch.equal(results[False], exact)
    assert torch.equal(results[True], low)
    assert not torch.equal(exact, low)
    assert not precision.uses_bfloat16("auto", torch.device("meta"))  # GPUs keep float32


def test_unknown_precision_is_one_line_error():
    with pytest.raises(AudioStyleError, match=r"precision='bfloat'.*Did you mean 'bfloat16'"):
        get_extractor("shallow", form="drawn", filters=8, precision="bfloat")
