"""VGG-19 (Simonyan & Zisserman 2015, ImageNet) on the spectrogram seen as an image.

The paper's fourth extractor (Grinstein et al. 2018, after Gatys et al.): the log-magnitude
spectrogram becomes a grey image, copied to the three colour channels, and the Gram matrices
of ``relu1_1 … relu5_1`` are matched. The network and its weights are
:mod:`audiostyle.networks.vgg19`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import AudioStyleError
from ..networks.vgg19 import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    LAYERS,
    VGG19Trunk,
    layer_table,
    modules_config,
)
from ..weights import load
from .base import Extractor
from .defaults import ExtractorDefaults
from .shallow import log_spectrogram


class Vgg19Extractor(Extractor):
    """ImageNet VGG-19 on the log-magnitude spectrogram as an image; Gram matrices of ReLUs.

    The image: ``log(1 + |STFT|) / log(1 + n_fft / 4)``, so that the peak of a full-scale sine
    (``|STFT| = n_fft / 4``) is 1 and silence 0: the network's [0, 1] pixel range. Rows are
    frequency bins, low frequencies at the bottom as a spectrogram is drawn, columns are
    frames. It is averaged over ``downsample × downsample`` blocks (1 = full resolution),
    copied to the three colour channels and normalised with the ImageNet mean and standard
    deviation, exactly as a grey photograph would be for torchvision's VGG-19.
    Needs the weights: ``audiostyle weights install vgg19 --from vgg19-dcbb9e9d.pth``.

    Args:
        sample_rate: analysis rate in Hz.
        n_fft: STFT size in samples (``n_fft // 2 + 1`` image rows).
        hop_length: STFT hop in samples (one image column per hop).
        layers: ReLU outputs to match, named ``relu<block>_<conv>`` (``relu1_1`` … ``relu5_4``).
        downsample: integer factor by which the image is shrunk on both axes before the
            network (cost falls with its square).

    Output: ``{layer: (batch, channels, height' · width')}``.
    """

    name = "vgg19"
    domains = ("spectrogram", "waveform", "subbands")
    #: a transfer uses statistics only, as the paper: these nets keep the content already and
    #: move little, so the structure term has nothing to hold (benchmarks/RESULTS.md,
    #: *frontier*)
    defaults = ExtractorDefaults.of("spectrogram", 100, strength=1.0)

    def __init__(
        self,
        *,
        sample_rate: int = 22050,
        n_fft: int = 2048,
        hop_length: int = 512,
        layers: tuple = LAYERS,
        downsample: int = 2,
    ) -> None:
        table = layer_table()
        unknown = sorted(set(layers) - set(table))
        if unknown or not layers:
            raise AudioStyleError(f"vgg19: unknown layers {unknown or 'none given'}; use names "
                                  "such as relu1_1, relu2_1, relu3_1, relu4_1, relu5_1")
        if downsample < 1:
            raise AudioStyleError(f"vgg19: downsample must be at least 1, got {downsample}")
        super().__init__(sample_rate, log_spectrogram(self.name, n_fft, hop_length))
        self.layers = tuple(layers)
        self.downsample = int(downsample)
        self.full_scale = math.log1p(n_fft / 4)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN)[:, None, None],
                             persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD)[:, None, None], persistent=False)
        self._index = {layer: table[layer] for layer in self.layers}
        self.vgg = VGG19Trunk(max(self._index.values()) + 1)
        state = load("vgg19")
        self.vgg.load_state_dict({name: state[name] for name in self.vgg.state_dict()})
        self.vgg.requires_grad_(False)
        self.layer_weights = {layer: 1.0 for layer in self.layers}

    @property
    def min_samples(self) -> int:
        """One position at the deepest layer: ``2^pools · downsample`` frames."""
        deepest = max(self._index.values())
        pools = modules_config()[:deepest].count("M")
        return (2**pools * self.downsample - 1) * self.spectrogram.hop_length

    def image(self, inputs: Tensor) -> Tensor:
        """``log(1 + |STFT|)`` ``(batch, bins, frames)`` → normalised image
        ``(batch, 3, ⌈bins / d⌉, ⌈frames / d⌉)`` for ``d = downsample``."""
        grey = (inputs / self.full_scale).flip(1).unsqueeze(1)
        if self.downsample > 1:
            grey = F.avg_pool2d(grey, self.downsample, ceil_mode=True)
        return (grey - self.mean) / self.std

    def features(self, inputs: Tensor) -> dict[str, Tensor]:
        wanted = {index: layer for layer, index in self._index.items()}
        x, out = self.image(inputs), {}
        for index, module in enumerate(self.vgg.features):
            x = module(x)
            if index in wanted:
                out[wanted[index]] = x.flatten(2)
        return out

