"""A toy extractor with installable weights, registered on import (for CLI tests in a child).

``toy`` is the shallow network made small (n_fft 256, 8 filters of width 3) whose filters come
from the weights store (``audiostyle weights install toy``) instead of a seed: the way the
pretrained extractors use their weights.
"""

from __future__ import annotations

import sys

import numpy as np

from audiostyle import extractors, weights
from audiostyle.extractors.shallow import ShallowExtractor

TOY_WEIGHTS = weights.WeightsSpec(
    name="toy",
    description="toy filters for tests",
    convert=lambda source: {
        "conv.weight": np.random.default_rng(0).standard_normal((8, 129, 3)).astype(np.float32)
        * 0.05,
    },
    how_to_get="run `audiostyle weights install toy`",
)


class ToyExtractor(ShallowExtractor):
    """Eight pretrained filters of width 3 on a 256-point spectrogram (a test extractor)."""

    name = "toy"

    def __init__(self, *, sample_rate: int = 22050) -> None:
        super().__init__(sample_rate=sample_rate, n_fft=256, hop_length=64, filters=8,
                         kernel_width=3, form="drawn")
        self.weight = weights.load("toy")["conv.weight"]


sys.modules["audiostyle.extractors.toy"] = sys.modules[__name__]
extractors.REGISTRY["toy"] = "toy:ToyExtractor"
weights.REGISTRY["toy"] = f"{__name__}:TOY_WEIGHTS"
