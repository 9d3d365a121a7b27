"""Shallow random CNN on the log-magnitude spectrogram (Ulyanov & Lebedev, 2016)."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from .._util import check_memory
from ..dsp import Spectrogram
from ..errors import AudioStyleError
from .base import Extractor, require_choice, require_range
from .defaults import ExtractorDefaults, ModelPlan
from .infinite import ArcCosineGram
from .precision import check_precision, conv1d
from .statistics import Statistic

#: Widest kernel of the random nets, in STFT frames: 1024 frames span 23.8 s at the default
#: rate and hop, more than a default chunk (20 s), so a wider kernel sees little or nothing.
MAX_KERNEL_WIDTH = 1024
#: Largest STFT of their front end, in samples (3.0 s at 22050 Hz; the paper's is 2048).
MAX_N_FFT = 65536
#: What the random nets' ``form`` option takes: the limit of infinitely many filters,
#: computed exactly (:mod:`.infinite`), or ``filters`` filters drawn from ``seed``.
FORMS = ("infinite", "drawn")
#: The drawn shallow net's filters where ``filters`` is not given (the paper's).
FILTERS = 4096
#: The drawn random nets' seed of their weights where ``seed`` is not given.
SEED = 0
#: The drawn random nets' number format where ``precision`` is not given
#: (:data:`.precision.PRECISIONS`).
PRECISION = "auto"


class ShallowExtractor(Extractor):
    """A random 1-D convolution + ReLU on ``log(1 + |STFT|)`` with infinitely many filters.

    The frequency bins are the input channels: ``n_fft // 2 + 1`` → ``filters`` channels with
    kernels ``kernel_width`` frames wide, no bias, no padding. Weights are Gaussian with
    Ulyanov's scale ``std = sqrt(2) · sqrt(2 / ((bins + filters) · kernel_width))``, drawn on the
    CPU from ``seed`` so that every machine gets the same network.

    By default (``form="infinite"``) the net has infinitely many filters: its Gram loss is the
    limit that a draw of ``filters`` filters approximates, computed exactly and ~20× faster
    (:mod:`.infinite`); the output is then the convolution's input. ``form="drawn"`` draws the
    filters. ``filters``, ``seed`` and ``precision`` act on the drawn net only: left out (None)
    they take :data:`FILTERS`, :data:`SEED` and :data:`PRECISION`, and given with the infinite
    form they are refused (:func:`check_drawn_only`) rather than ignored.

    Args:
        sample_rate: analysis rate in Hz (the paper used 22050).
        n_fft: STFT size in samples.
        hop_length: STFT hop in samples.
        filters: number of random filters (drawn only; 4096 if not given).
        kernel_width: filter width in STFT frames (both forms).
        seed: seed of the random weights (drawn only; 0 if not given).
        precision: number format of the convolution's products (drawn only; ``auto`` if not
            given: bfloat16 where the CPU multiplies it natively, see :mod:`.precision`;
            ``float32``; ``bfloat16``).
        form: ``infinite`` or ``drawn`` (:data:`FORMS`).

    Output: ``{"conv": (batch, filters, frames - kernel_width + 1)}``; infinite:
    ``{"conv": (batch, bins, frames)}``, the input, which :class:`.ArcCosineGram` compares.
    """

    name = "shallow"
    domains = ("spectrogram", "waveform", "subbands")
    #: 120 iterations reach the paper's −40 dB on the demo (benchmarks/RESULTS.md, *shallow*);
    #: the structure term's weight is small because the Gram loss falls to ~1e-3 of its start
    #: (benchmarks/RESULTS.md, *frontier*); 0.025, not the drawn net's 0.015, because the
    #: exact infinite form goes further towards the style on the same path (docs/research.md,
    #: *Speed*); a style model needs a weight of its own: at the transfer's it gives up the
    #: content (docs/research.md, *Style models*)
    defaults = ExtractorDefaults.of("spectrogram", 120, structure_weight=0.025,
                                    model=ModelPlan(strength=0.5, structure_weight=1.0))
    drawn_defaults: ClassVar[dict[str, Any]] = {"filters": FILTERS, "seed": SEED,
                                                 "precision": PRECISION}

    def __init__(
        self,
        *,
        sample_rate: int = 22050,
        n_fft: int = 2048,
        hop_length: int = 512,
        filters: int | None = None,
        kernel_width: int = 11,
        seed: int | None = None,
        precision: str | None = None,
        form: str = "infinite",
    ) -> None:
        require_choice(self.name, "form", form, FORMS)
        check_drawn_only(self.name, form, filters=filters, seed=seed, precision=precision)
        filters = FILTERS if filters is None else filters
        seed = SEED if seed is None else seed
        precision = PRECISION if precision is None else precision
        require_range(self.name, sample_rate=sample_rate, hop_length=hop_length,
                      filters=filters)
        check_precision(self.name, precision)
        require_range(self.name, MAX_KERNEL_WIDTH, kernel_width=kernel_width)
        super().__init__(sample_rate, log_spectrogram(self.name, n_fft, hop_length))
        self.form = form
        self.kernel_width = kernel_width
        if form == "drawn":
            check_filters_fit(self.name, self.spectrogram.bins, [(filters, kernel_width)])
            generator = torch.Generator().manual_seed(seed)
            weight = random_filters(self.spectrogram.bins, filters, kernel_width, generator)
            self.register_buffer("weight", weight, persistent=False)
        self.layer_weights = {"conv": 1.0}
        self.frame_rate = sample_rate / hop_length
        self.precision = precision

    @property
    def min_samples(self) -> int:
        return spectral_min_samples(self.spectrogram, self.kernel_width)

    def statistic_of(self, layer: str) -> Statistic:
        return ArcCosineGram((self.kernel_width,)) if self.form == "infinite" else self.statistic

    def features(self, inputs: Tensor) -> dict[str, Tensor]:
        if self.form == "infinite":
            return {"conv": inputs}
        return {"conv": F.relu(conv1d(inputs, self.weight, self.precision))}


def check_drawn_only(extractor: str, form: str, **options: object) -> None:
    """Refuse drawn-only ``options`` (``filters``, ``seed``, ``precision``) given, not None,
    with ``form="infinite"``, which would ignore them: one line naming them and the fix."""
    given = [key for key, value in options.items() if value is not None]
    if form == "infinite" and given:
        option, verb, them = ("option", "acts", "it") if len(given) == 1 else (
            "options", "act", "them")
        raise AudioStyleError(
            f"Extractor {extractor!r}: {option} {', '.join(given)} {verb} on drawn nets only; add "
            f"form=drawn to use {them} (form=infinite, the default, has infinitely many filters)"
        )


def log_spectrogram(extractor: str, n_fft: int, hop_length: int) -> Spectrogram:
    """The spectral nets' front end, ``log(1 + |STFT|)``; refuses sizes above
    :data:`MAX_N_FFT` and hops the inverse cannot take."""
    require_range(extractor, MAX_N_FFT, n_fft=n_fft)
    if hop_length > n_fft // 2:  # the Hann windows must overlap for the inverse STFT
        raise AudioStyleError(
            f"Extractor {extractor!r}: hop_length={hop_length} must be at most n_fft / 2 "
            f"= {n_fft // 2}"
        )
    return Spectrogram(n_fft, hop_length)


def random_filters(bins: int, filters: int, width: int, generator: torch.Generator) -> Tensor:
    """Gaussian kernels ``(filters, bins, width)`` with Ulyanov's scale
    ``std = sqrt(2) · sqrt(2 / ((bins + filters) · width))``, drawn from ``generator``."""
    std = math.sqrt(2) * math.sqrt(2 / ((bins + filters) * width))
    return torch.randn(filters, bins, width, generator=generator).mul_(std)


def check_filters_fit(extractor: str, bins: int, layers: list[tuple[int, int]]) -> None:
    """Refuse random weights, ``(filters, kernel width)`` per layer over ``bins`` inputs, that
    would not fit in this machine's memory (float32), before drawing them."""
    need = 4 * bins * sum(count * width for count, width in layers)
    check_memory(need, f"Extractor {extractor!r}: its random weights",
                 lambda have: "use fewer filters or narrower kernels")


def spectral_min_samples(spectrogram: Spectrogram, width: int) -> int:
    """Shortest input giving one frame of a ``width``-frame convolution (and more than the
    STFT's reflected half window), in samples."""
    return max((width - 1) * spectrogram.hop_length, spectrogram.n_fft // 2 + 1)
