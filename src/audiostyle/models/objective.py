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
from ..io.audio import PEAK_CEILING_DB
from ..synthesis.domains import HEADROOM_WEIGHT
from ..synthesis.losses import StyleLoss, headroom_excess, mix_targets
from ..synthesis.strength import schedule
from ..synthesis.structure import PARTS as STRUCTURE_PARTS
from ..synthesis.structure import StructureLoss
from ..synthesis.targets import make_style_loss


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
    """The transfer loss of a model's output for its content crops.

    Args:
        net: the extractor.
        target: the (blended) style statistics of :func:`style_statistics` / :func:`blend`.
        strength: the transfer's strength (0 … 1), through :func:`~.strength.schedule`.
    """

    net: Extractor
    target: dict[str, object]
    strength: float

    def __post_init__(self) -> None:
        self.style = style_loss_for(self.net)
        self.style.load_target(self.target)
        self.share, self.structure_weight = schedule(self.strength, self.net.structure_weight)

    def __call__(self, content: Tensor, output: Tensor) -> dict[str, Tensor]:
        """Each part and the ``total`` for ``output`` ``(batch, time)`` made from ``content``
        ``(batch, time)`` at the extractor's rate, per crop ``(batch,)``."""
        batch = content.shape[0]
        inputs = self.net.analyse(output)
        features = self.net.features(inputs)
        style = torch.stack([self._style(content[i:i + 1], {k: v[i:i + 1]
                                                          for k, v in features.items()})
                             for i in range(batch)])
        ceiling = 10.0 ** (PEAK_CEILING_DB / 20.0)
        headroom = torch.stack([headroom_excess(output[i], ceiling) for i in range(batch)])
        parts = {"style": style, "headroom": headroom}
        total = style + HEADROOM_WEIGHT * headroom
        if self.structure_weight > 0:
            structure = StructureLoss(content, self.net.sample_rate, self.net.spectrogram,
                                      slack_db=self.net.loudness_slack_db)
            # per crop: StructureLoss.forward's choice of view, without its sum over the batch
            view = inputs if structure.reads_spectrogram else output
            parts["structure"] = sum(structure.parts(view).values()) / len(STRUCTURE_PARTS)
            total = total + self.structure_weight * parts["structure"]
        else:
            parts["structure"] = torch.zeros_like(style)
        return {**parts, "total": total}

    def _style(self, content: Tensor, features: dict[str, Tensor]) -> Tensor:
        """The style loss of one crop: to the target, or (strength below full style) to the
        target pulled towards the crop's own statistics."""
        if self.share >= 1:
            return self.style(features)
        own = self.style.statistics([(self.net.analyse(content), 1.0)])
        loss = style_loss_for(self.net)
        loss.load_target(mix_targets([(self.target, self.share), (own, 1 - self.share)]))
        return loss(features)
