"""Several styles at once and the style-strength knob (targets mixed as statistics)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import audiostyle
from audiostyle.extractors import get_extractor
from audiostyle.extractors.statistics import Gram, GramTarget
from audiostyle.synthesis.losses import StyleLoss, mix_targets
from conftest import SR, tone

FAST = {"extractor": "shallow", "iterations": 25, "refine_iterations": 10, "progress": False}


def _gram(x: np.ndarray) -> torch.Tensor:
    """The Gram matrix of the shallow net's output for ``x`` ``(time,)``: with infinitely many
    filters (the default) that of the log-spectrogram's frames, a view of the statistics that
    net matches."""
    net = get_extractor("shallow")
    with torch.no_grad():
        return Gram().compute(net(torch.from_numpy(x)[None])["conv"])[0].double()


def _distance(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).square().sum() / b.square().sum())


@pytest.fixture(scope="module")
def noise() -> np.ndarray:
    """2 s of white noise: a style as unlike the bongo loop as can be."""
    return (0.1 * np.random.default_rng(3).standard_normal(2 * SR)).astype(np.float32)


@pytest.mark.parametrize("factored", [True, False])
def test_scaled_and_summed_targets_are_the_target_of_the_weighted_signals(factored):
    rng = torch.Generator().manual_seed(0)
    a, b = torch.rand(1, 30, 4, generator=rng), torch.rand(1, 30, 9, generator=rng)
    if not factored:  # more columns than channels: kept as the matrix
        a, b = torch.rand(1, 6, 40, generator=rng), torch.rand(1, 6, 50, generator=rng)
    gram = Gram()
    mixed = 0.3 * gram.target([(a, 1.0)]) + 0.7 * gram.target([(b, 1.0)])
    assert (mixed.factor is not None) == factored
    expected = 0.3 * a[0] @ a[0].T / a.shape[-1] + 0.7 * b[0] @ b[0].T / b.shape[-1]
    torch.testing.assert_close(mixed.matrix, expected)
    torch.testing.assert_close(mixed.norm, expected.double().square().sum(), rtol=1e-6, atol=0)
    with pytest.raises(ValueError, match="non-negative"):
        _ = -1.0 * gram.target([(a, 1.0)])


def test_mixing_leaves_out_zero_weights_to_the_bit():
    factor = torch.randn(8, 3)
    targets = {"conv": GramTarget(factor), "conv:rhythm": torch.randn(8, 4)}
    other = {"conv": GramTarget(torch.randn(8, 5)), "conv:rhythm": torch.randn(8, 4)}
    mixed = mix_targets([(targets, 1.0), (other, 0.0)])
    assert torch.equal(mixed["conv"].factor, factor)
    assert torch.equal(mixed["conv:rhythm"], targets["conv:rhythm"])
    with pytest.raises(ValueError):
        mix_targets([(targets, 0.0)])


def test_mixing_statistics_is_mixing_the_squared_distances():
    # Σ wᵢ‖S − Sᵢ‖² = ‖S − Σ wᵢSᵢ‖² + const: both have the same gradient in S
    net = get_extractor("shallow")
    loss = StyleLoss(net)
    waves = [torch.from_numpy(tone(f, 0.5))[None] for f in (220.0, 1500.0)]
    parts = []
    for wave in waves:
        parts.append(loss.statistics([(net.analyse(wave), 1.0)]))
    x = net.analyse(torch.from_numpy(tone(440.0, 0.5))[None]).requires_grad_(True)
    statistic = net.statistic_of("conv")
    mixed = mix_targets([(parts[0], 0.25), (parts[1], 0.75)])["conv"]

    def gradient(distance) -> torch.Tensor:
        return torch.autograd.grad(distance(net.features(x)["conv"]).sum(), x)[0]

    mixed_gradient = gradient(lambda y: statistic.distance(y, mixed))
    summed_gradient = gradient(lambda y: 0.25 * statistic.distance(y, parts[0]["conv"])
                               + 0.75 * statistic.distance(y, parts[1]["conv"]))
    torch.testing.assert_close(mixed_gradient, summed_gradient, rtol=1e-3,
                               atol=1e-4 * float(summed_gradient.abs().max()))


def test_weights_one_and_zero_give_the_single_style_result(melody, bongos, noise):
    single = audiostyle.transfer(melody, bongos, sr=SR, **FAST)
    blended = audiostyle.transfer(melody, [bongos, noise], style_weights=[1, 0], sr=SR, **FAST)
    np.testing.assert_array_equal(blended.audio.samples, single.audio.samples)


def test_an_even_blend_has_statistics_between_the_two_styles(melody, bongos, noise):
    result = audiostyle.transfer(melody, [bongos, noise], style_weights=[0.5, 0.5], sr=SR,
                                 **FAST)
    g_result, g_bongos, g_noise = _gram(result.audio.samples[0]), _gram(bongos), _gram(noise)
    middle = 0.5 * (g_bongos + g_noise)
    to_middle = _distance(g_result, middle)
    apart = _distance(g_bongos, middle)  # each style's distance to the middle
    print(f"relative distance to the mix {to_middle:.3f}, a style's {apart:.3f}, "
          f"noise's {_distance(g_noise, middle):.3f}")
    assert to_middle < 0.25 * min(apart, _distance(g_noise, middle))
    # and it is nearer each style than the other style is
    assert _distance(g_result, g_bongos) < _distance(g_noise, g_bongos)
    assert _distance(g_result, g_noise) < _distance(g_bongos, g_noise)


def test_style_weights_are_checked(melody, bongos):
    with pytest.raises(audiostyle.AudioStyleError, match="one weight per style"):
        audiostyle.transfer(melody, [bongos, bongos], style_weights=[1.0], sr=SR)
    with pytest.raises(audiostyle.AudioStyleError, match=">= 0"):
        audiostyle.transfer(melody, [bongos, bongos], style_weights=[1.0, -1.0], sr=SR)
    with pytest.raises(audiostyle.AudioStyleError, match="between 0 and 1"):
        audiostyle.transfer(melody, bongos, strength=1.5, sr=SR)


def test_strength_trades_content_for_style_monotonically_on_both_axes(melody, bongos):
    """The knob from the content untouched (0) to statistics only (1): every step moves the
    result's Gram matrix nearer the style's and keeps less of the content, judged by the
    evaluation's constant-Q chroma and onset correlation (not the structure term's own STFT
    chroma)."""
    from audiostyle.evaluation.metrics import ContentReference

    g_style = _gram(bongos)
    reference = ContentReference(melody, SR)
    to_style, chroma, onsets = [], [], []
    for strength in (0.0, 0.25, 0.5, 0.75, 1.0):
        out = audiostyle.transfer(melody, bongos, strength=strength, sr=SR,
                                  extractor="shallow", iterations=60,
                                  refine_iterations=20, progress=False).audio.samples[0]
        to_style.append(_distance(_gram(out), g_style))
        chroma.append(reference.chroma_similarity(out))
        onsets.append(reference.onset_correlation(out))
        if strength == 0:
            np.testing.assert_array_equal(out, melody)
    print("distance to the style", to_style, "chroma", chroma, "onsets", onsets)
    assert all(a >= 0.97 * b for a, b in itertools.pairwise(to_style))
    assert to_style[0] > 10 * to_style[2] and to_style[2] >= to_style[-1]
    assert all(a >= b - 0.01 for a, b in itertools.pairwise(chroma))
    assert all(a >= b - 0.01 for a, b in itertools.pairwise(onsets))
    assert chroma[1] - chroma[-1] > 0.2 and onsets[1] - onsets[-1] > 0.03
