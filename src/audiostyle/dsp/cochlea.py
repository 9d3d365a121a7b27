"""Cochlear subbands and their compressed, downsampled envelopes (McDermott & Simoncelli).

The waveform's spectrum is multiplied by the ERB half-cosine filterbank
(:func:`~audiostyle.dsp.filterbanks.erb_cos_filters`); the envelope of each subband is the
magnitude of its analytic signal, compressed as ``|z|^compression`` and low-passed to
``env_sr`` Hz, as in the toolbox's ``generate_subbands`` → ``abs(hilbert(·))`` → ``.^0.3`` →
``resample``.

Speed: a subband occupies only its filter's few bins, so its analytic signal is an exact
trigonometric polynomial that can be evaluated on a coarser time grid without any loss
(shift its bins down to 0, inverse FFT of length ``L ≥ width``). Only the compression is
nonlinear: its harmonics above ``L/2`` fold back, exactly as those above 10 kHz do in the
toolbox at 20 kHz. Each band's grid is chosen ``oversampling`` times finer than its
bandwidth (at most the full rate), which keeps the envelope statistics close to the full-rate
computation for much less work (benchmarks/RESULTS.md, *McDermott & Simoncelli texture
statistics*); ``oversampling=inf`` is the toolbox's full-rate computation exactly. Bands
sharing a grid size are batched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.fft import next_fast_len
from torch import Tensor, nn

from .filterbanks import erb_cos_filters

#: Amplitude added in quadrature to envelopes before compression (-120 dB re full scale):
#: keeps the gradient of ``|z|^0.3`` finite where a subband is silent.
ENVELOPE_FLOOR = 1e-6


@dataclass
class _Group:
    """Bands analysed on one time grid of ``length`` points."""

    length: int
    bands: Tensor  # (n,) band indices
    index: Tensor  # (n, width) rfft bins gathered for each band (padded with bin 0)
    weight: Tensor  # (n, width) analytic-signal weights · filter · length / samples


@dataclass
class _Plan:
    """Everything that depends on the signal length, cached per length/dtype/device."""

    power_weight: Tensor  # (bins, bands): |X|² → subband variance
    white_variance: Tensor  # (bands,): subband variance of unit white noise
    filters_squared: Tensor  # (bands, bins)
    groups: list[_Group]
    order: Tensor  # band order after concatenating the groups → original order
    env_length: int


class Cochlea(nn.Module):
    """Waveform ``(batch, time)`` at ``sr`` Hz → subband variances and envelopes.

    Args:
        sr: sample rate in Hz.
        bands: number of ERB-spaced band-pass filters (plus the two ends).
        low_hz, high_hz: lowest and highest cutoff of the filterbank in Hz.
        env_sr: envelope rate in Hz (the envelope keeps what is below ``env_sr / 2``).
        compression: exponent applied to the envelopes (1 = none).
        oversampling: per-band time grid relative to the band's width (see module docstring;
            ``math.inf`` = full rate).

    Output of :meth:`forward`: ``(subband_var (batch, bands + 2), envelopes (batch, bands + 2,
    frames))`` with ``frames = ceil(time · env_sr / sr)`` at ``frames · sr / time`` ≈ ``env_sr``
    Hz.
    """

    def __init__(
        self,
        sr: int = 20000,
        *,
        bands: int = 30,
        low_hz: float = 20.0,
        high_hz: float = 10000.0,
        env_sr: float = 400.0,
        compression: float = 0.3,
        oversampling: float = 8.0,
    ) -> None:
        super().__init__()
        self.sr = sr
        self.bands = bands
        self.low_hz = low_hz
        self.high_hz = high_hz
        self.env_sr = env_sr
        self.compression = compression
        self.oversampling = oversampling
        self._plans: dict[tuple, _Plan] = {}

    def env_frames(self, samples: int) -> int:
        """Envelope frames for a signal of ``samples`` samples."""
        return math.ceil(samples * self.env_sr / self.sr)

    def filters(self, samples: int) -> np.ndarray:
        """The cochlear filters for ``samples`` samples, ``(bands + 2, samples // 2 + 1)``."""
        return erb_cos_filters(samples, self.sr, self.bands, self.low_hz, self.high_hz)[0]

    def _plan(self, samples: int, dtype: torch.dtype, device: torch.device) -> _Plan:
        key = (samples, dtype, device)
        if key not in self._plans:
            if len(self._plans) >= 4:
                self._plans.pop(next(iter(self._plans)))
            self._plans[key] = self._make_plan(samples, dtype, device)
        return self._plans[key]

    def _make_plan(self, samples: int, dtype: torch.dtype, device: torch.device) -> _Plan:
        filters = self.filters(samples)
        bins = filters.shape[1]
        # one-sided spectrum weights: DC and (even length) Nyquist once, the rest twice
        analytic = np.full(bins, 2.0)
        analytic[0] = 1.0
        if samples % 2 == 0:
            analytic[-1] = 1.0
        power = analytic[:, None] * np.square(filters.T) / samples**2
        power[0] = 0.0  # the variance ignores the mean
        env_length = self.env_frames(samples)

        supports = [np.flatnonzero(f) for f in filters]
        ladder = [next_fast_len(env_length)]
        while ladder[-1] * 2 < samples:
            ladder.append(ladder[-1] * 2)
        ladder.append(samples)
        chosen = []
        for support in supports:
            width = max(support.size, 1)
            need = max(env_length, width, min(self.oversampling * width, samples))
            chosen.append(next(size for size in ladder if size >= need))

        groups, concatenated = [], []
        for length in sorted(set(chosen)):
            members = [k for k, size in enumerate(chosen) if size == length]
            width = max(max(supports[k].size, 1) for k in members)
            index = np.zeros((len(members), width), dtype=np.int64)
            weight = np.zeros((len(members), width))
            for row, k in enumerate(members):
                support = supports[k]
                index[row, : support.size] = support
                weight[row, : support.size] = analytic[support] * filters[k, support]
            groups.append(_Group(
                length=length,
                bands=torch.tensor(members, device=device),
                index=torch.from_numpy(index).to(device),
                weight=torch.from_numpy(weight * length / samples).to(device, dtype),
            ))
            concatenated.extend(members)
        return _Plan(
            power_weight=torch.from_numpy(power).to(device, dtype),
            white_variance=torch.from_numpy(power.sum(0) * samples).to(device, dtype),
            filters_squared=torch.from_numpy(np.square(filters)).to(device, dtype),
            groups=groups,
            order=torch.from_numpy(np.argsort(concatenated)).to(device),
            env_length=env_length,
        )

    def band_amplitude(self, subband_var: Tensor, samples: int) -> Tensor:
        """Amplitude per rfft bin, ``(batch, samples // 2 + 1)``, that turns the spectrum of
        unit white noise of ``samples`` samples into noise with these subband variances
        ``(batch, bands + 2)`` (each band's power spread evenly over its bins)."""
        plan = self._plan(samples, subband_var.dtype, subband_var.device)
        density = subband_var / plan.white_variance
        return (density @ plan.filters_squared).sqrt()

    def subband_variance(self, wave: Tensor) -> Tensor:
        """``(batch, time)`` → variance of each subband ``(batch, bands + 2)``."""
        return self._variance(torch.fft.rfft(wave), wave.shape[-1])

    def _variance(self, spectrum: Tensor, samples: int) -> Tensor:
        plan = self._plan(samples, spectrum.real.dtype, spectrum.device)
        return (spectrum.real.square() + spectrum.imag.square()) @ plan.power_weight

    def forward(self, wave: Tensor) -> tuple[Tensor, Tensor]:
        """``(batch, time)`` → ``(subband_var (batch, bands + 2), envelopes (batch, bands + 2,
        frames))``."""
        samples = wave.shape[-1]
        plan = self._plan(samples, wave.dtype, wave.device)
        spectrum = torch.fft.rfft(wave)
        subband_var = self._variance(spectrum, samples)

        frames = plan.env_length
        keep = (frames + 1) // 2  # bins strictly below env_sr / 2
        floor = ENVELOPE_FLOOR**2
        low_bins = []
        for group in plan.groups:
            analytic = torch.fft.ifft(spectrum[:, group.index] * group.weight, n=group.length)
            magnitude2 = analytic.real.square() + analytic.imag.square()
            envelope = (magnitude2 + floor) ** (self.compression / 2)
            low_bins.append(torch.fft.rfft(envelope)[..., :keep] * (frames / group.length))
        low = torch.cat(low_bins, dim=1)[:, plan.order]
        envelopes = torch.fft.irfft(low, n=frames).clamp_min(0)
        return subband_var, envelopes
