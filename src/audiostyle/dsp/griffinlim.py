"""Phase recovery: fast Griffin-Lim (Perraudin, Balazs & Søndergaard, 2013)."""

from __future__ import annotations

import torch
from torch import Tensor

from ..errors import Interrupted
from .stft import Spectrogram


def griffin_lim(
    magnitude: Tensor,
    spectrogram: Spectrogram,
    *,
    length: int,
    iterations: int = 100,
    momentum: float = 0.99,
    phase: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Find a waveform whose |STFT| is close to ``magnitude``.

    Fast Griffin-Lim: alternate projections onto consistent spectrograms and onto the target
    magnitude, with ``momentum`` (0 gives the original Griffin & Lim 1984 algorithm).

    Args:
        magnitude: target |STFT| ``(batch, bins, frames)``, non-negative.
        spectrogram: the STFT that defines consistency (n_fft, hop, window).
        length: samples of the output.
        iterations: projection steps; 0 returns the inverse STFT of the starting estimate.
        phase: starting phase in radians ``(batch, bins, frames)`` (e.g. the content's);
            uniform random from ``generator`` when None.

    Returns:
        waveform ``(batch, length)``.

    Raises:
        Interrupted: Ctrl-C during the iterations; its ``partial`` is the waveform of the
            estimate so far.
    """
    if phase is None:
        phase = 2 * torch.pi * torch.rand(magnitude.shape, generator=generator) - torch.pi
        phase = phase.to(magnitude.device)
    estimate = None
    try:
        target = magnitude.to(torch.complex64)
        estimate = previous = magnitude * torch.exp(1j * phase)
        for _ in range(iterations):
            rebuilt = spectrogram.stft(spectrogram.istft(estimate, length))
            accelerated = rebuilt + momentum * (rebuilt - previous)
            previous = rebuilt
            estimate = target * accelerated / (accelerated.abs() + 1e-16)
    except KeyboardInterrupt:
        if estimate is None:
            estimate = magnitude * torch.exp(1j * phase)
        raise Interrupted(spectrogram.istft(estimate, length)) from None
    return spectrogram.istft(estimate, length)


def spectral_convergence(wave: Tensor, magnitude: Tensor, spectrogram: Spectrogram) -> float:
    """‖ |STFT(wave)| − magnitude ‖_F / ‖magnitude‖_F: 0 for a perfect reconstruction."""
    rebuilt = spectrogram.stft(wave).abs()
    error = torch.linalg.vector_norm(rebuilt - magnitude)
    return float(error / torch.linalg.vector_norm(magnitude))
