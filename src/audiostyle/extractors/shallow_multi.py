"""Several shallow random CNNs of different widths in parallel (Antognini et al., 2019)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import AudioStyleError
from .base import Extractor, require_positive
from .shallow import log_spectrogram, random_filters, spectral_min_samples


class ShallowMultiExtractor(Extractor):
    """Random 1-D convolutions of several kernel widths on ``log(1 + |STFT|)``, each + ReLU.

    Antognini, Hoffman & Weiss ("Synthesizing diverse, high-quality audio textures", 2019)
    match the Gram matrices of several single-layer random networks whose kernels span from a
    few frames to seconds, so that both the fine spectral texture and slower events are
    constrained. Each width is one layer (``conv<width>``) with its own Gram matrix, weights
    drawn as in :class:`~audiostyle.extractors.shallow.ShallowExtractor`.

    The default, 512 filters at each of the widths 2, 4, …, 64 frames (46 ms to 1.5 s at
    22050 Hz, hop 512), costs ``512 · (2 + … + 64) = 64512`` multiply-adds per bin and frame,
    1.43× the single net's ``4096 · 11``; the Gram matrices are 8× smaller.

    Args:
        sample_rate: analysis rate in Hz.
        n_fft: STFT size in samples.
        hop_length: STFT hop in samples.
        widths: kernel widths in STFT frames.
        filters: random filters per width.
        seed: seed of the random weights.

    Output: ``{"conv<w>": (batch, filters, frames - w + 1)}`` for each width ``w``.
    """

    name = "shallow-multi"
    default_domain = "spectrogram"
    default_iterations = 120

    def __init__(
        self,
        *,
        sample_rate: int = 22050,
        n_fft: int = 2048,
        hop_length: int = 512,
        widths: tuple[int, ...] = (2, 4, 8, 16, 32, 64),
        filters: int = 512,
        seed: int = 0,
    ) -> None:
        require_positive(self.name, sample_rate=sample_rate, n_fft=n_fft, hop_length=hop_length,
                         filters=filters, **{f"widths[{i}]": w for i, w in enumerate(widths)})
        if not widths or len(set(widths)) != len(widths):
            raise AudioStyleError(f"Extractor {self.name!r}: widths must be distinct, got "
                                  f"{widths}")
        super().__init__(sample_rate, log_spectrogram(self.name, n_fft, hop_length))
        generator = torch.Generator().manual_seed(seed)
        self.widths = tuple(sorted(widths))
        for width in self.widths:
            weight = random_filters(self.spectrogram.bins, filters, width, generator)
            self.register_buffer(f"weight{width}", weight, persistent=False)
        self.layer_weights = {f"conv{width}": 1.0 for width in self.widths}
        self.frame_rate = sample_rate / hop_length

    @property
    def min_samples(self) -> int:
        return spectral_min_samples(self.spectrogram, self.widths[-1])

    def features(self, inputs: Tensor) -> dict[str, Tensor]:
        return {f"conv{w}": F.relu(F.conv1d(inputs, getattr(self, f"weight{w}")))
                for w in self.widths}
