"""Texture statistics of McDermott & Simoncelli (2011), as differentiable tensor functions.

Conventions follow the Sound Texture Synthesis Toolbox v1.7 (``measure_texture_stats.m``) with
its unwindowed (uniform) time average. Envelopes are ``(batch, channels, frames)``; their
one-sided spectrum ``E = rfft(envelopes)`` serves every second-order statistic through
Parseval's theorem, so filtered envelopes are never formed except for C2 (which needs their
phase). Modulation filters are zero-phase responses sampled at the ``rfft`` bins.

Guards: variances are floored at :data:`TINY` so that a silent (constant) envelope gives
finite statistics (CV 0, skewness and kurtosis 0, correlations 0) and finite gradients.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

#: Added to variances and squared magnitudes before dividing by them.
TINY = 1e-18


def one_sided_weights(frames: int, bins: int, *, dtype: torch.dtype,
                      device: torch.device | None = None) -> Tensor:
    """Weights ``w`` with ``Σ_t x² = Σ_f w_f |X_f|² / frames`` for ``X = rfft(x)``, ``(bins,)``.

    ``bins`` may be fewer than ``frames // 2 + 1`` (the rest being zero).
    """
    weights = torch.full((bins,), 2.0, dtype=dtype, device=device)
    weights[0] = 1.0
    if frames % 2 == 0 and bins == frames // 2 + 1:
        weights[-1] = 1.0
    return weights


def envelope_moments(envelopes: Tensor) -> dict[str, Tensor]:
    """Mean, coefficient of variation, skewness and kurtosis over time, each ``(batch, ch)``.

    ``env_cv`` is ``σ/μ`` (the toolbox's ``env_var``); kurtosis is not in excess (3 for a
    Gaussian).
    """
    mean = envelopes.mean(-1)
    centred = envelopes - mean.unsqueeze(-1)
    square = centred.square()
    var = square.mean(-1) + TINY
    return {
        "env_mean": mean,
        "env_cv": var.sqrt() / mean,
        "env_skew": (square * centred).mean(-1) / var**1.5,
        "env_kurt": square.square().mean(-1) / var.square(),
    }


def _pairs(cross: Tensor, auto: Tensor, offsets: Sequence[int]) -> Tensor:
    """Correlations ``cross(k, k + d) / sqrt(auto_k · auto_{k+d})`` for each offset ``d``.

    ``cross(a, b)`` gives the summed products of channels ``a`` and ``b`` ``(batch, pairs, ...)``
    and ``auto`` the channels' summed squares ``(batch, channels, ...)``. Returns ``(batch,
    channels, offsets, ...)`` with zeros where ``k + d`` is past the last channel.
    """
    channels = auto.shape[1]
    out = []
    for d in offsets:
        if d >= channels:
            out.append(torch.zeros_like(auto))
            continue
        value = cross(slice(0, channels - d), slice(d, channels))
        norm = (auto[:, : channels - d] + TINY).sqrt() * (auto[:, d:] + TINY).sqrt()
        padding = torch.zeros_like(auto[:, :d])
        out.append(torch.cat([value / norm, padding], dim=1))
    return torch.stack(out, dim=2)


def envelope_correlations(spectrum: Tensor, frames: int, offsets: Sequence[int]) -> Tensor:
    """Pearson correlation of envelope ``k`` with envelope ``k + d``, ``(batch, ch, offsets)``.

    Args:
        spectrum: ``rfft`` of the envelopes ``(batch, channels, frames // 2 + 1)``.
        frames: envelope length.
        offsets: channel offsets ``d`` (positive).
    """
    weights = one_sided_weights(frames, spectrum.shape[-1], dtype=spectrum.real.dtype,
                                device=spectrum.device)
    weights[0] = 0.0  # subtract the mean
    power = (spectrum.real.square() + spectrum.imag.square()) @ weights

    def cross(a: slice, b: slice) -> Tensor:
        product = spectrum[:, a] * spectrum[:, b].conj()
        return product.real @ weights

    return _pairs(cross, power, offsets)


def modulation_power(spectrum: Tensor, frames: int, filters: Tensor) -> Tensor:
    """Power of each modulation band relative to the envelope's variance.

    Args:
        spectrum: ``rfft`` of the envelopes ``(batch, channels, frames // 2 + 1)``.
        frames: envelope length.
        filters: modulation filters ``(bands, frames // 2 + 1)``.

    Returns:
        ``(batch, channels, bands)``.
    """
    weights = one_sided_weights(frames, spectrum.shape[-1], dtype=filters.dtype,
                                device=filters.device)
    power = (spectrum.real.square() + spectrum.imag.square()) * weights
    variance = power[..., 1:].sum(-1, keepdim=True)
    return (power @ filters.square().T) / (variance + TINY * frames**2)


def modulation_correlations(
    spectrum: Tensor, frames: int, filters: Tensor, offsets: Sequence[int]
) -> Tensor:
    """C1: correlation of channels ``k`` and ``k + d`` within each modulation band.

    Args:
        spectrum: ``rfft`` of the envelopes ``(batch, channels, frames // 2 + 1)``.
        frames: envelope length.
        filters: zero-mean (band-pass) modulation filters ``(bands, frames // 2 + 1)``.
        offsets: channel offsets ``d``.

    Returns:
        ``(batch, channels, offsets, bands)``.
    """
    weights = one_sided_weights(frames, spectrum.shape[-1], dtype=filters.dtype,
                                device=filters.device)
    gains = (filters.square() * weights).T  # (bins, bands)
    power = (spectrum.real.square() + spectrum.imag.square()) @ gains

    def cross(a: slice, b: slice) -> Tensor:
        return (spectrum[:, a] * spectrum[:, b].conj()).real @ gains

    return _pairs(cross, power, offsets)


def modulation_phase_correlations(spectrum: Tensor, frames: int, filters: Tensor) -> Tensor:
    """C2: phase-sensitive correlation of octave band ``b`` with band ``b + 1`` of one channel.

    With ``a_b`` the analytic signal of modulation band ``b`` and ``d_b = a_b² / |a_b|`` (its
    phase doubled, so that it rotates at the frequency of the band above):
    ``C2 = ⟨Re d_b · (Re a_{b+1}, Im a_{b+1})⟩ / (σ(Re d_b) σ(Re a_{b+1}))``, as in the toolbox.

    Args:
        spectrum: ``rfft`` of the envelopes ``(batch, channels, frames // 2 + 1)``.
        frames: envelope length.
        filters: octave modulation filters ``(bands, frames // 2 + 1)``, ascending.

    Returns:
        ``(batch, channels, bands - 1, 2)``: real and imaginary parts.
    """
    weights = one_sided_weights(frames, spectrum.shape[-1], dtype=filters.dtype,
                                device=filters.device)
    analytic = torch.fft.ifft(spectrum.unsqueeze(2) * (filters * weights), n=frames)
    coarse, fine = analytic[:, :, :-1], analytic[:, :, 1:]
    magnitude = (coarse.real.square() + coarse.imag.square() + TINY).sqrt()
    doubled = (coarse.real.square() - coarse.imag.square()) / magnitude  # Re(a² / |a|)
    sigma = (doubled.square().mean(-1) + TINY).sqrt() * (
        fine.real.square().mean(-1) + TINY).sqrt()
    real = (doubled * fine.real).mean(-1) / sigma
    imag = (doubled * fine.imag).mean(-1) / sigma
    return torch.stack([real, imag], dim=-1)
