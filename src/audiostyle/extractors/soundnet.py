"""SoundNet-8 with its original pretrained weights, on the raw waveform (Grinstein et al.)."""

from __future__ import annotations

from functools import cached_property

import torch
from torch import Tensor

from ..errors import AudioStyleError
from ..networks.soundnet import network
from .base import Extractor
from .defaults import ExtractorDefaults

#: SoundNet hears little below this (Hz; its gradient there is about half as large), so the
#: optimiser filled the band with rumble that a constant-Q chroma hears as pitch
#: (docs/research.md, *Keeping the melody*). The waveform domain changes this band more slowly.
QUIET_BELOW_HZ = 120.0
#: The waveform domain's step scale at 0 Hz, relative to the band above :data:`QUIET_BELOW_HZ`.
QUIET_SCALE = 0.01


class SoundNetExtractor(Extractor):
    """Pretrained SoundNet-8 (Aytar et al. 2016) on the raw waveform; Gram matrices of its layers.

    The waveform at 22050 Hz (times 256, as the original) goes through the network's
    convolutions; the features are the ReLU outputs of the chosen layers, before their
    max-pooling: ``conv1`` 16 channels at 11025 frames/s … ``conv7`` 1024 channels at one frame
    per 32768 samples (1.49 s). The weights are the original ones: install them once with
    ``audiostyle weights install soundnet``. The optimiser changes the samples themselves
    (the ``waveform`` domain), below 120 Hz more slowly (:meth:`spectral_scale`).

    Args:
        layers: the layers whose Gram matrices are matched, each weighted 1 (``conv1`` …
            ``conv7``; from the command line ``-X layers=conv1,conv2,conv3``).
        sample_rate: must be 22050 Hz, the rate SoundNet was trained at (inputs at other
            rates are resampled).

    Output: ``{layer: (batch, channels, frames)}`` for each chosen layer.
    """

    name = "soundnet"
    #: SoundNet's statistics pull a sound's timing apart quickly, so a transfer takes half a
    #: texture's iterations, held by a strong structure term; they also fill a voice's pauses
    #: with a steady texture that buries the soft syllables' pitch, so the term's loudness
    #: slack is narrower than the other extractors'. Its strength is 0.75: it keeps so much of
    #: the content that a quarter of the term holds it while moving further (benchmarks/
    #: RESULTS.md, *frontier*; docs/research.md, *Keeping the melody*)
    defaults = ExtractorDefaults.of("waveform", 200, transfer_iterations=100, strength=0.75,
                                    structure_weight=10.0, loudness_slack_db=5.0)

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

    def spectral_scale(self, wave: Tensor) -> Tensor:
        """The waveform domain's preconditioner, ``(time // 2 + 1,)`` for ``wave`` ``(batch,
        time)``: a second-order high-pass at :data:`QUIET_BELOW_HZ`, 1 above it and
        :data:`QUIET_SCALE` at 0 Hz, so the optimiser moves the band SoundNet hardly hears
        (and rumbles into) much more slowly than the rest: more chroma kept at the same gain
        (docs/research.md, *Keeping the melody*)."""
        hz = torch.fft.rfftfreq(wave.shape[-1], 1 / self.sample_rate, dtype=wave.dtype,
                                device=wave.device)
        high = hz.square() / (hz.square() + QUIET_BELOW_HZ**2)
        return QUIET_SCALE + (1 - QUIET_SCALE) * high

    def features(self, inputs: Tensor) -> dict[str, Tensor]:
        out = self.net(inputs, until=self.deepest)
        return {layer: out[layer] for layer in self.layer_weights}
