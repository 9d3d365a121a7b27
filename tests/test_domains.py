"""Optimisation domains: what the optimiser changes and how it becomes sound again."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import audiostyle
from audiostyle.demo import insects
from audiostyle.dsp import spectral_convergence
from audiostyle.errors import AudioStyleError
from audiostyle.extractors import get_extractor
from audiostyle.io.audio import PEAK_CEILING_DB
from audiostyle.synthesis import domains
from audiostyle.synthesis.domains import (
    HEADROOM_WEIGHT,
    SpectrogramDomain,
    WaveformDomain,
    make_domain,
)
from audiostyle.synthesis.terms import LossTerms, Signal, Weighted
from conftest import tone


@pytest.fixture(scope="module")
def spectral():
    return get_extractor("shallow", n_fft=512, hop_length=128)


def _start(seconds: float = 0.5, amplitude: float = 0.5) -> torch.Tensor:
    return torch.from_numpy(tone(440.0, seconds, amplitude=amplitude)
                            + tone(1100.0, seconds, amplitude=amplitude / 3))[None]


def test_waveform_domain_of_a_spectral_extractor_starts_at_the_start(spectral):
    start = _start()
    space = WaveformDomain(spectral, start)
    assert space.initial.shape[-1] == 2  # real and imaginary parts of the scaled STFT
    torch.testing.assert_close(space.decode(space.initial), start, atol=1e-5, rtol=0)
    signal = space.signal(space.initial)
    torch.testing.assert_close(signal.inputs, spectral.analyse(start), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(signal.wave, start, atol=1e-5, rtol=0)


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

    no_loss = LossTerms([Weighted("nothing", 1.0, lambda _signal: torch.zeros(()))])
    for start, positive in ((quiet, False), (loud, True)):
        space = WaveformDomain(spectral, start)
        wave = space.decode(space.initial)
        excess = (wave.abs() - ceiling).clamp_min(0).square().sum() / wave.square().sum()
        objective = space.objective(no_loss)
        value = float(objective(space.initial))
        assert value == pytest.approx(HEADROOM_WEIGHT * float(excess), rel=1e-5, abs=1e-12)
        assert objective.loss.last["headroom"] == pytest.approx(value, rel=1e-12, abs=1e-15)
        assert (value > 0) == positive
    # the spectrogram domain has no waveform: the headroom term does not apply there
    spectrogram = SpectrogramDomain(spectral, loud, griffin_lim_iterations=4).objective(no_loss)
    assert float(spectrogram(spectrogram.domain.initial)) == 0.0
    assert list(spectrogram.loss.last) == ["nothing"]


def test_spectrogram_domain_optimises_the_log_magnitude(spectral):
    start = _start()
    space = SpectrogramDomain(spectral, start, griffin_lim_iterations=32)
    torch.testing.assert_close(space.initial, spectral.analyse(start))
    signal = space.signal(space.initial)
    assert signal.inputs is space.initial and signal.wave is None
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


def _peak_hz(wave: torch.Tensor, sr: int) -> float:
    spectrum = torch.fft.rfft(wave[0].double()).abs()
    return float(spectrum.argmax()) * sr / wave.shape[-1]


def test_subband_domain_starts_near_the_start_and_keeps_its_pitch():
    """The subbands sum to the start (squared ERB responses sum to 1); only the envelopes are
    optimised, so holding each band's envelope at its mean removes the tremolo but keeps the
    pitch (the fine structure)."""
    net = get_extractor("mcdermott")
    sr = net.sample_rate
    t = torch.arange(sr) / sr
    start = (0.3 * torch.sin(2 * torch.pi * 330 * t) * (1 + torch.sin(2 * torch.pi * 3 * t))
             + 0.1 * torch.sin(2 * torch.pi * 1250 * t))[None].float()
    space = make_domain("subbands", net, start)
    assert space.initial.shape[:2] == (1, 32)  # (batch, subbands, envelope frames)
    wave = space.decode(space.initial)
    error = float((wave - start).square().sum() / start.square().sum())
    assert error < 1e-2  # the envelopes are kept at 1 kHz, the carriers exactly
    mean = space.initial.exp().mean(-1, keepdim=True).log()
    flat = space.decode(mean.expand_as(space.initial))
    assert abs(_peak_hz(flat, sr) - 330) < 2
    # the 3 Hz tremolo of the start is gone from the flattened envelopes
    frames = flat[0, : sr // 100 * 100].reshape(100, -1).square().mean(-1)
    assert float(frames.std() / frames.mean()) < 0.2
    source = start[0, : sr // 100 * 100].reshape(100, -1).square().mean(-1)
    assert float(source.std() / source.mean()) > 0.5


def test_subband_domain_adds_the_headroom_term_and_passes_the_waveform():
    net = get_extractor("mcdermott")
    start = torch.from_numpy(tone(440.0, 0.5, sr=net.sample_rate, amplitude=0.5))[None]
    space = make_domain("subbands", net, start)
    seen = []

    def nothing(signal: Signal) -> torch.Tensor:
        seen.append(signal.wave)
        return signal.inputs.sum() * 0

    objective = space.objective(LossTerms([Weighted("nothing", 1.0, nothing)]))
    loud = space.initial + 2.0  # e² ≈ 7.4 × the level: far above the ceiling
    value = objective(loud)
    assert float(value) > 0 and seen and seen[0].shape == start.shape
    assert objective.loss.last["headroom"] == pytest.approx(float(value))
    assert float(objective(space.initial)) == pytest.approx(0.0, abs=1e-6)


def test_subband_domain_fills_the_pauses_of_a_content_with_digital_silence(monkeypatch):
    """Tone bursts with exact zeros between them (as speech synthesisers write) under a steady
    texture: the subband domain's floored start envelopes let McDermott's transfer put the
    texture into the pauses (their level rises towards the style's), which it did not do
    with the floor at −80 dB (the bands of the pauses got no gradient)."""
    sr = 20000
    rng = np.random.default_rng(2)
    t = np.arange(int(0.3 * sr)) / sr
    window = np.hanning(t.size)
    bursts = [np.concatenate([0.5 * np.sin(2 * np.pi * 220 * 2 ** (k / 12) * t) * window,
                              np.zeros(int(0.3 * sr))]) for k in rng.integers(0, 12, 8)]
    content = np.concatenate(bursts).astype(np.float32)
    gaps = np.concatenate([np.arange(i * 2 * t.size + t.size + sr // 20,
                                     (i + 1) * 2 * t.size - sr // 20) for i in range(8)])
    style = insects(sr, seconds=5.0)

    def gap_db() -> float:
        out = audiostyle.transfer(content, style, sr=sr, extractor="mcdermott",
                                  iterations=40, progress=False).audio.samples[0]
        return 10 * np.log10(np.mean(out[gaps] ** 2) / np.mean(style ** 2))

    filled = gap_db()
    monkeypatch.setattr(domains, "ENVELOPE_FLOOR_DB", -80.0)
    stalled = gap_db()
    assert filled > -18, filled
    assert stalled < filled - 20, (stalled, filled)  # measured: −52.6 against −12.2 dB
