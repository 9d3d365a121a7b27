"""Style statistics as a value: computed once, reused by every transfer towards that style.

A :class:`StyleTarget` is what :class:`~audiostyle.losses.StyleLoss` matches (one target per
layer) plus what identifies it: the extractor's name, options and rate. It holds CPU tensors
and pickles, so a batch computes it once per style and hands it to worker processes or Ray's
object store (:mod:`audiostyle.engines`). Build one with
:func:`audiostyle.transfer.style_target`; pass it as the ``style`` of
:func:`~audiostyle.transfer.transfer`, which gives bit-for-bit the result it gives for the
style sound itself (on the same device and thread count).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import AudioStyleError

#: Extractor options as the command line writes them: sorted ``(key, text)`` pairs.
OptionPairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class StyleTarget:
    """A style's statistics under one configured extractor.

    Attributes:
        extractor: registry name.
        options: extractor options (:func:`option_pairs`), the working rate included.
        sample_rate: the extractor's rate in Hz.
        statistics: layer → target (:meth:`audiostyle.statistics.Statistic.target`).
        rhythm_lags: lags of the rhythm term's autocorrelation targets, in feature frames
            (0: none).
        wave: the style ``(channels, time)`` at ``sample_rate`` (its channel count and the
            noise start of a texture come from it).
    """

    extractor: str
    options: OptionPairs
    sample_rate: int
    statistics: dict[str, Any]
    wave: torch.Tensor
    rhythm_lags: int = 0

    def to(self, device: torch.device | str) -> StyleTarget:
        """The same target with its tensors on ``device``."""
        moved = {layer: value.to(device) for layer, value in self.statistics.items()}
        return StyleTarget(self.extractor, self.options, self.sample_rate, moved,
                           self.wave.to(device), self.rhythm_lags)

    def check(self, extractor: str, options: OptionPairs, rhythm_lags: int = 0) -> None:
        """Raise :class:`AudioStyleError` unless made for ``extractor`` with ``options`` and a
        rhythm term over ``rhythm_lags`` frames (0: none)."""
        if rhythm_lags and rhythm_lags != self.rhythm_lags:
            raise AudioStyleError(f"these style statistics were computed without a rhythm term "
                                  f"over {rhythm_lags} frames; compute them with the same "
                                  "rhythm_seconds")
        if (extractor, options) != (self.extractor, self.options):
            made, wanted = _described(self.extractor, self.options), _described(extractor, options)
            raise AudioStyleError(f"these style statistics were computed for {made}, not "
                                  f"{wanted}; compute them with the same extractor and options")


def option_pairs(options: Mapping[str, Any] | None, working_sr: int | None = None) -> OptionPairs:
    """Options as sorted ``(key, text)`` pairs; ``working_sr`` as ``sample_rate``."""
    merged = dict(options or {})
    if working_sr is not None:
        merged["sample_rate"] = working_sr
    return tuple(sorted((key, option_text(value)) for key, value in merged.items()))


def option_text(value: Any) -> str:
    """An option value as the command line writes it (sequences comma-separated)."""
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def _described(extractor: str, options: OptionPairs) -> str:
    inner = ", ".join(f"{key}={value}" for key, value in options)
    return f"{extractor} ({inner})" if inner else extractor
