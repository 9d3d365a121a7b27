"""Mel filterbank on the Slaney mel scale (the Auditory Toolbox's; librosa's default)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

#: Below this frequency in Hz the Slaney mel scale is linear ...
_LINEAR_LIMIT_HZ = 1000.0
#: ... with this many Hz per mel; above it, logarithmic with 27 mels per factor 6.4.
_HZ_PER_MEL = 200.0 / 3
_LOG_STEP = math.log(6.4) / 27


def hz_to_mel(hz: Tensor) -> Tensor:
    """Frequency in Hz → Slaney mel (linear below 1 kHz = 15 mel, logarithmic above)."""
    linear = hz / _HZ_PER_MEL
    limit = _LINEAR_LIMIT_HZ / _HZ_PER_MEL
    log = limit + torch.log(hz.clamp_min(_LINEAR_LIMIT_HZ) / _LINEAR_LIMIT_HZ) / _LOG_STEP
    return torch.where(hz >= _LINEAR_LIMIT_HZ, log, linear)


def mel_to_hz(mel: Tensor) -> Tensor:
    """Inverse of :func:`hz_to_mel`."""
    limit = _LINEAR_LIMIT_HZ / _HZ_PER_MEL
    log = _LINEAR_LIMIT_HZ * torch.exp(_LOG_STEP * (mel - limit))
    return torch.where(mel >= limit, log, mel * _HZ_PER_MEL)


def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, *, fmin: float = 0.0, fmax: float | None = None
) -> Tensor:
    """Triangular mel filters with Slaney's area normalisation, ``(n_mels, n_fft // 2 + 1)``.

    Filter ``i`` rises from edge ``i`` to peak ``i + 1`` and falls to edge ``i + 2`` of
    ``n_mels + 2`` edges equally spaced in mel between ``fmin`` and ``fmax`` (default
    ``sample_rate / 2``), evaluated at the FFT bin frequencies ``k · sample_rate / n_fft``, and
    scaled by ``2 / (edge[i + 2] − edge[i])`` so that every triangle has unit area in Hz.
    Applied to a power spectrogram ``|STFT|²`` this is librosa's ``melspectrogram`` (its
    defaults, ``htk=False``, ``norm="slaney"``). Float64.
    """
    fmax = sample_rate / 2 if fmax is None else fmax
    if not 0 <= fmin < fmax <= sample_rate / 2:
        raise ValueError(f"need 0 <= fmin < fmax <= {sample_rate / 2} Hz, got {fmin}, {fmax}")
    bins = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    low, high = hz_to_mel(torch.tensor([fmin, fmax], dtype=torch.float64))
    edges = mel_to_hz(torch.linspace(float(low), float(high), n_mels + 2, dtype=torch.float64))
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - left) / (centre - left)
    falling = (right - bins) / (right - centre)
    triangles = torch.minimum(rising, falling).clamp_min(0)
    return triangles * (2 / (right - left))
