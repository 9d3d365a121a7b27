"""The style model's time-frequency grid: causal STFT frames and bands, at any rate.

A style model works on short STFT frames of the sound *at its own rate*: every rate gets a
frame of the same duration (hop :data:`HOP_SECONDS`, window ``4 × hop``, periodic √Hann for
analysis and synthesis, which overlap-add to a constant at a quarter-window hop, so that unit
gains give the input back exactly). Bands are placed in Hz (on the ERB scale), so the same
network applies to a sound at 8, 22.05 or 48 kHz with no resampling; band powers are in
physical units (the power of the band's part of the signal, per sample), the same for a sound
and its resampled copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ..dsp.filterbanks import freq2erb

#: Frame hop in seconds (128 samples at 22050 Hz, 256 at 44.1 kHz); the window is 4 hops
#: (23 ms), which is the model's latency.
HOP_SECONDS = 128 / 22050
#: Window length in hops (√Hann windows at this overlap sum to a constant).
OVERLAP = 4
#: Lowest band edge in Hz.
LOW_HZ = 20.0
#: Floor of band powers before the log (−100 dB re a full-scale band).
POWER_FLOOR = 1e-10


@dataclass(frozen=True)
class Grid:
    """The frames and bands of a model at ``sr`` Hz.

    Attributes:
        sr: rate in Hz.
        hop: frame hop in samples; ``window = OVERLAP × hop``.
        top_hz: highest frequency the model shapes (the extractor's Nyquist): bins above keep
            the sound as it is (the extractor never heard them).
    """

    sr: int
    hop: int
    top_hz: float

    @classmethod
    def at(cls, sr: int, top_hz: float) -> Grid:
        return cls(int(sr), max(1, round(sr * HOP_SECONDS)), float(top_hz))

    @property
    def window(self) -> int:
        return OVERLAP * self.hop

    @property
    def bins(self) -> int:
        return self.window // 2 + 1

    def frequencies(self) -> np.ndarray:
        """The rfft bins' frequencies in Hz, ``(bins,)``."""
        return np.arange(self.bins) * (self.sr / self.window)

    def analysis_window(self) -> Tensor:
        """√Hann (periodic), ``(window,)``; also the synthesis window up to
        :meth:`synthesis_scale`."""
        return torch.hann_window(self.window, periodic=True, dtype=torch.float64).sqrt().float()

    def synthesis_scale(self) -> float:
        """Factor of the synthesis window so that analysis → synthesis is the identity
        (periodic Hann at a quarter-window hop sums to 2)."""
        return 2 / OVERLAP

    def heard(self) -> Tensor:
        """1 for bins at or below :attr:`top_hz`, 0 above, ``(bins,)``."""
        return torch.from_numpy((self.frequencies() <= self.top_hz).astype(np.float32))

    def interpolation(self, bands: int) -> Tensor:
        """``(bins, bands)``: each bin's weights on ``bands`` centres equally spaced on the ERB
        scale from :data:`LOW_HZ` to :attr:`top_hz` (linear in ERB between the two nearest
        centres, the end centres' values below and above them; bins above :attr:`top_hz`
        all 0). Rows of heard bins sum to 1: a value per band becomes a smooth curve over
        the bins."""
        centres = np.linspace(freq2erb(LOW_HZ), freq2erb(self.top_hz), bands)
        erb = np.clip(freq2erb(self.frequencies()), centres[0], centres[-1])
        out = np.zeros((self.bins, bands))
        if bands == 1:
            out[:, 0] = 1.0
        else:
            position = (erb - centres[0]) / (centres[1] - centres[0])
            low = np.minimum(np.floor(position).astype(int), bands - 2)
            frac = position - low
            rows = np.arange(self.bins)
            out[rows, low] = 1 - frac
            out[rows, low + 1] += frac
        out[self.frequencies() > self.top_hz] = 0.0
        return torch.from_numpy(out.astype(np.float32))

    def band_power(self, bands: int) -> Tensor:
        """``(bins, bands)``: the weights that turn ``|X|²`` of a frame (windowed by
        :meth:`analysis_window`) into the power per sample of each band's part of the signal
        (a partition of unity over the heard bins: :meth:`interpolation`, one-sided and
        normalised by the window's energy)."""
        one_sided = np.full(self.bins, 2.0)
        one_sided[0] = 1.0
        if self.window % 2 == 0:
            one_sided[-1] = 1.0
        energy = float(self.analysis_window().double().square().sum())
        scale = torch.from_numpy((one_sided / (self.window * energy)).astype(np.float32))
        return self.interpolation(bands) * scale[:, None]


def analyse(frames: Tensor, window: Tensor, band_power: Tensor) -> tuple[Tensor, Tensor]:
    """Frames ``(batch, count, window)`` → their spectra ``(batch, count, bins)`` (windowed by
    ``window``, :meth:`Grid.analysis_window`) and band powers ``(batch, count, bands)``
    (through ``band_power``, :meth:`Grid.band_power`)."""
    spectrum = torch.fft.rfft(frames * window)
    return spectrum, (spectrum.real.square() + spectrum.imag.square()) @ band_power
