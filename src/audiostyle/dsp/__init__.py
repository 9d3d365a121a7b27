"""Differentiable DSP building blocks: STFT and log-magnitude spectrograms, Griffin-Lim, and
the McDermott toolbox's filterbanks and cochlear model (:mod:`.filterbanks`, :mod:`.cochlea`).
Mel filters come from librosa."""

from .griffinlim import griffin_lim, spectral_convergence
from .stft import Spectrogram

__all__ = ["Spectrogram", "griffin_lim", "spectral_convergence"]
