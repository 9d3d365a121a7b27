"""What a style model learns: the transfer's own loss, for a batch of content crops.

This module is the style models' one link to the synthesis internals: the style loss and its
targets (:mod:`audiostyle.synthesis.targets`, :mod:`~audiostyle.synthesis.losses`), the
structure term (:mod:`~audiostyle.synthesis.structure`), the strength's schedule
(:mod:`~audiostyle.synthesis.strength`) and the headroom term of the sound domains. A model's
output for a content crop is scored exactly as a transfer scores its result for that content:
style statistics towards the (blended) style target, pulled towards the crop's own statistics
by the strength, plus the structure term holding the crop's pitch classes, onsets and
loudness, plus the headroom term.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ..extractors import Extractor
from ..synthesis.domains import sound_terms
from ..synthesis.losses import StyleLoss, mix_targets, transfer_loss
from ..synthesis.strength import schedule
from ..synthesis.structure import StructureLoss
from ..synthesis.targets import make_style_loss
from ..synthesis.terms import LossTerms, Signal

#: The terms a sound domain adds to a transfer's loss (the headroom term): a model's output is
#: a sound, so it is scored as a waveform-domain transfer scores its result.
SOUND_DOMAIN_TERMS = sound_terms()


def style_loss_for(net: Extractor) -> StyleLoss:
    """The style loss a transfer with ``net`` uses (no rhythm term)."""
    return make_style_loss(net, 0.0, 1.0)


def style_statistics(
    loss: StyleLoss, wave: np.ndarray, crop: int | None, crops: int, rng: np.random.Generator,
    device: torch.device,
) -> dict[str, object]:
    """The target statistics of one style ``(channels, time)`` at the extractor's rate: of the
    whole sound (``crop`` None, as a transfer computes them), or the mean of the statistics
    of ``crops`` random crops of ``crop`` samples (what a crop of that length can match)."""
    length = wave.shape[1]
    if crop is None or crop >= length:
        pieces = [(torch.from_numpy(wave).to(device), 1.0)]
    else:
        starts = rng.integers(0, length - crop + 1, crops)
        pieces = [(torch.from_numpy(np.ascontiguousarray(wave[:, s:s + crop])).to(device),
                   1.0 / crops) for s in starts]
    return loss.statistics((loss.extractor.analyse(x), w) for x, w in pieces)


def blend(parts: Sequence[tuple[dict[str, object], float]]) -> dict[str, object]:
    """The weighted mix of several styles' statistics (weights normalised to sum 1)."""
    total = sum(w for _, w in parts)
    return mix_targets([(targets, w / total) for targets, w in parts])


@dataclass
class Objective:
    """The transfer loss of a model's output for its content crops: for each crop, the terms
    a transfer of that crop would minimise (:func:`~audiostyle.synthesis.losses.transfer_loss`
    with the sound domains' headroom term), at the weights the strength gives.

    Args:
        net: the extractor.
        target: the (blended) style statistics of :func:`style_statistics` / :func:`blend`.
        strength: the model's strength (0 … 1), through :func:`~.strength.schedule` with the
            extractor's model structure weight (``defaults.model``, larger than a transfer's).
    """

    net: Extractor
    target: dict[str, object]
    strength: float

    def __post_init__(self) -> None:
        self.share, self.structure_weight = schedule(self.strength,
                                                     self.net.defaults.model.structure_weight)

    def __call__(self, content: Tensor, output: Tensor) -> dict[str, Tensor]:
        """Each term's weighted value and the ``total``, per crop ``(batch,)``, for ``output``
        ``(batch, time)`` made from ``content`` ``(batch, time)`` at the extractor's rate."""
        crops = [self._terms(content[i:i + 1], output[i:i + 1])
                 for i in range(content.shape[0])]
        names = {name for values in crops for name in values}
        zero = torch.zeros((), dtype=torch.float64, device=output.device)
        out = {name: torch.stack([values.get(name, zero) for values in crops])
               for name in sorted(names)}
        out["total"] = torch.stack([sum(values.values()) for values in crops])
        return out

    def _terms(self, content: Tensor, output: Tensor) -> dict[str, Tensor]:
        """The weighted terms of one crop ``(1, time)``."""
        loss = self._loss(content)
        signal = Signal(self.net.analyse(output), output, extractor=self.net)
        return loss.values(signal)

    def _loss(self, content: Tensor) -> LossTerms:
        """The loss of one content crop: its style target (pulled towards the crop's own
        statistics below full style), the structure term holding it, the headroom term."""
        style = style_loss_for(self.net)
        if self.share >= 1:
            style.load_target(self.target)
        else:
            own = style.statistics([(self.net.analyse(content), 1.0)])
            style.load_target(mix_targets([(self.target, self.share), (own, 1 - self.share)]))
        structure = None
        if self.structure_weight > 0:
            structure = StructureLoss(content, self.net.sample_rate, self.net.spectrogram,
                                      slack_db=self.net.defaults.loudness_slack_db)
        terms = transfer_loss(style, structure=structure,
                              structure_weight=self.structure_weight).terms
        return LossTerms([*terms, *SOUND_DOMAIN_TERMS])
