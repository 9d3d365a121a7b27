"""A learned style: apply it to any sound, stream it, save and load it.

A :class:`StyleModel` is a :class:`~.network.StyleNet`, its texture of the style
(:mod:`.excitation`) and its header (what it was learned from and how).
:meth:`StyleModel.apply` runs the causal signal path over a whole sound in large blocks
(bounded memory, any length, rate and channel count), and :meth:`StyleModel.stream` gives the
same computation block by block with a fixed latency: the stream's output, less its first
:attr:`Stream.latency` samples, *is* ``apply``'s output (the same code on other block sizes).
Both are deterministic for a model, a sound and a ``seed`` (the seeded jumps of
:class:`~.excitation.TextureReader`).

The file (``NAME.style``) is a safetensors file: the network's tensors and the texture, and in
its metadata one JSON header (:data:`FORMAT`, :data:`FORMAT_VERSION`, extractor and options,
strength, rate, training settings, the texture's making, corpus, steps and minutes trained,
styles' names and SHA-256, final losses) with the SHA-256 of the header and the tensors, so a
changed byte is found. Nothing in it is
ever unpickled. A checkpoint is the same file with the training state's tensors added.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from torch import Tensor

from .._util import write_bytes
from ..errors import AudioStyleError
from ..io.audio import Audio, AudioLike, as_audio, check_regular_file
from .frames import Grid
from .network import NetConfig, Renderer, StyleNet

#: What the header's ``format`` says, and the newest version this code reads.
FORMAT = "audiostyle-style-model"
FORMAT_VERSION = 2
#: Metadata key of the JSON header inside the safetensors file.
HEADER_KEY = "audiostyle"
#: The extension of a style model's file.
SUFFIX = ".style"
#: Name of the texture's tensor in the file.
TEXTURE_KEY = "texture"
#: Samples per channel that :meth:`StyleModel.apply` processes at once (bounded memory).
APPLY_BLOCK = 1 << 17


class Latency(NamedTuple):
    """A stream's fixed delay: output sample ``t`` is input sample ``t − samples``."""

    samples: int
    ms: float


class StyleModel:
    """A learned style (see the module). Build one with :func:`~.learn` or :meth:`load`.

    Attributes:
        net: the network.
        texture: the texture its texture path plays, mono ``(time,)`` at
            ``header["sample_rate"]`` Hz (None for a network without one).
        header: what the model is (see the module); ``header["top_hz"]`` is the highest
            frequency it shapes.
    """

    def __init__(self, net: StyleNet, texture: np.ndarray | None,
                 header: dict[str, Any]) -> None:
        self.net = net.eval()
        self.texture = texture
        self.header = header

    def renderer(self, sr: int) -> Renderer:
        """The model's signal path at ``sr`` Hz."""
        return Renderer(self.net, self.grid(sr), self.texture,
                        int(self.header.get("sample_rate", sr)))

    @property
    def top_hz(self) -> float:
        return float(self.header["top_hz"])

    def grid(self, sr: int) -> Grid:
        """The frames at ``sr`` Hz."""
        return Grid.at(sr, self.top_hz)

    def latency(self, sr: int = 44100) -> Latency:
        """The delay of :meth:`stream` at ``sr`` Hz: one window less a sample (output sample
        ``t`` is finished once input sample ``t + window − hop`` has arrived, and a block may
        end anywhere in a hop)."""
        samples = self.grid(sr).window - 1
        return Latency(samples, 1000 * samples / sr)

    def stream(self, block_size: int, *, sr: int = 44100, channels: int = 1,
               seed: int = 0) -> Stream:
        """A :class:`Stream` for blocks of ``block_size`` samples of ``channels`` channels at
        ``sr`` Hz."""
        return Stream(self, block_size, sr, channels, seed)

    def apply(self, content: AudioLike, *, sr: int | None = None, seed: int = 0,
              progress: Callable[[int], None] | None = None) -> Audio:
        """The style applied to ``content`` (path, :class:`Audio`, or array ``(time,)`` /
        ``(channels, time)`` at ``sr`` Hz): an :class:`Audio` of the same rate, channels and
        length, the same for the same model, content and ``seed``. ``progress`` is called
        with the samples (per channel) done after each block."""
        audio = as_audio(content, sr, name="content")
        channels, length = audio.samples.shape
        runner = _Runner(self, audio.sr, channels, seed)
        out = np.empty((channels, length), dtype=np.float32)
        written = 0
        for start in range(0, length, APPLY_BLOCK):
            written = runner.collect(audio.samples[:, start:start + APPLY_BLOCK], out, written)
            if progress is not None:
                progress(min(length, start + APPLY_BLOCK))
        flush = np.zeros((channels, runner.grid.window), dtype=np.float32)
        runner.collect(flush, out, written)
        return Audio(out, audio.sr, audio.name)

    # --- the file -------------------------------------------------------------------------

    def save(self, path: str | os.PathLike, extra: Mapping[str, Tensor] | None = None,
             training: dict | None = None) -> Path:
        """Write the model (atomically) to ``path``; a checkpoint adds the training state's
        ``extra`` tensors and ``training`` info."""
        path = Path(path)
        tensors = {f"net.{k}": v.detach().cpu().contiguous()
                   for k, v in self.net.state_dict().items()}
        if self.texture is not None:
            tensors[TEXTURE_KEY] = torch.from_numpy(np.ascontiguousarray(self.texture))
        tensors.update({k: v.contiguous() for k, v in (extra or {}).items()})
        header = {**self.header, "format": FORMAT, "format_version": FORMAT_VERSION,
                  "network": self.net.config.as_dict()}
        if training is not None:
            header["training_state"] = training
        text = json.dumps(header, sort_keys=True, allow_nan=False)
        data = save_tensors(tensors, metadata={HEADER_KEY: text,
                                               "sha256": _digest(text, tensors)})
        return write_bytes(path, data)

    @classmethod
    def load(cls, path: str | os.PathLike) -> StyleModel:
        """Read a model written by :meth:`save`; :class:`AudioStyleError` naming the file and
        the problem for anything else (see the module)."""
        model, _ = load_checkpoint(path)
        return model


def checkpoint_path(path: str | os.PathLike) -> Path:
    """Where learning towards the model ``path`` keeps its checkpoint: beside it,
    ``NAME.checkpoint.style`` for ``NAME.style`` (a model itself, with the training state)."""
    path = Path(path)
    return path.with_name(f"{path.name.removesuffix(SUFFIX)}.checkpoint{SUFFIX}")


def load_checkpoint(path: str | os.PathLike) -> tuple[StyleModel, dict[str, Tensor]]:
    """The model in ``path`` and the file's other tensors (a checkpoint's training state)."""
    path = Path(path)
    try:
        check_regular_file(path)  # (a pipe or a device is never read)
        data = path.read_bytes()
    except OSError as exc:
        raise AudioStyleError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        tensors = load_tensors(data)
        metadata = _metadata(data)
    except (SafetensorError, ValueError, UnicodeDecodeError, json.JSONDecodeError):
        raise AudioStyleError(f"{path}: not a style model (not a safetensors file, or cut "
                              "short)") from None
    text = metadata.get(HEADER_KEY)
    if text is None:
        raise AudioStyleError(f"{path}: not a style model (a safetensors file without an "
                              "audiostyle header)")
    try:
        header = json.loads(text)
    except json.JSONDecodeError:
        raise AudioStyleError(f"{path}: damaged style model (its header is not JSON)") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise AudioStyleError(f"{path}: not a style model (format {header.get('format')!r})"
                              if isinstance(header, dict) else f"{path}: not a style model")
    version = header.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise AudioStyleError(f"{path}: a style model of format version {version}, newer than "
                              f"this audiostyle reads ({FORMAT_VERSION}); update audiostyle")
    if version < FORMAT_VERSION:
        raise AudioStyleError(f"{path}: a style model of format version {version}, from an "
                              "earlier audiostyle (its models carried no texture of the style); "
                              "learn it again")
    if metadata.get("sha256") != _digest(text, tensors):
        raise AudioStyleError(f"{path}: damaged style model (its contents do not match their "
                              "SHA-256: changed or corrupted)")
    try:
        net = StyleNet(NetConfig.from_dict(header["network"]))
        prefix = "net."
        net.load_state_dict({k[len(prefix):]: v for k, v in tensors.items()
                             if k.startswith(prefix)})
        texture = tensors.pop(TEXTURE_KEY).numpy() if net.config.texture_path else None
    except (KeyError, TypeError, RuntimeError) as exc:
        raise AudioStyleError(f"{path}: damaged style model ({exc})".splitlines()[0]) from None
    rest = {k: v for k, v in tensors.items() if not k.startswith("net.")}
    return StyleModel(net, texture, header), rest


def _metadata(data: bytes) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file's bytes (8-byte length, then JSON)."""
    size = int.from_bytes(data[:8], "little")
    if len(data) < 8 + size:
        raise ValueError("cut short")
    return json.loads(data[8:8 + size].decode("utf-8")).get("__metadata__") or {}


def _digest(header: str, tensors: Mapping[str, Tensor]) -> str:
    """SHA-256 over the header text and every tensor (name, dtype, shape, bytes) in name
    order."""
    digest = hashlib.sha256(header.encode("utf-8"))
    for name in sorted(tensors):
        value = tensors[name].contiguous()
        digest.update(f"{name}|{value.dtype}|{tuple(value.shape)}".encode())
        digest.update(value.view(torch.uint8).numpy().tobytes() if value.numel() else b"")
    return digest.hexdigest()


@contextlib.contextmanager
def _flush_denormals() -> Iterator[None]:
    """Treat subnormal floats as 0 while the model runs: the decays of quiet passages and
    faint noise levels made them, and on x86 each costs about a hundred times a normal
    operation (a McDermott model applied 10 s of stereo at half speed).
    Below 1e-38 nothing is audible. Torch's default (off) is restored after."""
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


class _Runner:
    """The renderer with its state and noise at one rate: consumes input blocks, yields the
    finished output samples aligned with the input (the first ``window − hop`` samples the
    renderer makes belong to the silence before the sound and are dropped)."""

    def __init__(self, model: StyleModel, sr: int, channels: int, seed: int) -> None:
        self.renderer = model.renderer(sr)
        self.grid = self.renderer.grid
        self.state = self.renderer.start([(seed, channel) for channel in range(channels)])
        self.skip = self.grid.window - self.grid.hop

    def __call__(self, block: np.ndarray) -> np.ndarray:
        """``block`` ``(channels, n)`` → the output samples finished now ``(channels, m)``."""
        with torch.no_grad(), _flush_denormals():
            out, self.state = self.renderer(self.state, torch.from_numpy(
                np.ascontiguousarray(block, dtype=np.float32)))
        out = out.numpy()
        drop = min(self.skip, out.shape[1])
        self.skip -= drop
        return out[:, drop:]

    def collect(self, block: np.ndarray, out: np.ndarray, written: int) -> int:
        """Process ``block`` into ``out`` from ``written`` on (as much as fits); returns the
        new count."""
        done = self(block)
        count = min(done.shape[1], out.shape[1] - written)
        out[:, written:written + count] = done[:, :count]
        return written + count


@dataclass
class Stream:
    """The model over successive blocks: :meth:`process` takes ``(channels, n)`` (or ``(n,)``
    for one channel) and returns as many samples, delayed by :attr:`latency`.

    The concatenated output, less its first ``latency.samples`` samples, is
    :meth:`StyleModel.apply` of the concatenated input (the same computation). Blocks may have
    any length up to ``block_size``.
    """

    model: StyleModel
    block_size: int
    sr: int
    channels: int
    seed: int = 0

    def __post_init__(self) -> None:
        if self.block_size < 1:
            raise AudioStyleError(f"`block_size` must be at least 1, got {self.block_size}")
        self._runner = _Runner(self.model, self.sr, self.channels, self.seed)
        self.latency = self.model.latency(self.sr)
        self._fifo = np.zeros((self.channels, self.latency.samples), dtype=np.float32)

    def process(self, block: np.ndarray) -> np.ndarray:
        samples = np.asarray(block, dtype=np.float32)
        mono = samples.ndim == 1
        samples = samples[None] if mono else samples
        if samples.shape[0] != self.channels or samples.shape[1] > self.block_size:
            raise AudioStyleError(f"a block of shape {samples.shape} for a stream of "
                                  f"{self.channels} channels and blocks of at most "
                                  f"{self.block_size} samples")
        n = samples.shape[1]
        self._fifo = np.concatenate([self._fifo, self._runner(samples)], axis=1)
        out, self._fifo = self._fifo[:, :n], self._fifo[:, n:]
        return out[0] if mono else out
