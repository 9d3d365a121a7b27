"""musicnn's VGG music tagger (MagnaTagATune) as a Gram-statistics extractor; the network and
its weights are :mod:`audiostyle.networks.musicnn`."""

from __future__ import annotations

import librosa
import numpy as np
import torch
from torch import Tensor

from ..dsp import Spectrogram
from ..errors import AudioStyleError
from ..networks import musicnn
from ..networks.musicnn import HOP, LAYERS, N_FFT, N_MELS, PATCH_FRAMES, POOLS, SAMPLE_RATE
from ..weights import load
from .base import Extractor
from .defaults import ExtractorDefaults

#: Matched by default: pool5 has about one position per second of audio, so its Gram matrix
#: comes from a handful of vectors and the optimisation stalls on it (benchmarks/RESULTS.md).
DEFAULT_LAYERS = LAYERS[:4]


class VggMttExtractor(Extractor):
    """musicnn's VGG music tagger (MagnaTagATune), Gram matrices of its block outputs.

    Each block output ``(batch, 128, frames', mels')`` is flattened over its time × mel
    positions, so a Gram matrix correlates channels over the whole time-frequency plane (as
    image style transfer does over pixels). Block ``k`` has a hop of ``2^k`` frames
    (16 ms each) up to pool4 and 1.02 s at pool5. Needs the weights: ``audiostyle weights
    install vgg-mtt``.

    Args:
        sample_rate: must be 16000 Hz, the rate the network was trained at.
        layers: which block outputs to match, any of ``pool1`` … ``pool5`` (default
            ``pool1`` … ``pool4``; see :data:`DEFAULT_LAYERS`).

    Output: ``{layer: (batch, 128, positions)}``.
    """

    name = "vgg-mtt"
    domains = ("spectrogram", "waveform", "subbands")
    #: a transfer optimises the waveform, which moves further towards the style than the
    #: spectrogram domain and Griffin-Lim, at strength 0.75: a quarter of the structure term
    #: keeps the onsets that the statistics alone lose on speech and flute, for as much style
    #: (docs/research.md, *Keeping the melody*; benchmarks/RESULTS.md, *frontier*)
    defaults = ExtractorDefaults.of("spectrogram", 100, transfer_domain="waveform",
                                    transfer_iterations=60, strength=0.75)

    def __init__(self, *, sample_rate: int = SAMPLE_RATE, layers: tuple = DEFAULT_LAYERS) -> None:
        if sample_rate != SAMPLE_RATE:
            raise AudioStyleError(
                f"vgg-mtt works at {SAMPLE_RATE} Hz only (got {sample_rate}); leave out "
                "`working_sr`"
            )
        unknown = sorted(set(layers) - set(LAYERS))
        if unknown or not layers:
            raise AudioStyleError(f"vgg-mtt: unknown layers {unknown or 'none given'}; choose "
                                  f"from {', '.join(LAYERS)}")
        super().__init__(sample_rate, Spectrogram(N_FFT, HOP))
        self.layers = tuple(layers)
        self.depth = max(LAYERS.index(layer) for layer in self.layers) + 1
        # librosa's Slaney mel filters (musicnn's), computed in float64 like librosa's
        # melspectrogram before they are rounded
        mel = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, dtype=np.float64)
        self.register_buffer("mel", torch.from_numpy(mel).float(),
                             persistent=False)
        tensors = load("vgg-mtt")
        for name, value in musicnn.torch_layout(tensors).items():
            self.register_buffer(name, value, persistent=False)
        self.layer_weights = {layer: 1.0 for layer in self.layers}

    @property
    def min_samples(self) -> int:
        """One position at the deepest layer used (pool5 needs 66 frames, pool4 32)."""
        frames = 1
        for (kernel, stride) in reversed(POOLS[: self.depth]):
            frames = (frames - 1) * stride[0] + kernel[0]
        return (frames - 1) * HOP

    def log_mel(self, inputs: Tensor) -> Tensor:
        """``log(1 + |STFT|)`` ``(batch, 257, frames)`` → musicnn's input
        ``log10(1 + 10000 · mel power)`` as an image ``(batch, 1, frames, 96)``."""
        power = torch.expm1(inputs.clamp_min(0)).square()
        mel = torch.einsum("mf,bft->btm", self.mel, power)
        return torch.log10(1 + 10000 * mel).unsqueeze(1)

    def blocks(self, image: Tensor, depth: int) -> list[Tensor]:
        """Outputs of the first ``depth`` blocks for a log-mel image ``(batch, 1, T, 96)``."""
        return musicnn.blocks(dict(self.named_buffers()), image, depth)

    def features(self, inputs: Tensor) -> dict[str, Tensor]:
        outputs = self.blocks(self.log_mel(inputs), self.depth)
        return {layer: outputs[LAYERS.index(layer)].flatten(2) for layer in self.layers}

    def tag_probabilities(self, wave: Tensor) -> Tensor:
        """Tag probabilities, as musicnn computes them: sigmoid of the logits of each
        non-overlapping 3-s patch, averaged over patches. ``(batch, time)`` at 16 kHz →
        ``(batch, 50)`` in the order of :data:`~audiostyle.networks.musicnn.MTT_TAGS`. Needs
        at least 3 s."""
        image = self.log_mel(self.analyse(wave))
        patches = image.shape[2] // PATCH_FRAMES
        if patches == 0:
            raise AudioStyleError("tagging needs at least 3 s of audio")
        batch = image.shape[0]
        cut = image[:, :, : patches * PATCH_FRAMES].reshape(batch, 1, patches, PATCH_FRAMES, -1)
        pool5 = self.blocks(cut.transpose(1, 2).reshape(batch * patches, 1, PATCH_FRAMES, -1),
                            len(LAYERS))[-1]
        flat = pool5.permute(0, 2, 3, 1).reshape(batch * patches, -1)  # TF's (h, w, c) order
        logits = flat @ self.dense_weight + self.dense_bias
        return torch.sigmoid(logits).reshape(batch, patches, -1).mean(1)


