"""Losses: style distance to a cached target, optional content distance, and their sum.

Every layer's distance is relative to the size of its target (``‖S − S*‖² / ‖S*‖²``), so layers
of very different magnitudes weigh alike and a distance of ``-30 dB`` means the same thing for
every extractor (it is the McDermott "statistics SNR" of that layer, negated).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import Tensor, nn

from .extractors import Extractor

#: Floor of target norms, so that a silent target gives large but finite distances.
_TINY = 1e-30


class StyleLoss(nn.Module):
    """``Σ_layers w_l · ‖S_l(x) − S_l*‖² / ‖S_l*‖²`` summed over the batch.

    ``S`` is the extractor's :attr:`~Extractor.statistic`. The target ``S*`` is computed once by
    :meth:`set_target` (a weighted mix of one or several signals) and reused; calling the loss
    before that raises.

    Args:
        extractor: the feature extractor.
        layer_weights: weight per layer; layers left out are not matched. Defaults to the
            extractor's :attr:`~Extractor.layer_weights`.
    """

    def __init__(self, extractor: Extractor, layer_weights: Mapping[str, float] | None = None):
        super().__init__()
        self.extractor = extractor
        self.layer_weights = dict(layer_weights or extractor.layer_weights)
        self._targets: dict[str, object] | None = None

    @torch.no_grad()
    def set_target(self, inputs: Iterable[tuple[Tensor, float]]) -> None:
        """Compute the target from ``(input, weight)`` pairs, inputs as :meth:`Extractor.analyse`
        returns them. Each input's statistics are averaged over its batch (channels).

        Inputs are analysed one at a time and reduced to their statistics at once, so a long
        sound given as several pieces (an iterable that makes them on demand) never has all
        its feature maps in memory together.
        """
        statistic = self.extractor.statistic
        targets: dict[str, object] = {}
        for x, w in inputs:
            features = self.extractor.features(x)
            for layer in self.layer_weights:
                part = statistic.target([(features[layer], w)])
                targets[layer] = targets[layer] + part if layer in targets else part
            del features
        if not targets:
            raise ValueError("set_target needs at least one input")
        self._targets = targets

    @property
    def targets(self) -> dict[str, object]:
        """The target of each layer (see :meth:`Statistic.target`), for :meth:`load_target`."""
        if self._targets is None:
            raise RuntimeError("StyleLoss: call set_target() before reading the targets")
        return dict(self._targets)

    def load_target(self, targets: Mapping[str, object]) -> None:
        """Use targets computed before (:attr:`targets` of a loss on the same extractor)."""
        missing = set(self.layer_weights) - set(targets)
        if missing:
            raise ValueError(f"targets lack the layers {sorted(missing)}")
        self._targets = {layer: targets[layer] for layer in self.layer_weights}

    def layer_distances(self, features: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """Relative squared distance of each layer to its target (batch-summed, float64)."""
        if self._targets is None:
            raise RuntimeError("StyleLoss: call set_target() before evaluating the loss")
        statistic = self.extractor.statistic
        out = {}
        for layer, target in self._targets.items():
            norm = statistic.norm(target).clamp_min(_TINY)
            out[layer] = statistic.distance(features[layer], target).sum() / norm
        return out

    def forward(self, features: Mapping[str, Tensor]) -> Tensor:
        distances = self.layer_distances(features)
        return sum(self.layer_weights[layer] * d for layer, d in distances.items())


class ContentLoss(nn.Module):
    """``Σ_layers ‖F_l(x) − F_l(c)‖² / ‖F_l(c)‖²`` for fixed content feature maps ``F(c)``."""

    def __init__(self, content_features: Mapping[str, Tensor]) -> None:
        super().__init__()
        self.content = {k: v.detach() for k, v in content_features.items()}

    def forward(self, features: Mapping[str, Tensor]) -> Tensor:
        distances = [
            (features[layer] - reference).double().square().sum()
            / reference.double().square().sum().clamp_min(_TINY)
            for layer, reference in self.content.items()
        ]
        return torch.stack(distances).sum()


class TransferLoss(nn.Module):
    """Style loss plus ``content_weight`` × content loss, on one shared feature pass.

    Input: what :meth:`Extractor.analyse` returns for the signal being optimised.
    """

    def __init__(
        self,
        style: StyleLoss,
        content: ContentLoss | None = None,
        content_weight: float = 0.0,
    ) -> None:
        super().__init__()
        self.style = style
        self.content = content if content_weight > 0 else None
        self.content_weight = content_weight

    def forward(self, inputs: Tensor) -> Tensor:
        return self.total(self.style.extractor.features(inputs))

    def total(self, features: dict[str, Tensor]) -> Tensor:
        """The loss from already computed feature maps."""
        loss = self.style(features)
        if self.content is not None:
            loss = loss + self.content_weight * self.content(features)
        return loss


def headroom_excess(wave: Tensor, ceiling: float) -> Tensor:
    """Energy of ``wave`` above ``ceiling`` (linear) relative to its total energy, a scalar.

    Zero when no sample exceeds the ceiling; added to waveform-domain losses so that the
    result fits under the output's peak ceiling by itself instead of being scaled down later,
    which would change level-dependent statistics (see ``domains.HEADROOM_WEIGHT``).
    """
    excess = (wave.abs() - ceiling).clamp_min(0)
    return excess.square().sum() / wave.square().sum().clamp_min(1e-12)

