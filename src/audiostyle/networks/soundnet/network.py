"""The SoundNet-8 network (Aytar, Vondrick & Torralba, NeurIPS 2016), ported from the original.

A 1-D CNN on the raw waveform at 22050 Hz, trained to predict the ImageNet objects and Places
scenes that image networks saw in the frames of 2 million videos. The geometry below is the
original Torch model's (``main_train.lua``: ``SpatialConvolution`` with the kernel along the
time axis, symmetric zero padding, batch norm, ReLU, ``SpatialMaxPooling`` without padding,
rounding down) and the input is the waveform in ``[-1, 1]`` multiplied by 256 (the original
read 32-bit integer samples and multiplied them by ``2^-23``).

The network is used in evaluation mode: each batch norm uses its stored running mean and
variance (ε = 1e-5), so it is folded into its convolution once, when the network is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ... import weights

#: Sample rate SoundNet was trained at, in Hz.
SAMPLE_RATE = 22050
#: The waveform in [-1, 1] is multiplied by this before the first convolution.
INPUT_SCALE = 256.0
#: Batch-norm epsilon of the original (Torch's default).
BN_EPS = 1e-5


@dataclass(frozen=True)
class ConvLayer:
    """One convolution: kernel, stride and zero padding along time, then optional max-pool.

    ``batch_norm`` layers are followed by batch norm and ReLU; the output heads by nothing.
    """

    name: str
    in_channels: int
    out_channels: int
    kernel: int
    stride: int
    padding: int
    pool: int = 1
    batch_norm: bool = True

    def frames(self, length: int) -> tuple[int, int]:
        """Frames after the convolution and after the pooling, for ``length`` input frames."""
        if length <= 0:
            return 0, 0
        conv = max((length + 2 * self.padding - self.kernel) // self.stride + 1, 0)
        return conv, conv // self.pool


#: The body: Gram features are the ReLU outputs of these layers (before their pooling).
LAYERS: tuple[ConvLayer, ...] = (
    ConvLayer("conv1", 1, 16, 64, 2, 32, pool=8),
    ConvLayer("conv2", 16, 32, 32, 2, 16, pool=8),
    ConvLayer("conv3", 32, 64, 16, 2, 8),
    ConvLayer("conv4", 64, 128, 8, 2, 4),
    ConvLayer("conv5", 128, 256, 4, 2, 2, pool=4),
    ConvLayer("conv6", 256, 512, 4, 2, 2),
    ConvLayer("conv7", 512, 1024, 4, 2, 2),
)
#: The two heads on conv7: 1000 ImageNet objects and 401 Places scenes (logits).
HEADS: tuple[ConvLayer, ...] = (
    ConvLayer("conv8", 1024, 1000, 8, 2, 0, batch_norm=False),
    ConvLayer("conv8_2", 1024, 401, 8, 2, 0, batch_norm=False),
)
LAYER_NAMES: tuple[str, ...] = tuple(layer.name for layer in LAYERS)


def frame_counts(samples: int) -> dict[str, int]:
    """Output frames of every layer (before pooling) and head for ``samples`` input samples."""
    counts, length = {}, samples
    for layer in LAYERS:
        counts[layer.name], length = layer.frames(length)
    for head in HEADS:
        counts[head.name] = head.frames(length)[0]
    return counts


def clean_frames(samples: int, layer: str) -> Tensor:
    """Which frames of ``layer`` see no zero padding anywhere below them, ``(frames,)`` bool.

    Frames near the ends of the signal are computed partly from the zero padding of some
    layer; for the deep layers (and the heads, whose windows span about 18 s) those frames
    are not what the network was trained on. The clean frames are one run ``[first, stop)``:
    output frame ``j`` of a convolution reads inputs ``j·stride − padding`` to ``j·stride −
    padding + kernel − 1``, and of a pooling ``j·pool`` to ``j·pool + pool − 1``.
    """
    counts = frame_counts(samples)
    if layer not in counts:
        raise ValueError(f"unknown SoundNet layer {layer!r}")
    chain = [*LAYERS[: LAYER_NAMES.index(layer) + 1]] if layer in LAYER_NAMES else [
        *LAYERS, *(head for head in HEADS if head.name == layer)]
    first, stop = 0, samples
    for conv in chain:
        first = -(-(first + conv.padding) // conv.stride)  # ceil division
        stop = (stop + conv.padding - conv.kernel) // conv.stride + 1
        if conv is not chain[-1] and conv.pool > 1:
            first, stop = -(-first // conv.pool), stop // conv.pool
    frames = torch.arange(counts[layer])
    return (frames >= first) & (frames < stop)


def _polyphase(weight: Tensor, stride: int) -> Tensor:
    """``(out, 1, kernel)`` → ``(out, stride, kernel / stride)``: tap ``stride·m + j`` of the
    kernel becomes tap ``m`` of input phase ``j``."""
    out, _, kernel = weight.shape
    return weight.reshape(out, kernel // stride, stride).transpose(1, 2)


class SoundNet(nn.Module):
    """SoundNet-8 in evaluation mode, from its converted weights.

    Args:
        tensors: the installed weights (``audiostyle.weights.load("soundnet")``): for each
            layer ``<name>.weight`` ``(out, in, kernel)`` and ``<name>.bias``, and for the body
            the batch norm's ``<name>.bn_mean``, ``.bn_var``, ``.bn_gamma``, ``.bn_beta``.

    The weights are buffers (no gradients are kept for them); gradients flow to the input.
    """

    def __init__(self, tensors: Mapping[str, Tensor]) -> None:
        super().__init__()
        for layer in (*LAYERS, *HEADS):
            weight = tensors[f"{layer.name}.weight"].float()
            bias = tensors[f"{layer.name}.bias"].float()
            if layer.batch_norm:
                mean, var, gamma, beta = (tensors[f"{layer.name}.bn_{key}"].double()
                                          for key in ("mean", "var", "gamma", "beta"))
                scale = gamma / torch.sqrt(var + BN_EPS)
                weight = (weight.double() * scale[:, None, None]).float()
                bias = ((bias.double() - mean) * scale + beta).float()
            if layer is LAYERS[0]:  # see _first_conv
                weight = _polyphase(weight, layer.stride)
            self.register_buffer(f"{layer.name}_weight", weight.contiguous(), persistent=False)
            self.register_buffer(f"{layer.name}_bias", bias.contiguous(), persistent=False)

    def _conv(self, layer: ConvLayer, x: Tensor) -> Tensor:
        if layer is LAYERS[0]:
            return self._first_conv(x)
        return F.conv1d(x, getattr(self, f"{layer.name}_weight"),
                        getattr(self, f"{layer.name}_bias"), stride=layer.stride,
                        padding=layer.padding)

    def _first_conv(self, x: Tensor) -> Tensor:
        """conv1 (one input channel, stride 2) as a stride-1 convolution of the two polyphase
        components ``x[2u]``, ``x[2u + 1]``: the same sums, about twice as fast on CPUs."""
        layer = LAYERS[0]
        frames = layer.frames(x.shape[-1])[0]
        total = x.shape[-1] + 2 * layer.padding
        x = F.pad(x, (layer.padding, layer.padding + (-total) % layer.stride))
        phases = x.reshape(len(x), -1, layer.stride).transpose(1, 2)
        return F.conv1d(phases, self.conv1_weight, self.conv1_bias)[..., :frames]

    def forward(self, wave: Tensor, *, until: str = "conv7") -> dict[str, Tensor]:
        """ReLU outputs of conv1 … ``until``, ``{name: (batch, channels, frames)}``.

        Args:
            wave: ``(batch, time)`` at 22050 Hz, samples in ``[-1, 1]``.
            until: the deepest layer to compute.
        """
        if until not in LAYER_NAMES:
            raise ValueError(f"unknown SoundNet layer {until!r}; use one of {LAYER_NAMES}")
        x = wave[:, None, :] * INPUT_SCALE
        out = {}
        for layer in LAYERS:
            x = out[layer.name] = F.relu(self._conv(layer, x))
            if layer.name == until:
                break
            if layer.pool > 1:
                x = F.max_pool1d(x, layer.pool)
        return out

    def heads(self, conv7: Tensor) -> tuple[Tensor, Tensor]:
        """Object and scene logits ``(batch, 1000, frames)``, ``(batch, 401, frames)`` from
        the conv7 output."""
        objects, scenes = (self._conv(head, conv7) for head in HEADS)
        return objects, scenes


def pretrained() -> SoundNet:
    """SoundNet-8 with the installed original weights (checked against their SHA-256).

    Raises:
        AudioStyleError: the weights are not installed (the message says how to install
            them), or the installed file was changed or truncated.
    """
    return SoundNet(weights.load("soundnet"))
