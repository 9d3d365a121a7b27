"""One chunk optimised (synthesis/stages.py): its start, its stages and what it reports."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiostyle.extractors import get_extractor
from audiostyle.synthesis.losses import StyleLoss
from audiostyle.synthesis.optimiser import Trace
from audiostyle.synthesis.settings import Settings
from audiostyle.synthesis.stages import merge_stages, optimise_chunk
from conftest import SR


@pytest.fixture(scope="module")
def net():
    return get_extractor("shallow", n_fft=512, hop_length=128)


def _loss(net, style: np.ndarray) -> StyleLoss:
    loss = StyleLoss(net)
    loss.set_target([(net.analyse(torch.from_numpy(style)[None]), 1.0)])
    return loss


def _chunk(net, loss, content, settings):
    return optimise_chunk(
        net, loss, content, shape=content.shape, like=torch.from_numpy(content),
        generator=torch.Generator().manual_seed(0), device=torch.device("cpu"),
        settings=settings.settled(net.defaults.transfer), label="test", progress=False)


def test_a_chunk_moves_towards_the_style_and_reports_it_truly(net, melody, bongos):
    content = np.stack([melody[: SR // 2], melody[SR // 2: SR]])
    loss = _loss(net, bongos)
    settings = Settings(iterations=8, refine_iterations=3, griffin_lim_iterations=8)
    wave, stages, ratio, distance = _chunk(net, loss, content, settings)
    assert wave.shape == content.shape and wave.dtype == np.float32
    assert list(stages) == ["spectrogram", "waveform"]
    assert stages["spectrogram"].iterations == 8 and stages["waveform"].iterations == 3
    assert 0 < ratio < 1
    with torch.no_grad():  # the reported distance is the result's own, per channel
        assert distance == pytest.approx(float(loss(net(torch.from_numpy(wave)))) / 2, rel=1e-5)
    start = float(loss(net(torch.from_numpy(content)))) / 2
    assert distance < start


def test_no_refinement_and_the_waveform_domain_have_one_stage(net, melody, bongos):
    content = melody[None, : SR // 2].copy()
    loss = _loss(net, bongos)
    for settings, name in [(Settings(iterations=3, refine_iterations=0,
                                     griffin_lim_iterations=4), "spectrogram"),
                           (Settings(iterations=3, domain="waveform"), "waveform")]:
        _, stages, _, _ = _chunk(net, loss, content, settings)
        assert list(stages) == [name]


def test_a_silent_channel_starts_from_noise(net, melody, bongos):
    content = np.stack([melody[: SR // 2], np.zeros(SR // 2, np.float32)])
    wave, _, _, _ = _chunk(net, _loss(net, bongos), content,
                           Settings(iterations=3, refine_iterations=1,
                                    griffin_lim_iterations=4))
    assert np.sqrt(np.mean(wave[1] ** 2)) > 1e-3  # from zeros it would stay silent


def test_merged_stages_weigh_chunks_by_length():
    a = {"spectrogram": Trace([1.0, 0.5], best_loss=0.5, seconds=1.0, initial_loss=2.0)}
    b = {"spectrogram": Trace([1.0, 0.2], best_loss=0.2, seconds=2.0, initial_loss=1.0,
                              interrupted=True)}
    merged = merge_stages([a, b], [0.25, 0.75])["spectrogram"]
    assert merged.losses == [1.0, 0.5, 1.0, 0.2]
    assert merged.best_loss == pytest.approx(0.25 * 0.5 + 0.75 * 0.2)
    assert merged.seconds == 3.0 and merged.initial_loss == 3.0 and merged.interrupted
    assert merge_stages([a], [1.0]) is a
