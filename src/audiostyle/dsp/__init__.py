"""Differentiable DSP building blocks: STFT and log-magnitude spectrograms, Griffin-Lim,
mel filterbanks."""

from .griffinlim import griffin_lim, spectral_convergence
from .mel import mel_filterbank
from .stft import Spectrogram

__all__ = ["Spectrogram", "griffin_lim", "mel_filterbank", "spectral_convergence"]
