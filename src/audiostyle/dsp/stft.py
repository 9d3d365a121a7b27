"""Short-time Fourier transform and the log-compressed magnitude spectrogram."""

from __future__ import annotations

import torch
from torch import Tensor, nn

#: Added under the square root of the magnitude so that its gradient is finite at 0.
_MAGNITUDE_EPS = 1e-12


class Spectrogram(nn.Module):
    """log(1 + |STFT|) of a waveform, as in Ulyanov & Lebedev (2016).

    Periodic Hann window, frames centred on ``hop_length`` multiples with zero padding (so any
    length works), no normalisation: |STFT| of a full-scale sine is about ``n_fft / 4``.

    Shape: ``(batch, time)`` → ``(batch, n_fft // 2 + 1, frames)``, with
    ``frames = time // hop_length + 1``.
    """

    def __init__(self, n_fft: int = 2048, hop_length: int = 512) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    @property
    def bins(self) -> int:
        """Number of frequency bins, ``n_fft // 2 + 1``."""
        return self.n_fft // 2 + 1

    def frames(self, samples: int) -> int:
        """Number of STFT frames for a signal of ``samples`` samples."""
        return samples // self.hop_length + 1

    def stft(self, wave: Tensor) -> Tensor:
        """Complex STFT, ``(batch, time)`` → ``(batch, bins, frames)``."""
        return torch.stft(
            wave, self.n_fft, self.hop_length, window=self.window, center=True,
            pad_mode="constant", return_complex=True,
        )

    def istft(self, spec: Tensor, length: int) -> Tensor:
        """Inverse of :meth:`stft` (least-squares overlap-add), ``→ (batch, length)``."""
        return torch.istft(
            spec, self.n_fft, self.hop_length, window=self.window, center=True, length=length
        )

    def magnitude(self, wave: Tensor) -> Tensor:
        """|STFT|, ``(batch, bins, frames)``, differentiable everywhere (also at silence)."""
        spec = torch.view_as_real(self.stft(wave))
        return torch.sqrt(spec.square().sum(-1) + _MAGNITUDE_EPS)

    def forward(self, wave: Tensor) -> Tensor:
        """log(1 + |STFT|), ``(batch, time)`` → ``(batch, bins, frames)``."""
        return torch.log1p(self.magnitude(wave))
