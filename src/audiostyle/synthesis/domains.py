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
  log compression. Other extractors may give a per-frequency scale ``D``
  (:meth:`~audiostyle.extractors.Extractor.spectral_scale`), with which the signal is
  optimised as ``x = irfft(D ⊙ W)``; the rest optimise the samples directly. The samples
  are what is written, so the loss here also keeps them under the output's peak ceiling
  (``headroom_excess``): scaling the result down afterwards would move every level-dependent
  statistic away from the style's (docs/guide.md, *Levels and clipping*).

- ``subbands``: the optimiser changes the log-envelopes of the start's cochlear subbands and
  keeps their fine structure (:class:`SubbandDomain`), as McDermott & Simoncelli's toolbox
  does: the start's pitch stays where it was while every band's envelope takes the texture.
  Works with every extractor (the result is a waveform); the headroom term applies too.

A domain is built around its starting waveform and holds the starting value of the optimised
tensor in :attr:`Domain.initial`; :meth:`Domain.signal` says what the loss terms see of an
optimised tensor, and :meth:`Domain.objective` makes a loss a function of that tensor, adding
the domain's own terms (the headroom term).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch
from torch import Tensor

from ..dsp import griffin_lim
from ..dsp.filterbanks import erb_cos_filters
from ..errors import AudioStyleError
from ..extractors import Extractor
from ..io.audio import PEAK_CEILING_DB
from .losses import Headroom
from .terms import LossTerms, Signal, Weighted

DOMAINS = ("spectrogram", "waveform", "subbands")

#: Exponent of the waveform domain's per-bin preconditioner ``(1 + |STFT|)^p``.
PRECONDITIONER_EXPONENT = 0.5
#: Rate in Hz of the subband domain's optimised log-envelopes.
SUBBAND_ENVELOPE_RATE = 1000.0
#: Floor of the subband domain's starting envelopes, in dB below the loudest subband's peak.
#: A band's gradient scales with its envelope: at −80 dB the bands of a content's pauses (speech
#: with digital silence, espeak-ng's) hardly moved and McDermott's transfer stalled; at −40 dB
#: the texture fills them (docs/research.md, *Keeping the melody*).
ENVELOPE_FLOOR_DB = -40.0
#: Largest log-envelope of the subband domain (e² ≈ 7.4, far above full scale): keeps a long
#: line-search step from overflowing.
LOG_ENVELOPE_CEILING = 2.0
#: Griffin-Lim iterations of a snapshot along the way (a preview: from the content's phase it
#: is already close to the full recovery, for a fraction of its cost, which at a snapshot every
#: eighth of a short job's iterations was most of a studio preview's time).
PREVIEW_GRIFFIN_LIM_ITERATIONS = 16
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
    def signal(self, x: Tensor) -> Signal:
        """Optimised tensor → the sound as the loss terms see it (the extractor's input, and
        the waveform where this domain makes one)."""

    @abstractmethod
    def decode(self, x: Tensor, reference: Tensor | None = None, *,
               preview: bool = False) -> Tensor:
        """Optimised tensor → waveform ``(batch, length)``. ``reference`` is a waveform whose
        phase may seed phase recovery (None: random phase from the global seed); ``preview``:
        a cheaper phase recovery where there is one (snapshots along the way)."""

    def terms(self) -> list[Weighted]:
        """The loss terms this domain adds to every loss it optimises (none)."""
        return []

    def objective(self, loss: LossTerms) -> Objective:
        """What the optimiser minimises in this domain: ``loss`` with this domain's own terms,
        of the signal each optimised tensor makes."""
        return Objective(self, LossTerms([*loss.terms, *self.terms()]))


@dataclass(frozen=True)
class Objective:
    """A loss as a function of a domain's optimised tensor: ``loss(domain.signal(x))``.
    :attr:`loss` holds the domain's terms too (read :attr:`LossTerms.last` for each term)."""

    domain: Domain
    loss: LossTerms

    def __call__(self, x: Tensor) -> Tensor:
        return self.loss(self.domain.signal(x))


class _SoundDomain(Domain):
    """A domain whose optimised tensor makes the sound directly (no phase recovery): the loss
    sees that sound and keeps it under the output's peak ceiling (the headroom term)."""

    def signal(self, x: Tensor) -> Signal:
        wave = self.decode(x)
        return Signal(self.extractor.analyse(wave), wave, extractor=self.extractor)

    def terms(self) -> list[Weighted]:
        """The headroom term."""
        return sound_terms()


def sound_terms() -> list[Weighted]:
    """The loss terms of every domain whose optimised tensor is the sound itself (and of a
    style model's output): the headroom term, which keeps the sound under the output's peak
    ceiling."""
    return [Weighted("headroom", HEADROOM_WEIGHT, Headroom(10.0 ** (PEAK_CEILING_DB / 20.0)))]


class WaveformDomain(_SoundDomain):
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

    def decode(self, x: Tensor, reference: Tensor | None = None, *,
               preview: bool = False) -> Tensor:
        if self.scale is None:
            return x
        spec = torch.view_as_complex(x) * self.scale
        if self.spectrogram is None:
            return torch.fft.irfft(spec, n=self.length)
        return self.spectrogram.istft(spec, self.length)


class SubbandDomain(_SoundDomain):
    """Optimise the envelopes of the start's cochlear subbands; keep their fine structure.

    The start is split into the subbands of McDermott & Simoncelli's ERB filterbank (30
    bands, 20 Hz–10 kHz, plus the two ends) through the *squared* responses, which sum to 1, so
    that the subbands sum to the start. Each subband is its envelope times its fine structure,
    ``a_k(t)·cos φ_k(t)`` (analytic signal). The optimiser changes ``h_k = log a_k`` on a grid
    of :data:`SUBBAND_ENVELOPE_RATE` Hz (linearly interpolated to the full rate) and the sound
    is ``Σ_k exp(h_k(t))·cos φ_k(t)``. As in the McDermott toolbox, which imposes the statistics
    on the envelopes and multiplies them back onto the fine structure, the start's phase — and
    with it the pitch that the resolved low subbands carry — is kept while the texture
    reshapes every band's envelope. Starting envelopes are floored at
    :data:`ENVELOPE_FLOOR_DB` below the loudest, so that quiet bands can grow.
    """

    name = "subbands"
    adam_learning_rate = 0.05

    def __init__(self, extractor: Extractor, start: Tensor) -> None:
        super().__init__(extractor, start)
        length = self.length
        squared = erb_cos_filters(length, extractor.sample_rate)[0] ** 2  # (bands, bins)
        bins = squared.shape[1]
        one_sided = torch.full((bins,), 2.0, dtype=torch.float64)
        one_sided[0] = 1.0
        if length % 2 == 0:
            one_sided[-1] = 1.0
        weights = (torch.from_numpy(squared) * one_sided).to(start.device)
        spectrum = torch.fft.rfft(start.double()).unsqueeze(-2) * weights  # (batch, bands, bins)
        analytic = torch.fft.ifft(spectrum, n=length)  # zero above Nyquist: analytic signal
        self.carrier = torch.cos(analytic.angle()).to(start.dtype)  # (batch, bands, time)
        frames = max(2, round(length * SUBBAND_ENVELOPE_RATE / extractor.sample_rate) + 1)
        envelope = torch.nn.functional.adaptive_avg_pool1d(analytic.abs(), frames)
        floor = float(envelope.amax()) * 10 ** (ENVELOPE_FLOOR_DB / 20)
        self.initial = envelope.clamp_min(max(floor, 1e-12)).log().to(start.dtype)

    def decode(self, x: Tensor, reference: Tensor | None = None, *,
               preview: bool = False) -> Tensor:
        log_envelope = torch.nn.functional.interpolate(x, size=self.length, mode="linear",
                                                       align_corners=True)
        return (log_envelope.clamp_max(LOG_ENVELOPE_CEILING).exp() * self.carrier).sum(-2)




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

    def signal(self, x: Tensor) -> Signal:
        return Signal(x, extractor=self.extractor)

    def decode(self, x: Tensor, reference: Tensor | None = None, *,
               preview: bool = False) -> Tensor:
        spectrogram = self.extractor.spectrogram
        magnitude = torch.expm1(x.clamp_min(0))
        phase = None if reference is None else torch.angle(spectrogram.stft(reference))
        iterations = self.griffin_lim_iterations
        if preview:
            iterations = min(iterations, PREVIEW_GRIFFIN_LIM_ITERATIONS)
        return griffin_lim(magnitude, spectrogram, length=self.length, iterations=iterations,
                           phase=phase)


def make_domain(
    name: str, extractor: Extractor, start: Tensor, *, griffin_lim_iterations: int = 100
) -> Domain:
    """The domain called ``name`` for ``extractor``, starting at waveform ``start``."""
    if name == "waveform":
        return WaveformDomain(extractor, start)
    if name == "spectrogram":
        return SpectrogramDomain(extractor, start, griffin_lim_iterations)
    if name == "subbands":
        return SubbandDomain(extractor, start)
    raise AudioStyleError(f"Unknown domain {name!r}; use `domain` {' or '.join(DOMAINS)}")
