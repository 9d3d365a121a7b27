"""The extractor contract shared by every feature extractor."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from .._util import did_you_mean
from ..dsp import Spectrogram
from ..errors import AudioStyleError
from .defaults import ExtractorDefaults
from .statistics import Gram, Statistic


def require_range(extractor: str, high: int | None = None, **options: int) -> None:
    """Raise :class:`AudioStyleError` for the first option (a size, a count) below 1 or, with
    ``high``, above it, naming the option and its valid range."""
    for key, value in options.items():
        if value < 1 or (high is not None and value > high):
            bound = "at least 1" if high is None else f"between 1 and {high}"
            raise AudioStyleError(
                f"Extractor {extractor!r}: option {key}={value} must be {bound}"
            )


def require_choice(extractor: str, key: str, value: str, choices: tuple[str, ...]) -> None:
    """Raise :class:`AudioStyleError` unless option ``key``'s ``value`` is one of ``choices``."""
    if value not in choices:
        raise AudioStyleError(
            f"Extractor {extractor!r}: option {key}={value!r} must be one of "
            f"{', '.join(choices)}.{did_you_mean(value, choices)}"
        )


class Extractor(nn.Module, ABC):
    """Maps a waveform ``(batch, time)`` at :attr:`sample_rate` Hz to named feature maps.

    The work is split in two so that optimisation can run on either side of the front end:

    - :meth:`analyse`: waveform → the network's input (the waveform itself for raw-waveform
      extractors; ``log(1 + |STFT|)`` ``(batch, bins, frames)`` for spectral ones);
    - :meth:`features`: input → ``{layer: (batch, channels, frames)}`` (or, for extractors
      whose outputs are statistics already, ``{class: (batch, ...)}``).

    Spectral extractors set :attr:`spectrogram`; their :meth:`analyse` is exactly that
    spectrogram, which is what makes the ``spectrogram`` optimisation domain (optimise
    ``log(1 + |STFT|)``, then Griffin-Lim) available for them.

    :attr:`statistic` says how outputs are summarised (Gram matrices by default; one layer
    may have its own, :meth:`statistic_of`) and :attr:`layer_weights` how the per-layer
    distances are weighted. Subclasses take their options as keyword arguments with defaults;
    the registry exposes them to the CLI.
    """

    #: Registry name, e.g. ``"shallow"``.
    name: ClassVar[str]
    #: How each output is summarised and compared.
    statistic: ClassVar[Statistic] = Gram()
    #: Optimisation domains it supports: ``("spectrogram", "waveform", "subbands")`` for
    #: spectral extractors (those that set :attr:`spectrogram`), ``("waveform", "subbands")``
    #: for the others (the subband domain makes a waveform, so every extractor takes it).
    domains: ClassVar[tuple[str, ...]] = ("waveform", "subbands")
    #: What a synthesis takes from this extractor where its settings say nothing (domain,
    #: iterations, refinement, strength, the structure term's weight and slack), one value
    #: chosen on the trade-off frontier: see :mod:`audiostyle.extractors.defaults`.
    defaults: ClassVar[ExtractorDefaults] = ExtractorDefaults.of("waveform", 100)
    #: Options that act on a drawn random net only (``form="drawn"``; their default is None,
    #: "not given") → the value the drawn net then takes: the registry converts command-line
    #: text to its type, and the option lists show it as acting with ``form=drawn`` only.
    drawn_defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, sample_rate: int, spectrogram: Spectrogram | None = None) -> None:
        super().__init__()
        if (spectrogram is not None) != ("spectrogram" in self.domains):
            raise TypeError(f"{type(self).__name__}: a spectrogram is given exactly when "
                            "'spectrogram' is one of its domains")
        self.sample_rate = int(sample_rate)
        self.spectrogram = spectrogram
        self.layer_weights: dict[str, float] = {}
        #: Frames per second of every output's last axis when all outputs are maps over time
        #: (what the rhythm term needs); None otherwise.
        self.frame_rate: float | None = None

    def statistic_of(self, layer: str) -> Statistic:
        """How output ``layer`` is summarised and compared: :attr:`statistic` unless the
        extractor says otherwise for that layer."""
        return self.statistic

    @property
    def cost_grows_with_style(self) -> bool:
        """Whether an iteration's cost grows with the style's length (a statistic that compares
        frames with the style's: :attr:`Statistic.grows_with_target`)."""
        return any(self.statistic_of(layer).grows_with_target for layer in self.layer_weights)

    @property
    def min_samples(self) -> int:
        """Shortest input in samples (at :attr:`sample_rate`) giving one feature frame."""
        return 1

    def noise(self, like: Tensor, length: int, generator: torch.Generator) -> Tensor:
        """Starting point of a synthesis from noise, ``(1, length)`` on the CPU (one channel;
        called once per channel): white noise at the RMS of ``like`` ``(channels, time)`` (a
        chunk's worth of the content, or of the style), drawn from ``generator``."""
        level = float(like.square().mean().sqrt().clamp_min(1e-4))
        return level * torch.randn(1, length, generator=generator)

    def spectral_scale(self, wave: Tensor) -> Tensor | None:
        """Amplitude per ``rfft`` bin (broadcasting to ``(batch, time // 2 + 1)``) by which the
        waveform domain preconditions raw samples (``x = irfft(scale · W)``, optimising ``W``),
        computed from the starting waveform ``(batch, time)``; None (the default): optimise
        the samples. Not used by spectral extractors, which are preconditioned through their
        STFT."""
        return None

    def analyse(self, wave: Tensor) -> Tensor:
        """Waveform ``(batch, time)`` → the input of :meth:`features`."""
        return self.spectrogram(wave) if self.spectrogram is not None else wave

    @abstractmethod
    def features(self, inputs: Tensor) -> dict[str, Tensor]:
        """Output of :meth:`analyse` → named feature maps."""

    def forward(self, wave: Tensor) -> dict[str, Tensor]:
        """Waveform ``(batch, time)`` → named feature maps."""
        return self.features(self.analyse(wave))


def shortest_input(net: Extractor, lags: int = 0) -> int:
    """Shortest input in samples: one feature frame, or with a rhythm term over ``lags``
    frames, ``2·lags + 1`` of them (its autocorrelation averages over at least half)."""
    if not lags:
        return net.min_samples
    return net.min_samples + math.ceil(2 * lags * net.sample_rate / net.frame_rate)


def check_length(samples: int, net: Extractor, name: str, lags: int = 0) -> None:
    """Refuse ``samples`` at the extractor's rate too few for one feature frame, or for a
    rhythm term over ``lags`` frames (:func:`shortest_input`)."""
    if samples < net.min_samples:
        count = f"{samples} sample{'s' if samples != 1 else ''}"
        raise AudioStyleError(
            f"{name}: too short for the {net.name} extractor: {samples / net.sample_rate:.3f} s "
            f"({count} at {net.sample_rate} Hz); it needs at least "
            f"{net.min_samples / net.sample_rate:.3f} s ({net.min_samples} samples)"
        )
    if samples < shortest_input(net, lags):
        raise AudioStyleError(
            f"{name}: too short for the rhythm term over {lags / net.frame_rate:.2f} s: "
            f"{samples / net.sample_rate:.2f} s; it needs at least "
            f"{shortest_input(net, lags) / net.sample_rate:.2f} s (lower rhythm_seconds)"
        )
