"""Losses against reference formulas: the style loss, the content loss, their sum, and the
content weight of a transfer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import audiostyle
from audiostyle.errors import AudioStyleError
from audiostyle.extractors import get_extractor
from audiostyle.synthesis.losses import ContentLoss, StyleLoss, mix_targets, transfer_loss
from audiostyle.synthesis.structure import StructureLoss
from audiostyle.synthesis.terms import Signal
from conftest import SR, tone


@pytest.fixture(scope="module")
def net():
    return get_extractor("shallow", filters=32, n_fft=512, hop_length=128, form="drawn")


def _gram(features: torch.Tensor) -> torch.Tensor:
    """Reference Gram matrix of ``(1, C, T)`` maps, by explicit sums, float64."""
    f = features[0].double()
    return torch.einsum("ct,dt->cd", f, f) / f.shape[1]


def _wave(freq: float, seconds: float = 0.5) -> torch.Tensor:
    return torch.from_numpy(tone(freq, seconds))[None]


def test_style_loss_is_the_relative_squared_gram_distance(net):
    style, other = _wave(300.0), _wave(1200.0)
    loss = StyleLoss(net)
    loss.set_target([(net.analyse(style), 1.0)])
    features = net(other)
    expected = 0.0
    for layer, weight in net.layer_weights.items():
        target = _gram(net(style)[layer])
        expected += weight * float(((_gram(features[layer]) - target) ** 2).sum()
                                   / (target**2).sum())
    assert float(loss(features)) == pytest.approx(expected, rel=1e-4)
    assert float(loss(net(style))) == pytest.approx(0.0, abs=1e-6)


def test_statistics_of_pieces_are_the_weighted_mix_of_each_piece(net):
    a, b = _wave(300.0), _wave(900.0)
    loss = StyleLoss(net)
    together = loss.statistics([(net.analyse(a), 0.25), (net.analyse(b), 0.75)])
    alone = [loss.statistics([(net.analyse(x), 1.0)]) for x in (a, b)]
    mixed = mix_targets([(alone[0], 0.25), (alone[1], 0.75)])
    x = net(_wave(600.0))
    for targets in (together, mixed):
        loss.load_target(targets)
        assert torch.isfinite(loss(x))
    loss.load_target(together)
    first = float(loss(x))
    loss.load_target(mixed)
    assert float(loss(x)) == pytest.approx(first, rel=1e-5)


def test_style_loss_errors():
    net = get_extractor("shallow", n_fft=256, hop_length=64)
    loss = StyleLoss(net)
    with pytest.raises(RuntimeError):  # used before a target: a programming error
        loss(net(_wave(300.0)))
    with pytest.raises(AudioStyleError, match="no sound"):
        loss.statistics([])
    with pytest.raises(AudioStyleError, match="lack"):
        loss.load_target({})


def test_content_loss_is_the_relative_squared_feature_distance(net):
    content, other = _wave(300.0), _wave(700.0)
    reference = net(content)
    loss = ContentLoss(reference)
    features = net(other)
    expected = sum(float(((features[k].double() - reference[k].double()) ** 2).sum()
                         / (reference[k].double() ** 2).sum()) for k in reference)
    assert float(loss(Signal(net.analyse(other), extractor=net))) == pytest.approx(expected,
                                                                                 rel=1e-6)
    assert float(loss(Signal(net.analyse(content), extractor=net))) == 0.0


def test_transfer_loss_is_its_named_weighted_terms(net):
    style, content, x = _wave(300.0), _wave(500.0), _wave(800.0)
    style_loss = StyleLoss(net, rhythm_weight=0.5, rhythm_lags=3)
    style_loss.set_target([(net.analyse(style), 1.0)])
    content_loss = ContentLoss(net(content))
    structure = StructureLoss(content, SR, net.spectrogram, slack_db=10.0)
    signal = Signal(net.analyse(x), x, extractor=net)
    loss = transfer_loss(style_loss, content_loss, 2.5, structure, 0.3)
    total = float(loss(signal))
    assert loss.names == ("style/conv", "rhythm/conv", "content", "structure")
    distances = style_loss.layer_distances(net(x))
    expected = {"style/conv": float(distances["conv"]),
                "rhythm/conv": 0.5 * float(distances["conv:rhythm"]),
                "content": 2.5 * float(content_loss(signal)),
                "structure": 0.3 * float(structure(signal))}
    assert loss.last == pytest.approx(expected, rel=1e-6)
    assert all(value > 0 for value in expected.values())
    assert total == pytest.approx(sum(expected.values()), rel=1e-6)
    assert float(style_loss(net(x))) == pytest.approx(expected["style/conv"]
                                                      + expected["rhythm/conv"], rel=1e-6)
    # weight 0 leaves a term out, so it costs nothing
    assert transfer_loss(style_loss, content_loss, 0.0, structure, 0.0).names == (
        "style/conv", "rhythm/conv")


def test_content_weight_keeps_the_result_closer_to_the_content(melody, bongos):
    quick = {"extractor": "shallow", "iterations": 15,
             "refine_iterations": 0, "griffin_lim_iterations": 16, "progress": False,
             "sr": SR, "init": "noise"}
    content = melody[: SR]
    free = audiostyle.transfer(content, bongos, content_weight=0.0, **quick)
    held = audiostyle.transfer(content, bongos, content_weight=10.0, **quick)
    judge = get_extractor("shallow")
    loss = ContentLoss(judge(torch.from_numpy(content)[None]))

    def distance(result):
        wave = torch.from_numpy(result.audio.samples)
        return float(loss(Signal(judge.analyse(wave), wave, extractor=judge)))

    assert distance(held) < 0.8 * distance(free)
    assert not np.array_equal(held.audio.samples, free.audio.samples)
