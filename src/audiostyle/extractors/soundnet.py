"""SoundNet-8 with its original pretrained weights, on the raw waveform (Grinstein et al.)."""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

from torch import Tensor

from ..errors import AudioStyleError
from ..networks.soundnet import network
from .base import Extractor


class SoundNetExtractor(Extractor):
    """Pretrained SoundNet-8 (Aytar et al. 2016) on the raw waveform; Gram matrices of its layers.

    The waveform at 22050 Hz (times 256, as the original) goes through the network's
    convolutions; the features are the ReLU outputs of the chosen layers, before their
    max-pooling: ``conv1`` 16 channels at 11025 frames/s … ``conv7`` 1024 channels at one frame
    per 32768 samples (1.49 s). The weights are the original ones: install them once with
    ``audiostyle weights install soundnet``. The optimiser changes the samples themselves
    (the ``waveform`` domain).

    Args:
        layers: the layers whose Gram matrices are matched, each weighted 1 (``conv1`` …
            ``conv7``; from the command line ``-X layers=conv1,conv2,conv3``).
        sample_rate: must be 22050 Hz, the rate SoundNet was trained at (inputs at other
            rates are resampled).

    Output: ``{layer: (batch, channels, frames)}`` for each chosen layer.
    """

    name = "soundnet"
    default_domain = "waveform"
    #: SoundNet's statistics pull a sound's timing apart quickly (at 200 iterations and the
    #: full style, onsets 0.19 on pachelbel × cat_milk), so a transfer takes 100 iterations
    #: held by the structure term: at weight 12 pachelbel × cat_milk gains 5.4 dB at chroma
    #: 0.78 and pachelbel × man_speaking_english 1.9 dB at 0.91 (50 iterations at weight 20:
    #: 1.3 dB, short of the paper's 1.8); speech × crickets keeps only chroma 0.70 (0.86 at 50
    #: iterations) — benchmarks/RESULTS.md, frontier
    default_iterations = 200
    transfer_defaults: ClassVar[dict[str, Any]] = {"iterations": 100}
    structure_weight = 12.0

    def __init__(
        self,
        *,
        layers: tuple[str, ...] = network.LAYER_NAMES,
        sample_rate: int = network.SAMPLE_RATE,
    ) -> None:
        if sample_rate != network.SAMPLE_RATE:
            raise AudioStyleError(
                f"SoundNet works at {network.SAMPLE_RATE} Hz only (got sample_rate="
                f"{sample_rate}); leave `working_sr` out, inputs are resampled"
            )
        unknown = [layer for layer in layers if layer not in network.LAYER_NAMES]
        if unknown or not layers:
            raise AudioStyleError(
                f"SoundNet has no layer {', '.join(unknown) or '(none given)'}; choose from "
                f"{','.join(network.LAYER_NAMES)}"
            )
        super().__init__(sample_rate)
        self.net = network.pretrained()
        self.layer_weights = {layer: 1.0 for layer in network.LAYER_NAMES if layer in layers}
        self.deepest = next(reversed(self.layer_weights))

    @cached_property
    def min_samples(self) -> int:
        """Shortest input with one frame of the deepest layer clear of the zero padding
        (4.59 s for ``conv7``, 0.59 s for ``conv5``)."""
        low, high = 1, 60 * self.sample_rate
        while low < high:
            mid = (low + high) // 2
            found = bool(network.clean_frames(mid, self.deepest).any())
            low, high = (low, mid) if found else (mid + 1, high)
        return low

    def features(self, inputs: Tensor) -> dict[str, Tensor]:
        out = self.net(inputs, until=self.deepest)
        return {layer: out[layer] for layer in self.layer_weights}
