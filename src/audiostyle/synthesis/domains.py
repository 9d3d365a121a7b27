"""Optimisation domains: what tensor the optimiser changes, and how it becomes sound.

- ``spectrogram``: the optimiser changes ``log(1 + |STFT|)`` of a spectral extractor; the
  magnitude is then turned into a waveform with fast Griffin-Lim, starting from the phase of a
  reference signal (the content) when there is one. This is the paper's way (Grinstein et al.,
  after Ulyanov & Lebedev); it converges fast, but the optimised magnitude is not the
  magnitude of any signal, so Griffin-Lim loses part of the match.
- ``waveform``: the optimiser changes the signal itself, so what is optimised is what is heard.
  For spectral extractors the samples are parametrised through their STFT,
  ``x = iSTFT(D ⊙ W)`` with a fixed per-bin scale ``D = (1 + |STFT(x₀)|)^½`` from the starting
  signal: a diagonal preconditioner that makes steps in ``W`` act on all bins alike after the
  log compression (about twice as fast per iteration as optimising raw samples, see
  benchmarks/RESULTS.md). Other extractors may give a per-frequency scale ``D``
  (:meth:`~audiostyle.extractors.Extractor.spectral_scale`), with which the signal is
  optimised as ``x = irfft(D ⊙ W)``; the rest optimise the samples directly. The samples
  are what is written, so the loss here also keeps them under the output's peak ceiling
  (``headroom_excess``): scaling the result down afterwards would move every level-dependent
  statistic away from the style's (on the demo, from 29 dB statistics SNR to 5 dB).

A domain is built around its starting waveform and holds the starting value of the optimised
tensor in :attr:`Domain.initial`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import torch
from torch import Tensor

from ..dsp import griffin_lim
from ..errors import AudioStyleError
from ..extractors import Extractor
from ..io.audio import PEAK_CEILING_DB
from .losses import headroom_excess

DOMAINS = ("spectrogram", "waveform")

#: Exponent of the waveform domain's per-bin preconditioner ``(1 + |STFT|)^p``.
PRECONDITIONER_EXPONENT = 0.5
#: Weight of the waveform domain's headroom term (relative energy above the peak ceiling).
HEADROOM_WEIGHT = 10.0


class Domain(ABC):
    """Maps between waveforms ``(batch, time)`` and the optimised tensor.

    Args:
        extractor: the extractor the loss uses.
        start: starting waveform ``(batch, time)``; sets the output length.
    """

    name: str
    #: A sensible Adam step in the units of the optimised tensor.
    adam_learning_rate: float

    def __init__(self, extractor: Extractor, start: Tensor) -> None:
        self.extractor = extractor
        self.length = start.shape[-1]

    #: Starting value of the optimised tensor.
    initial: Tensor

    @abstractmethod
    def feature_input(self, x: Tensor) -> Tensor:
        """Optimised tensor → what the extractor's :meth:`~Extractor.features` takes (what
        :meth:`~Extractor.analyse` makes of a waveform)."""

    @abstractmethod
    def decode(self, x: Tensor, reference: Tensor | None = None) -> Tensor:
        """Optimised tensor → waveform ``(batch, length)``. ``reference`` is a waveform whose
        phase may seed phase recovery (None: random phase from the global seed)."""

    def objective(self, loss: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
        """What the optimiser minimises at ``x``: ``loss`` of the extractor's input."""
        return loss(self.feature_input(x))


class WaveformDomain(Domain):
    """Optimise the waveform (through a preconditioned STFT for spectral extractors)."""

    name = "waveform"

    def __init__(self, extractor: Extractor, start: Tensor) -> None:
        super().__init__(extractor, start)
        self.spectrogram = extractor.spectrogram
        self.scale = None
        if self.spectrogram is not None:
            spec = self.spectrogram.stft(start)
            self.scale = (1 + spec.abs()) ** PRECONDITIONER_EXPONENT
        elif (scale := extractor.spectral_scale(start)) is not None:
            spec, self.scale = torch.fft.rfft(start), scale
        if self.scale is None:
            self.initial = start
            self.adam_learning_rate = 1e-3
            return
        self.initial = torch.view_as_real(spec / self.scale).contiguous()
        self.adam_learning_rate = 0.01

    def _wave(self, x: Tensor) -> Tensor:
        if self.scale is None:
            return x
        spec = torch.view_as_complex(x) * self.scale
        if self.spectrogram is None:
            return torch.fft.irfft(spec, n=self.length)
        return self.spectrogram.istft(spec, self.length)

    def feature_input(self, x: Tensor) -> Tensor:
        return self.extractor.analyse(self._wave(x))

    def decode(self, x: Tensor, reference: Tensor | None = None) -> Tensor:
        return self._wave(x)

    def objective(self, loss: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
        """``loss`` plus the headroom term, on one synthesis of the waveform."""
        wave = self._wave(x)
        headroom = headroom_excess(wave, 10.0 ** (PEAK_CEILING_DB / 20.0))
        return loss(self.extractor.analyse(wave)) + HEADROOM_WEIGHT * headroom


class SpectrogramDomain(Domain):
    """Optimise ``log(1 + |STFT|)``; fast Griffin-Lim back to a waveform.

    Args:
        griffin_lim_iterations: phase recovery steps used by :meth:`decode`.
    """

    name = "spectrogram"
    adam_learning_rate = 0.02

    def __init__(self, extractor: Extractor, start: Tensor, griffin_lim_iterations: int = 100):
        super().__init__(extractor, start)
        if extractor.spectrogram is None:
            raise AudioStyleError(
                f"Extractor {extractor.name!r} works on the waveform only; use `domain` waveform"
            )
        self.griffin_lim_iterations = griffin_lim_iterations
        self.initial = extractor.analyse(start)

    def feature_input(self, x: Tensor) -> Tensor:
        return x

    def decode(self, x: Tensor, reference: Tensor | None = None) -> Tensor:
        spectrogram = self.extractor.spectrogram
        magnitude = torch.expm1(x.clamp_min(0))
        phase = None if reference is None else torch.angle(spectrogram.stft(reference))
        return griffin_lim(
            magnitude, spectrogram, length=self.length,
            iterations=self.griffin_lim_iterations, phase=phase,
        )


def make_domain(
    name: str, extractor: Extractor, start: Tensor, *, griffin_lim_iterations: int = 100
) -> Domain:
    """The domain called ``name`` for ``extractor``, starting at waveform ``start``."""
    if name == "waveform":
        return WaveformDomain(extractor, start)
    if name == "spectrogram":
        return SpectrogramDomain(extractor, start, griffin_lim_iterations)
    raise AudioStyleError(f"Unknown domain {name!r}; use `domain` {' or '.join(DOMAINS)}")
