"""The number format of the random nets' convolutions: bfloat16 where the processor multiplies
it natively, float32 elsewhere.

An iteration of the shallow nets is their wide convolution and its gradient (docs/research.md,
*Speed*). A CPU with AVX-512 BF16 or AMX (AMD Zen 4, Intel Sapphire Rapids and later) runs it in
bfloat16, accumulating in float32, in about half the time; without them bfloat16 is emulated and
slower, so ``auto`` keeps float32 there, and on GPUs (not measured). Only the multiplications
change: the features come back in float32, and the statistics, losses and optimiser stay
float32. The frontier that decided it is in benchmarks/RESULTS.md (*Speed of the default
transfers*).
"""

from __future__ import annotations

import functools
import weakref

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import require_choice

#: What an extractor's ``precision`` option takes.
PRECISIONS = ("auto", "float32", "bfloat16")

#: Each weight's bfloat16 copy by the weight's ``id``, made on first use and dropped with the
#: weight (tensors compare element by element, so they cannot key a weak dictionary).
_BFLOAT16_COPIES: dict[int, tuple[weakref.ref[Tensor], Tensor]] = {}


def check_precision(extractor: str, precision: str) -> None:
    """Raise :class:`AudioStyleError` unless ``precision`` is one of :data:`PRECISIONS`."""
    require_choice(extractor, "precision", precision, PRECISIONS)


@functools.cache
def cpu_multiplies_bfloat16() -> bool:
    """Whether this machine's CPU has native bfloat16 products (oneDNN's AVX-512 BF16 or AMX
    kernels)."""
    try:
        return bool(torch.backends.mkldnn.is_available()
                    and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a build without oneDNN's query
        return False


def uses_bfloat16(precision: str, device: torch.device) -> bool:
    """Whether a convolution on ``device`` multiplies in bfloat16 under ``precision``: always
    for ``bfloat16``, never for ``float32``, and for ``auto`` on a CPU that does so natively."""
    if precision == "auto":
        return device.type == "cpu" and cpu_multiplies_bfloat16()
    return precision == "bfloat16"


def conv1d(inputs: Tensor, weight: Tensor, precision: str) -> Tensor:
    """``conv1d(inputs, weight)`` (no bias, no padding) ``(batch, filters, frames)`` in float32,
    multiplied in bfloat16 where :func:`uses_bfloat16` says so."""
    if not uses_bfloat16(precision, inputs.device):
        return F.conv1d(inputs, weight)
    return F.conv1d(inputs.to(torch.bfloat16), _bfloat16_copy(weight)).float()


def _bfloat16_copy(weight: Tensor) -> Tensor:
    key = id(weight)
    known = _BFLOAT16_COPIES.get(key)
    if known is not None and known[0]() is weight:
        return known[1]
    copy = weight.detach().to(torch.bfloat16)
    alive = weakref.ref(weight, lambda _: _BFLOAT16_COPIES.pop(key, None))
    _BFLOAT16_COPIES[key] = (alive, copy)
    return copy


__all__ = ["PRECISIONS", "check_precision", "conv1d", "cpu_multiplies_bfloat16",
           "uses_bfloat16"]
