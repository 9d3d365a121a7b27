"""Differentiable DSP building blocks: STFT and log-magnitude spectrograms, Griffin-Lim."""

from .griffinlim import griffin_lim, spectral_convergence
from .stft import Spectrogram

__all__ = ["Spectrogram", "griffin_lim", "spectral_convergence"]
