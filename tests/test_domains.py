"""Optimisation domains: what the optimiser changes and how it becomes sound again."""

from __future__ import annotations

import pytest
import torch

from audiostyle.dsp import spectral_convergence
from audiostyle.errors import AudioStyleError
from audiostyle.extractors import get_extractor
from audiostyle.io.audio import PEAK_CEILING_DB
from audiostyle.synthesis.domains import (
    HEADROOM_WEIGHT,
    SpectrogramDomain,
    WaveformDomain,
    make_domain,
)
from conftest import tone


@pytest.fixture(scope="module")
def spectral():
    return get_extractor("shallow", filters=16, n_fft=512, hop_length=128)


def _start(seconds: float = 0.5, amplitude: float = 0.5) -> torch.Tensor:
    return torch.from_numpy(tone(440.0, seconds, amplitude=amplitude)
                            + tone(1100.0, seconds, amplitude=amplitude / 3))[None]


def test_waveform_domain_of_a_spectral_extractor_starts_at_the_start(spectral):
    start = _start()
    space = WaveformDomain(spectral, start)
    assert space.initial.shape[-1] == 2  # real and imaginary parts of the scaled STFT
    torch.testing.assert_close(space.decode(space.initial), start, atol=1e-5, rtol=0)
    torch.testing.assert_close(space.feature_input(space.initial), spectral.analyse(start),
                               atol=1e-4, rtol=1e-4)


def test_waveform_domain_with_a_spectral_scale_starts_at_the_start():
    net = get_extractor("mcdermott", bands=8, mod_bands=4)
    start = _start(1.0)
    space = WaveformDomain(net, start)
    assert net.spectral_scale(start) is not None
    torch.testing.assert_close(space.decode(space.initial), start, atol=1e-5, rtol=0)


def test_headroom_term_acts_only_above_the_ceiling(spectral):
    ceiling = 10 ** (PEAK_CEILING_DB / 20)
    quiet, loud = _start(amplitude=0.3), _start(amplitude=0.95)
    assert float(loud.abs().max()) > ceiling > float(quiet.abs().max())

    def no_loss(_features: torch.Tensor) -> torch.Tensor:
        return torch.zeros(())

    for start, positive in ((quiet, False), (loud, True)):
        space = WaveformDomain(spectral, start)
        wave = space.decode(space.initial)
        excess = (wave.abs() - ceiling).clamp_min(0).square().sum() / wave.square().sum()
        value = float(space.objective(no_loss, space.initial))
        assert value == pytest.approx(HEADROOM_WEIGHT * float(excess), rel=1e-5, abs=1e-12)
        assert (value > 0) == positive


def test_spectrogram_domain_optimises_the_log_magnitude(spectral):
    start = _start()
    space = SpectrogramDomain(spectral, start, griffin_lim_iterations=32)
    torch.testing.assert_close(space.initial, spectral.analyse(start))
    assert space.feature_input(space.initial) is space.initial
    # from the start's own phase, Griffin-Lim gives the start's magnitude back closely
    wave = space.decode(space.initial, reference=start)
    assert wave.shape == start.shape
    magnitude = spectral.spectrogram.stft(start).abs()
    assert spectral_convergence(wave, magnitude, spectral.spectrogram) < 0.05


def test_spectrogram_domain_needs_a_spectral_extractor():
    net = get_extractor("mcdermott", bands=8, mod_bands=4)
    with pytest.raises(AudioStyleError, match="use domain waveform"):
        make_domain("spectrogram", net, _start(1.0))
    with pytest.raises(AudioStyleError, match="Unknown domain 'time'"):
        make_domain("time", net, _start(1.0))
