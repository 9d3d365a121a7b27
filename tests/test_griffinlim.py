"""Griffin-Lim phase recovery on signals with a known magnitude."""

from __future__ import annotations

import torch

from audiostyle.dsp import Spectrogram, griffin_lim, spectral_convergence
from conftest import tone


def _chord() -> torch.Tensor:
    return torch.from_numpy(tone(220.0, 2.0) + tone(330.0, 2.0, amplitude=0.3)
                            + tone(550.0, 2.0, amplitude=0.2))[None]


def test_griffin_lim_from_random_phase_reaches_low_spectral_convergence():
    spec = Spectrogram()
    x = _chord()
    magnitude = spec.stft(x).abs()
    generator = torch.Generator().manual_seed(0)
    start = griffin_lim(magnitude, spec, length=x.shape[-1], iterations=0, generator=generator)
    rebuilt = griffin_lim(magnitude, spec, length=x.shape[-1], iterations=100,
                          generator=torch.Generator().manual_seed(0))
    assert spectral_convergence(start, magnitude, spec) > 0.3  # random phase: far off
    assert spectral_convergence(rebuilt, magnitude, spec) < 0.05


def test_fast_griffin_lim_beats_plain_griffin_lim():
    spec = Spectrogram()
    x = _chord()
    magnitude = spec.stft(x).abs()
    errors = {}
    for momentum in (0.0, 0.99):
        wave = griffin_lim(magnitude, spec, length=x.shape[-1], iterations=30, momentum=momentum,
                           generator=torch.Generator().manual_seed(0))
        errors[momentum] = spectral_convergence(wave, magnitude, spec)
    assert errors[0.99] < 0.7 * errors[0.0]


def test_true_phase_reconstructs_exactly():
    spec = Spectrogram()
    x = _chord()
    stft = spec.stft(x)
    wave = griffin_lim(stft.abs(), spec, length=x.shape[-1], iterations=5, phase=stft.angle())
    assert spectral_convergence(wave, stft.abs(), spec) < 1e-3
    torch.testing.assert_close(wave, x, atol=1e-4, rtol=0)
