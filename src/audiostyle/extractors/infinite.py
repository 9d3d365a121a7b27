"""The random nets' Gram loss with infinitely many filters, computed exactly.

A random net's feature ``c`` at frame ``t`` is ``relu(w_c · p_t)``: ``p_t`` is the patch of
``log(1 + |STFT|)`` that its kernel covers (``bins × width`` values), ``w_c`` a Gaussian filter.
The squared distance of two Gram matrices is a sum of squared products of feature vectors,

    ‖YYᵀ/T − ZZᵀ/S‖² = Σ_tt' (y_t·y_t')²/T² − 2 Σ_ts (y_t·z_s)²/(T·S) + Σ_ss' (z_s·z_s')²/S²,

and with ``C`` filters ``y_t·z_s = Σ_c relu(w_c·p_t) relu(w_c·q_s)`` tends to ``C·σ²·k(p_t, q_s)``
for the arc-cosine kernel of degree 1 (Cho & Saul, 2009)

    k(p, q) = |p| |q| (sin θ + (π − θ) cos θ) / 2π,   cos θ = p·q / (|p| |q|).

So as ``C → ∞`` the net's relative Gram distance tends to the same sums of ``k²`` (a maximum
mean discrepancy between the two sounds' patches under the kernel ``k²``), which this module
computes exactly: the sampling noise of a finite draw is gone, and an evaluation costs the
frames' products (``bins · T · (T + S)`` multiply-adds; the patches' products are sums along
their diagonals) instead of the net's ``2 · bins · C · width · T`` twice. For 4096 filters,
11 frames wide, on 10 s of content and style the loss and its gradient take ~20× less time
(docs/research.md, *Speed*).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cached_property

import torch
from torch import Tensor

from ..errors import AudioStyleError
from .statistics import Statistic, check_weight

#: Most frames of the style a target keeps per layer, 95 s at 22050 Hz and hop 512; a longer
#: style is read in evenly spread crops of its pieces, so that an evaluation's cost
#: (``T × frames`` products) stays bounded whatever the style's length.
MAX_TARGET_FRAMES = 4096
#: Floor of a patch's norm, so that a silent patch has ``k = 0`` and a finite gradient.
_TINY = 1e-12
#: Floor of a target's norm (a silent style), as the style loss floors every norm.
_TINY_NORM = 1e-30


class _ArcCosine(torch.autograd.Function):
    """``J(ρ) = sqrt(1 − ρ²) + (π − arccos ρ) ρ`` with its derivative ``π − arccos ρ``,
    which is finite at ``ρ = ±1`` where autograd's ``sqrt`` and ``arccos`` are not."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, rho: Tensor) -> Tensor:
        rho = rho.clamp(-1.0, 1.0)
        slope = torch.pi - torch.arccos(rho)
        ctx.save_for_backward(slope)
        return (1 - rho.square()).clamp_min(0).sqrt() + slope * rho

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: Tensor) -> Tensor:
        (slope,) = ctx.saved_tensors
        return grad * slope


def window_sums(products: Tensor, width: int) -> Tensor:
    """Sums of ``width`` steps along the diagonals, ``out[t, s] = Σ_{k < width} products[t + k,
    s + k]``: ``(Ta, Tb)`` → ``(Ta − width + 1, Tb − width + 1)``. Windows of 1, 2, 4, … steps
    by doubling, ``width`` as a sum of powers of two: about ``2 log₂ width`` additions of the
    whole matrix."""
    rows, columns = products.shape[0] - width + 1, products.shape[1] - width + 1
    window, total, offset, span, remaining = products, None, 0, 1, width
    while True:  # window[t, s]: the sum of `span` steps from (t, s)
        if remaining & 1:
            piece = window[offset:offset + rows, offset:offset + columns]
            total = piece if total is None else total + piece
            offset += span
        remaining >>= 1
        if not remaining:
            return total
        window = window[:-span, :-span] + window[span:, span:]
        span *= 2


def patch_products(a: Tensor, b: Tensor, width: int) -> Tensor:
    """Inner products of ``width``-frame patches: ``(bins, Ta)``, ``(bins, Tb)`` →
    ``(Ta − width + 1, Tb − width + 1)``, from the frames' products."""
    return window_sums(a.T @ b, width)


def patch_norms(a: Tensor, width: int) -> Tensor:
    """Euclidean norms of the ``width``-frame patches of ``(bins, T)``, ``(T − width + 1,)``."""
    energy = torch.nn.functional.pad(a.square().sum(0).cumsum(0), (1, 0))
    return (energy[width:] - energy[:-width]).clamp_min(_TINY**2).sqrt()


def _kernel(products: Tensor, norms_a: Tensor, norms_b: Tensor) -> Tensor:
    """``k`` from the patches' products ``(Ta, Tb)`` and norms ``(Ta,)``, ``(Tb,)``."""
    norms = norms_a[:, None] * norms_b[None, :]
    return norms * _ArcCosine.apply(products / norms) / (2 * math.pi)


def arc_cosine(a: Tensor, b: Tensor, width: int) -> Tensor:
    """``k(p, q)`` between every ``width``-frame patch of ``a`` and of ``b`` ``(bins, T)``."""
    return _kernel(patch_products(a, b, width), patch_norms(a, width), patch_norms(b, width))


def mean_square_kernels(a: Tensor, b: Tensor, widths: tuple[int, ...]) -> Tensor:
    """Mean of ``k²`` over all pairs of patches of ``a`` and ``b`` ``(bins, T)``, for each
    width (the frames' products computed once for all): float64 ``(len(widths),)``."""
    frames = a.T @ b
    return torch.stack([
        _kernel(window_sums(frames, w), patch_norms(a, w), patch_norms(b, w))
        .double().square().mean() for w in widths])


class PatchTarget:
    """A style's frames: ``(frames (bins, S), weight)`` parts, the target's Gram (of each
    width) being ``Σ weight · (Gram of the part)``. Scaled by ``weight * target``, added by
    ``+`` (parts joined), like :class:`~.statistics.GramTarget`; longer than
    :data:`MAX_TARGET_FRAMES` in all, each part is read as a centred crop of its share
    (:attr:`kept`)."""

    def __init__(self, parts: list[tuple[Tensor, float]], widths: tuple[int, ...]) -> None:
        self.parts = parts
        self.widths = widths

    def __rmul__(self, weight: float) -> PatchTarget:
        check_weight(weight)
        return PatchTarget([(frames, weight * w) for frames, w in self.parts], self.widths)

    def __add__(self, other: PatchTarget) -> PatchTarget:
        return PatchTarget(self.parts + other.parts, self.widths)

    def to(self, device: torch.device | str) -> PatchTarget:
        return PatchTarget([(frames.to(device), w) for frames, w in self.parts], self.widths)

    @cached_property
    def kept(self) -> list[tuple[Tensor, float]]:
        """The parts an evaluation reads: all of them, or a centred crop of each whose
        lengths add up to about :data:`MAX_TARGET_FRAMES`."""
        total = sum(frames.shape[-1] for frames, _ in self.parts)
        if total <= MAX_TARGET_FRAMES:
            return self.parts
        kept = []
        for frames, weight in self.parts:
            length = frames.shape[-1]
            keep = min(length, max(max(self.widths), length * MAX_TARGET_FRAMES // total))
            start = (length - keep) // 2
            kept.append((frames[:, start:start + keep], weight))
        return kept

    @cached_property
    def norms(self) -> Tensor:
        """``‖G‖²`` of each width, float64 ``(len(widths),)``."""
        with torch.no_grad():
            return sum(wi * wj * mean_square_kernels(fi, fj, self.widths)
                       for fi, wi in self.kept for fj, wj in self.kept)


class ArcCosineGram(Statistic):
    """The Gram matrices of random ReLU convolutions of the given ``widths`` (in frames) with
    infinitely many filters each, over their input ``(batch, bins, frames)`` (see the module).

    Each width's squared distance ``d_w`` and norm ``n_w`` are those of
    :class:`~.statistics.Gram` on the net's features in the limit, up to the factor
    ``(C·σ²)²`` that relative distances cancel; the widths share the frames' products. With
    several widths, :meth:`distance` weighs each by ``n_first / n_w`` and :meth:`norm` is
    ``n_first``, so that the relative distance is the sum of the widths' relative distances,
    as for the drawn net's layers. It has no finite statistic to read (:meth:`compute`).
    """

    grows_with_target = True

    def __init__(self, widths: tuple[int, ...]) -> None:
        self.widths = tuple(widths)
        self.min_frames = max(self.widths)

    def compute(self, features: Tensor) -> Tensor:
        raise AudioStyleError("a random net with infinitely many filters has no finite "
                              "statistics to read; use form=drawn for its Gram matrices")

    def target(self, parts: Sequence[tuple[Tensor, float]]) -> PatchTarget:
        items = []
        for features, weight in parts:
            check_weight(weight)
            items.extend((item.detach(), weight / len(features)) for item in features)
        return PatchTarget(items, self.widths)

    def distance(self, features: Tensor, target: PatchTarget) -> Tensor:
        weights = self.norm(target) / target.norms.clamp_min(_TINY_NORM)
        distances = []
        for item in features:
            cross = sum(w * mean_square_kernels(item, frames, self.widths)
                        for frames, w in target.kept)
            squared = mean_square_kernels(item, item, self.widths) - 2 * cross + target.norms
            distances.append((weights * squared).sum())
        return torch.stack(distances)

    def norm(self, target: PatchTarget) -> Tensor:
        return target.norms[0]
