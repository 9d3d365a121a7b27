"""Style statistics: what is matched between the result and the style.

A :class:`Statistic` turns one extractor output ``(batch, channels, frames)`` into a
length-independent summary, builds a *target* from one or several weighted signals (computed
once, cached by the loss), and measures the squared distance of new features to that target.

- :class:`Gram`: the Gram matrix ``Y Yᵀ / frames`` of neural feature maps (Gatys et al.). Its
  target is kept as a factor ``L`` with ``G = L Lᵀ`` when that is cheaper than the
  ``channels × channels`` matrix, so the distance is computed without forming any Gram matrix.
- :class:`Identity`: for extractors whose outputs already are statistics (McDermott &
  Simoncelli texture statistics); the target is their weighted mean.
- :class:`Autocorrelation`: the normalised autocorrelation of each feature map over a range
  of lags (the rhythm term of Antognini et al. 2019), for maps over time.

Targets of every statistic can be scaled by a weight and added (``w * a + v * b``): the
target of a weighted mix of sounds is the weighted mix of their targets, which is how several
styles are blended and how the style strength pulls the target towards the content.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import cached_property

import torch
from torch import Tensor


def check_weight(weight: float) -> None:
    """Raise ``ValueError`` unless ``weight`` can weigh a target (non-negative)."""
    if weight < 0:
        raise ValueError(f"target weights must be non-negative, got {weight}")


def gram_matrix(features: Tensor) -> Tensor:
    """Gram matrix over the last axis divided by its length: ``(..., C, T)`` → ``(..., C, C)``."""
    return features @ features.transpose(-1, -2) / features.shape[-1]


class Statistic(ABC):
    """How one extractor output is summarised and compared (see module docstring)."""

    #: Frames an output ``(batch, channels, frames)`` needs at least (0: any shape).
    min_frames: int = 0
    #: Whether a distance's cost grows with the target's length: it compares the output's
    #: frames with the target's instead of a summary computed once (the studio's estimate).
    grows_with_target: bool = False

    @abstractmethod
    def compute(self, features: Tensor) -> Tensor:
        """The statistic of each batch item, ``(batch, ...)``."""

    @abstractmethod
    def target(self, parts: Sequence[tuple[Tensor, float]]) -> object:
        """Target from ``(features, weight)`` pairs: the weighted sum of their statistics
        (each averaged over its batch). Weights should sum to 1. Targets add up: the target
        of several parts is the sum (``+``) of the targets of each part. A target is
        picklable and has ``.to(device)``."""

    @abstractmethod
    def distance(self, features: Tensor, target: object) -> Tensor:
        """Squared distance ``‖S(features) − target‖²`` per batch item, float64 ``(batch,)``."""

    @abstractmethod
    def norm(self, target: object) -> Tensor:
        """``‖target‖²`` as a float64 scalar, to make distances relative."""


class GramTarget:
    """A target Gram matrix ``G``, kept as a factor ``L`` with ``G = L Lᵀ`` when ``L`` is thin.

    ``factor`` ``(C, M)`` is kept while ``M < C``; otherwise only the ``(C, C)`` matrix.
    The matrix and the squared norm are computed on first use and cached.
    """

    def __init__(self, factor: Tensor) -> None:
        channels, rank = factor.shape
        self.factor: Tensor | None = factor if rank < channels else None
        if self.factor is None:
            self.__dict__["matrix"] = factor @ factor.T

    def __rmul__(self, weight: float) -> GramTarget:
        """The target scaled by ``weight`` >= 0 (the factor by its square root)."""
        check_weight(weight)
        if self.factor is not None:
            return GramTarget(self.factor * weight**0.5)
        return self._from_matrix(weight * self.matrix)

    @classmethod
    def _from_matrix(cls, matrix: Tensor) -> GramTarget:
        target = cls.__new__(cls)
        target.factor = None
        target.__dict__["matrix"] = matrix
        return target

    def __add__(self, other: GramTarget) -> GramTarget:
        """The target of both parts together (Gram targets are sums over frames)."""
        if self.factor is not None and other.factor is not None:
            return GramTarget(torch.cat([self.factor, other.factor], dim=1))
        return self._from_matrix(self.matrix + other.matrix)

    @cached_property
    def matrix(self) -> Tensor:
        """The ``(C, C)`` Gram matrix."""
        return self.factor @ self.factor.T

    @cached_property
    def norm(self) -> Tensor:
        """``‖G‖²`` in float64; from the small ``LᵀL`` when factored (``‖LLᵀ‖ = ‖LᵀL‖``)."""
        small = self.factor.T @ self.factor if self.factor is not None else self.matrix
        return small.double().square().sum()

    def to(self, device: torch.device | str) -> GramTarget:
        """A copy on ``device``, with what is cached so far (moves are exact)."""
        moved = GramTarget.__new__(GramTarget)
        moved.__dict__.update({key: value.to(device) if isinstance(value, Tensor) else value
                               for key, value in self.__dict__.items()})
        return moved


class Gram(Statistic):
    """Gram matrix of feature maps, ``Y Yᵀ / T`` for ``Y`` of shape ``(C, T)``.

    The distance ``‖Y Yᵀ/T − G‖²`` is evaluated in whichever form is cheaper:

    - explicit: form ``Y Yᵀ`` (cost ``C²·T``);
    - factored, for ``G = L Lᵀ`` with ``L`` of shape ``(C, M)``:
      ``‖YᵀY‖²/T² − 2‖LᵀY‖²/T + ‖LᵀL‖²`` (cost ``C·T·(T + M)``), chosen when ``T + M < C``.

    Both give the same value and gradient (up to rounding); the squared norms are summed in
    float64 because the factored form subtracts large, nearly equal terms.

    Args:
        form: ``"auto"`` (the cheaper), ``"explicit"`` or ``"factored"`` (when the target
            has a factor); for comparisons.
    """

    FORMS = ("auto", "explicit", "factored")
    min_frames = 1

    def __init__(self, form: str = "auto") -> None:
        if form not in self.FORMS:
            raise ValueError(f"form must be one of {self.FORMS}, got {form!r}")
        self.form = form

    def compute(self, features: Tensor) -> Tensor:
        return gram_matrix(features)

    def target(self, parts: Sequence[tuple[Tensor, float]]) -> GramTarget:
        columns = []
        for features, weight in parts:
            check_weight(weight)
            batch, _, frames = features.shape
            scale = (weight / (batch * frames)) ** 0.5
            columns.extend(scale * item for item in features)
        return GramTarget(torch.cat(columns, dim=1))

    def distance(self, features: Tensor, target: GramTarget) -> Tensor:
        channels, frames = features.shape[-2:]
        factored = target.factor is not None and (
            self.form == "factored"
            or (self.form == "auto" and frames + target.factor.shape[1] < channels)
        )
        if factored:
            self_term = (features.transpose(-1, -2) @ features).double().square().sum((-1, -2))
            cross = (target.factor.T @ features).double().square().sum((-1, -2))
            return self_term / frames**2 - 2 * cross / frames + target.norm
        difference = gram_matrix(features) - target.matrix
        return difference.double().square().sum((-1, -2))

    def norm(self, target: GramTarget) -> Tensor:
        return target.norm


class Identity(Statistic):
    """The features are statistics already (any shape after the batch axis)."""

    def compute(self, features: Tensor) -> Tensor:
        return features

    def target(self, parts: Sequence[tuple[Tensor, float]]) -> Tensor:
        return sum(weight * self.compute(features).mean(0) for features, weight in parts)

    def distance(self, features: Tensor, target: Tensor) -> Tensor:
        difference = (self.compute(features) - target).double()
        return difference.square().reshape(len(features), -1).sum(1)

    def norm(self, target: Tensor) -> Tensor:
        return target.double().square().sum()


def autocorrelation(features: Tensor, lags: int) -> Tensor:
    """Normalised autocorrelation of each map over lags ``1..lags`` frames.

    ``(batch, channels, frames)`` → ``(batch, channels, lags)``: the mean-removed map's
    average product with itself shifted by ``τ`` (over the ``frames − τ`` overlapping frames),
    divided by its variance, so ``1`` is a perfect repeat after ``τ`` frames whatever the
    map's level. Computed with one FFT per map (zero-padded, so not circular).
    """
    frames = features.shape[-1]
    if frames <= 2 * lags:
        raise ValueError(f"autocorrelation over {lags} lags needs more than {2 * lags} frames, "
                         f"got {frames}")
    centred = features - features.mean(-1, keepdim=True)
    size = frames + lags
    spectrum = torch.fft.rfft(centred, n=size)
    power = spectrum.real.square() + spectrum.imag.square()
    sums = torch.fft.irfft(power, n=size)[..., : lags + 1]
    overlap = torch.arange(frames, frames - lags - 1, -1, device=features.device)
    mean_products = sums / overlap
    variance = mean_products[..., :1]
    # a silent map has no rhythm: its floor is relative to the other maps' level
    floor = 1e-6 * variance.mean(-2, keepdim=True) + 1e-30
    return mean_products[..., 1:] / (variance + floor)


class Autocorrelation(Identity):
    """:func:`autocorrelation` of each feature map over ``1..lags`` frames; the target is the
    weighted mean. Matched together with the Gram matrix, it keeps what repeats at which
    delay, which the Gram matrix of a narrow convolution cannot see.
    """

    def __init__(self, lags: int) -> None:
        if lags < 1:
            raise ValueError(f"lags must be at least 1, got {lags}")
        self.lags = lags

    def compute(self, features: Tensor) -> Tensor:
        return autocorrelation(features, self.lags)
