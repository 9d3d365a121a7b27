"""The terms of a transfer's loss: style distance per layer to a cached target, the rhythm
term, an optional content distance, the structure term (:mod:`.structure`) and the headroom
term; :func:`transfer_loss` puts them together as named, weighted :class:`~.terms.LossTerms`.

Every layer's distance is relative to the size of its target (``‖S − S*‖² / ‖S*‖²``), so layers
of very different magnitudes weigh alike and a distance of ``-30 dB`` means the same thing for
every extractor (it is the McDermott "statistics SNR" of that layer, negated).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import torch
from torch import Tensor, nn

from ..errors import AudioStyleError
from ..extractors import Extractor
from ..extractors.statistics import Autocorrelation, Statistic
from .structure import StructureLoss
from .terms import LossTerms, Signal, Weighted

#: Floor of target norms, so that a silent target gives large but finite distances.
_TINY = 1e-30
#: Suffix of the loss terms that match a layer's autocorrelation (the rhythm term).
RHYTHM = ":rhythm"


class StyleLoss(nn.Module):
    """``Σ_layers w_l · ‖S_l(x) − S_l*‖² / ‖S_l*‖²`` summed over the batch.

    ``S`` is the layer's statistic (:meth:`~Extractor.statistic_of`). The target ``S*`` is
    given once by :meth:`load_target` (statistics from :meth:`statistics`, possibly mixed by
    :func:`mix_targets`) or :meth:`set_target` (both at once) and reused. Targets that do not
    fit this loss raise :class:`AudioStyleError`; calling the loss before a target is given is
    a programming error (``RuntimeError``).

    With ``rhythm_weight > 0`` each layer also gets a term ``"<layer>:rhythm"`` that matches
    the :class:`~audiostyle.extractors.statistics.Autocorrelation` of its maps over
    ``1..rhythm_lags`` frames (Antognini et al. 2019), weighted ``rhythm_weight`` × the layer's
    weight; it needs an extractor whose maps run over time (:attr:`Extractor.frame_rate`).

    Args:
        extractor: the feature extractor.
        layer_weights: weight per layer; layers left out are not matched. Defaults to the
            extractor's :attr:`~Extractor.layer_weights`.
        rhythm_weight: weight of the autocorrelation terms (0: none).
        rhythm_lags: lags of the autocorrelation, in feature frames.
    """

    def __init__(
        self,
        extractor: Extractor,
        layer_weights: Mapping[str, float] | None = None,
        *,
        rhythm_weight: float = 0.0,
        rhythm_lags: int = 0,
    ) -> None:
        super().__init__()
        self.extractor = extractor
        self.layer_weights = dict(layer_weights or extractor.layer_weights)
        self._statistics: dict[str, Statistic] = {
            layer: extractor.statistic_of(layer) for layer in self.layer_weights}
        self.rhythm_lags = rhythm_lags if rhythm_weight > 0 else 0
        if rhythm_weight > 0:
            if extractor.frame_rate is None:
                raise AudioStyleError(f"the rhythm term needs feature maps over time; the "
                                      f"{extractor.name} extractor's are not")
            rhythm = Autocorrelation(rhythm_lags)
            for layer, weight in list(self.layer_weights.items()):
                self.layer_weights[layer + RHYTHM] = rhythm_weight * weight
                self._statistics[layer + RHYTHM] = rhythm
        self._targets: dict[str, object] | None = None
        self._norms: dict[str, Tensor] = {}

    @torch.no_grad()
    def statistics(self, inputs: Iterable[tuple[Tensor, float]]) -> dict[str, object]:
        """The weighted mix of the statistics of ``(input, weight)`` pairs per term of this
        loss (see :meth:`Statistic.target`), inputs as :meth:`Extractor.analyse` returns them.
        Each input's statistics are averaged over its batch (channels).

        Inputs are analysed one at a time and reduced to their statistics at once, so a long
        sound given as several pieces (an iterable that makes them on demand) never has all
        its feature maps in memory together.
        """
        targets: dict[str, object] = {}
        for x, w in inputs:
            features = self.extractor.features(x)
            for key, statistic in self._statistics.items():
                part = statistic.target([(features[key.removesuffix(RHYTHM)], w)])
                targets[key] = targets[key] + part if key in targets else part
            del features
        if not targets:
            raise AudioStyleError("no sound to compute the style statistics of")
        return targets

    def set_target(self, inputs: Iterable[tuple[Tensor, float]]) -> None:
        """Match the :meth:`statistics` of ``inputs``."""
        self.load_target(self.statistics(inputs))

    def load_target(self, targets: Mapping[str, object]) -> None:
        """Match ``targets`` (:meth:`statistics` of a loss on the same extractor and terms)."""
        missing = set(self.layer_weights) - set(targets)
        if missing:
            raise AudioStyleError(f"these style statistics lack {', '.join(sorted(missing))}; "
                                  "compute them with the same extractor and settings")
        self._targets = {layer: targets[layer] for layer in self.layer_weights}
        # each target's norm once, with the target: the infinite nets' compares every frame of
        # the style with every other, as costly as many iterations for a long style
        self._norms = {key: self._statistics[key].norm(target).clamp_min(_TINY)
                       for key, target in self._targets.items()}

    def distance(self, key: str, features: Mapping[str, Tensor]) -> Tensor:
        """Relative squared distance of term ``key`` (a layer, or ``<layer>:rhythm``) to its
        target (batch-summed, float64)."""
        if self._targets is None:
            raise RuntimeError("StyleLoss: load_target() before evaluating the loss")
        distance = self._statistics[key].distance(features[key.removesuffix(RHYTHM)],
                                                  self._targets[key])
        return distance.sum() / self._norms[key]

    def layer_distances(self, features: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """Relative squared distance of each term to its target (batch-summed, float64)."""
        return {key: self.distance(key, features) for key in self.layer_weights}

    def terms(self) -> list[Weighted]:
        """One loss term per layer (``style/<layer>``) and per rhythm term
        (``rhythm/<layer>``), weighted as this loss weighs them."""
        def term(key: str) -> Weighted:
            kind = "rhythm" if key.endswith(RHYTHM) else "style"
            return Weighted(f"{kind}/{key.removesuffix(RHYTHM)}", self.layer_weights[key],
                            lambda signal: self.distance(key, signal.features))
        return [term(key) for key in self.layer_weights]

    def forward(self, features: Mapping[str, Tensor]) -> Tensor:
        distances = self.layer_distances(features)
        return sum(self.layer_weights[layer] * d for layer, d in distances.items())


def mix_targets(parts: Sequence[tuple[Mapping[str, object], float]]) -> dict[str, object]:
    """``Σ w · targets`` per layer, for ``(targets, w)`` pairs (:meth:`StyleLoss.statistics`),
    parts of weight 0 left out (so a mix with one non-zero weight of 1 is that target, to the
    bit). For squared distances, matching the mix is matching the weighted sum of the
    distances to each part: ``Σ wᵢ‖S − Sᵢ‖² = ‖S − Σ wᵢSᵢ‖² + const`` when ``Σ wᵢ = 1``."""
    kept = [(targets, w) for targets, w in parts if w > 0]
    if not kept:
        raise ValueError("mix_targets needs a part with a positive weight")
    return {layer: sum((w * targets[layer] for targets, w in kept[1:]),
                       kept[0][1] * kept[0][0][layer])
            for layer in kept[0][0]}


class ContentLoss(nn.Module):
    """The paper's content loss: ``Σ_layers ‖F_l(x) − F_l(c)‖² / ‖F_l(c)‖²`` for fixed content
    feature maps ``F(c)``, on the same maps the style loss matches (a loss term)."""

    def __init__(self, content_features: Mapping[str, Tensor]) -> None:
        super().__init__()
        self.content = {k: v.detach() for k, v in content_features.items()}

    def forward(self, signal: Signal) -> Tensor:
        features = signal.features
        distances = [
            (features[layer] - reference).double().square().sum()
            / reference.double().square().sum().clamp_min(_TINY)
            for layer, reference in self.content.items()
        ]
        return torch.stack(distances).sum()


def transfer_loss(
    style: StyleLoss,
    content: ContentLoss | None = None,
    content_weight: float = 0.0,
    structure: StructureLoss | None = None,
    structure_weight: float = 0.0,
) -> LossTerms:
    """The loss of a transfer (or a texture, with neither content nor structure term): the
    style terms (:meth:`StyleLoss.terms`), ``content_weight`` × the content loss and
    ``structure_weight`` × the structure term (:class:`~.structure.StructureLoss`: the
    content's pitch classes, onsets and loudness). Terms of weight 0 are left out."""
    terms = style.terms()
    if content is not None:
        terms.append(Weighted("content", content_weight, content))
    if structure is not None:
        terms.append(Weighted("structure", structure_weight, structure))
    return LossTerms(terms)


def headroom_excess(wave: Tensor, ceiling: float) -> Tensor:
    """Energy of ``wave`` above ``ceiling`` (linear) relative to its total energy, a scalar.

    Zero when no sample exceeds the ceiling; added to waveform-domain losses so that the
    result fits under the output's peak ceiling by itself instead of being scaled down later,
    which would change level-dependent statistics (see ``domains.HEADROOM_WEIGHT``).
    """
    excess = (wave.abs() - ceiling).clamp_min(0)
    return excess.square().sum() / wave.square().sum().clamp_min(1e-12)


class Headroom:
    """The headroom term: :func:`headroom_excess` of the signal's waveform above ``ceiling``
    (linear); it does not apply where the domain has no waveform."""

    def __init__(self, ceiling: float) -> None:
        self.ceiling = ceiling

    def __call__(self, signal: Signal) -> Tensor | None:
        return None if signal.wave is None else headroom_excess(signal.wave, self.ceiling)

