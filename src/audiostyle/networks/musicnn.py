"""musicnn's VGG-style music tagger (Pons & Serra 2019), trained on MagnaTagATune: the network.

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

from ..errors import AudioStyleError
from ..weights import WeightsSpec
from ..weights.pypi import download
from ..weights.tfcheckpoint import TFCheckpoint

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


def blocks(tensors: dict[str, Tensor], image: Tensor, depth: int) -> list[Tensor]:
    """Outputs of the first ``depth`` blocks for a log-mel image ``(batch, 1, T, 96)``, with the
    network's tensors in :func:`torch_layout`."""
    x = image * tensors["norm0_scale"] + tensors["norm0_shift"]
    outputs = []
    for block in range(depth):
        weight, bias = tensors[f"conv{block}_weight"], tensors[f"conv{block}_bias"]
        x = F.relu(F.conv2d(x, weight, bias, padding=1))
        x = x * tensors[f"norm{block + 1}_scale"] + tensors[f"norm{block + 1}_shift"]
        kernel, stride = POOLS[block]
        x = F.max_pool2d(x, kernel, stride)
        outputs.append(x)
    return outputs


def torch_layout(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    """TensorFlow names and layouts → PyTorch's: conv kernels
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
