"""Several shallow random CNNs of different widths in parallel (Antognini et al., 2019)."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import AudioStyleError
from .base import Extractor, require_choice, require_range
from .infinite import ArcCosineGram
from .precision import check_precision, conv1d
from .shallow import (
    FORMS,
    MAX_KERNEL_WIDTH,
    PRECISION,
    SEED,
    ShallowExtractor,
    check_drawn_only,
    check_filters_fit,
    log_spectrogram,
    random_filters,
    spectral_min_samples,
)
from .statistics import Statistic

#: The default kernel widths, in STFT frames (46 ms to 1.5 s at 22050 Hz, hop 512).
WIDTHS = (2, 4, 8, 16, 32, 64)
#: The drawn net's filters of each default width where ``filters`` is not given.
FILTERS = (4096, 2048, 1024, 512, 256, 128)


class ShallowMultiExtractor(Extractor):
    """Random convolutions + ReLU of several widths on ``log(1 + |STFT|)``, infinitely many filters.

    Antognini, Hoffman & Weiss ("Synthesizing diverse, high-quality audio textures", 2019)
    match the Gram matrices of several single-layer random networks whose kernels span from a
    few frames to seconds, so that both the fine spectral texture and slower events are
    constrained. Each width is one layer (``conv<width>``) with its own Gram matrix, weights
    drawn as in :class:`~audiostyle.extractors.shallow.ShallowExtractor`.

    The default widths are 2, 4, …, 64 frames (46 ms to 1.5 s at 22050 Hz, hop 512), with
    filter counts halving as the width doubles (4096 … 128): every width costs the same,
    ``4096 · 2`` multiply-adds per bin and frame, 49152 in all, 1.09× the single net's
    ``4096 · 11``. (512 filters at every width cost 1.43× and matched McDermott & Simoncelli's
    statistics worse than the single net on two of three test textures; this allocation
    matched them better on all three, benchmarks/RESULTS.md.)

    By default (``form="infinite"``) each width has infinitely many filters, as the shallow
    net's; ``filters``, ``seed`` and ``precision`` act on the drawn net (``form="drawn"``)
    only: left out (None) they take :data:`FILTERS` (which fits the default widths only) and
    the shallow net's :data:`~.shallow.SEED` and :data:`~.shallow.PRECISION`, and given with
    the infinite form they are refused rather than ignored. ``widths`` acts on both forms.

    Args:
        sample_rate: analysis rate in Hz.
        n_fft: STFT size in samples.
        hop_length: STFT hop in samples.
        widths: kernel widths in STFT frames (both forms).
        filters: random filters of each width, one count per width or one for all (drawn only;
            4096, 2048, … 128 if not given).
        seed: seed of the random weights (drawn only; 0 if not given).
        precision: number format of the convolutions' products (drawn only; as the shallow
            net's, ``auto`` if not given).
        form: ``infinite`` or ``drawn`` (as the shallow net's).

    Output: ``{"conv<w>": (batch, filters, frames - w + 1)}`` for each width ``w``; infinite:
    ``{"conv": (batch, bins, frames)}``, the input, which one :class:`.ArcCosineGram` of all
    widths compares (the sum of the widths' relative distances, as the drawn net's layers).
    """

    name = "shallow-multi"
    domains = ("spectrogram", "waveform", "subbands")
    #: the shallow net's: the same Gram loss of random convolutions, on the same scale
    defaults = ShallowExtractor.defaults
    drawn_defaults: ClassVar[dict[str, Any]] = {"filters": FILTERS, "seed": SEED,
                                                 "precision": PRECISION}

    def __init__(
        self,
        *,
        sample_rate: int = 22050,
        n_fft: int = 2048,
        hop_length: int = 512,
        widths: tuple[int, ...] = WIDTHS,
        filters: int | tuple[int, ...] | None = None,
        seed: int | None = None,
        precision: str | None = None,
        form: str = "infinite",
    ) -> None:
        require_choice(self.name, "form", form, FORMS)
        check_drawn_only(self.name, form, filters=filters, seed=seed, precision=precision)
        seed = SEED if seed is None else seed
        precision = PRECISION if precision is None else precision
        check_precision(self.name, precision)
        require_range(self.name, sample_rate=sample_rate, hop_length=hop_length)
        require_range(self.name, MAX_KERNEL_WIDTH,
                      **{f"widths[{i}]": w for i, w in enumerate(widths)})
        if not widths or len(set(widths)) != len(widths):
            raise AudioStyleError(f"Extractor {self.name!r}: widths must be distinct, got "
                                  f"{widths}")
        if form == "drawn":
            counts = filter_counts(self.name, FILTERS if filters is None else filters, widths)
        super().__init__(sample_rate, log_spectrogram(self.name, n_fft, hop_length))
        self.form = form
        self.widths = tuple(sorted(widths))
        if form == "drawn":
            check_filters_fit(self.name, self.spectrogram.bins,
                              list(zip(counts, widths, strict=True)))
            generator = torch.Generator().manual_seed(seed)
            for width, count in sorted(zip(widths, counts, strict=True)):
                weight = random_filters(self.spectrogram.bins, count, width, generator)
                self.register_buffer(f"weight{width}", weight, persistent=False)
        self.layer_weights = ({f"conv{width}": 1.0 for width in self.widths}
                              if form == "drawn" else {"conv": 1.0})
        self.frame_rate = sample_rate / hop_length
        self.precision = precision

    @property
    def min_samples(self) -> int:
        return spectral_min_samples(self.spectrogram, self.widths[-1])

    def statistic_of(self, layer: str) -> Statistic:
        return ArcCosineGram(self.widths) if self.form == "infinite" else self.statistic

    def features(self, inputs: Tensor) -> dict[str, Tensor]:
        if self.form == "infinite":
            return {"conv": inputs}
        return {f"conv{w}": F.relu(conv1d(inputs, getattr(self, f"weight{w}"), self.precision))
                for w in self.widths}


def filter_counts(extractor: str, filters: int | tuple[int, ...], widths: tuple[int, ...]
                  ) -> tuple[int, ...]:
    """The drawn net's filter count of each width: ``filters``, one count per width or one for
    all, checked."""
    counts = (filters,) if isinstance(filters, int) else tuple(filters)
    counts = counts * len(widths) if len(counts) == 1 else counts
    require_range(extractor, **{f"filters[{i}]": f for i, f in enumerate(counts)})
    if len(counts) != len(widths):
        raise AudioStyleError(f"Extractor {extractor!r}: {len(counts)} filter counts for "
                              f"{len(widths)} widths")
    return counts
