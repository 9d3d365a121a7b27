"""What the result is matched to: the style's statistics, computed once, mixed by a blend.

A :class:`StyleTarget` is what :class:`~audiostyle.synthesis.losses.StyleLoss` matches (one
target per layer) plus what identifies it: the extractor's name, options and rate. It holds
CPU tensors and pickles, so a batch computes it once per style and hands it to worker
processes or Ray's object store (:mod:`audiostyle.runs.engines`). Build one with
:func:`style_target`; pass it as the ``style`` of :func:`audiostyle.transfer`, which gives
bit-for-bit the result it gives for the style sound itself (on the same device and thread
count). A :class:`Blend` says how several styles (and the content, by the strength) mix into
one target; :func:`load_target` computes that target, each sound piece by piece
(:func:`style_pieces`), so a long style costs no more memory than a chunk.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .._util import described
from ..errors import AudioStyleError
from ..extractors import DEFAULT_EXTRACTOR, Extractor, build_extractor, check_length
from ..io.audio import Audio, AudioLike, as_audio, resample, silence
from ..io.devices import resolve_device
from .chunking import DEFAULT_CHUNK_SECONDS, chunk_sizes, plan_chunks
from .losses import StyleLoss, mix_targets
from .settings import DEFAULT_RHYTHM_SECONDS, Settings

#: Extractor options as the command line writes them: sorted ``(key, text)`` pairs.
OptionPairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class StyleTarget:
    """A style's statistics under one configured extractor.

    Attributes:
        extractor: registry name.
        options: extractor options (:func:`option_pairs`), the working rate included.
        sample_rate: the extractor's rate in Hz.
        statistics: layer → target (:meth:`audiostyle.extractors.statistics.Statistic.target`).
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
            made, wanted = described(self.extractor, self.options), described(extractor, options)
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


#: One style: a sound (path, Audio, array) or its statistics from :func:`style_target`.
Style = AudioLike | StyleTarget


@dataclass(frozen=True)
class Blend:
    """What the result's statistics are matched to: the weighted mix of the statistics of
    ``styles`` (weights normalised to sum 1), pulled towards the content's by ``style_share``
    (target = ``(1 − share)·S(content) + share·Σ wᵢ·S(styleᵢ)``; the strength sets the share,
    see :mod:`.strength`), plus, with
    ``rhythm_weight > 0``, the autocorrelation of the feature maps over delays up to
    ``rhythm_seconds``."""

    styles: list[Audio | StyleTarget]
    weights: list[float]
    style_share: float = 1.0
    rhythm_weight: float = 0.0
    rhythm_seconds: float = DEFAULT_RHYTHM_SECONDS

    @property
    def main(self) -> Audio | StyleTarget:
        """The style of largest weight (noise starts and a texture's channels follow it)."""
        return main_style(self.styles, self.weights)


def style_target(
    style: AudioLike,
    *,
    sr: int | None = None,
    extractor: str = DEFAULT_EXTRACTOR,
    options: dict[str, Any] | None = None,
    working_sr: int | None = None,
    rhythm_seconds: float | None = None,
    device: str | torch.device | None = None,
) -> StyleTarget:
    """The statistics of ``style`` under an extractor, to pass as ``style`` to many transfers.

    Arguments as in :func:`transfer`; with ``rhythm_seconds``, also the rhythm term's targets
    (for transfers with ``rhythm_weight > 0`` and the same ``rhythm_seconds``). The tensors
    are returned on the CPU.
    """
    target_device = resolve_device(device)
    net = build_extractor(extractor, options, working_sr).to(target_device)
    loss = make_style_loss(net, 0.0 if rhythm_seconds is None else 1.0,
                       rhythm_seconds or DEFAULT_RHYTHM_SECONDS)
    wave = style_wave(as_audio(style, sr, name="style"), net, loss.rhythm_lags)
    return StyleTarget(net.name, option_pairs(options, working_sr), net.sample_rate,
                       statistics_of(loss, wave, DEFAULT_CHUNK_SECONDS, target_device),
                       torch.from_numpy(wave), loss.rhythm_lags).to("cpu")


def make_blend(
    style: Style | Sequence[Style],
    sr: int | None,
    weights: Sequence[float] | None,
    settings: Settings,
    style_share: float = 1.0,
) -> Blend:
    """Check and gather what the target is made of (see :class:`Blend`): the styles (sounds
    read, statistics as they are), their weights, their ``style_share`` of the target and
    the rhythm term of ``settings``."""
    styles = list(style) if isinstance(style, (list, tuple)) else [style]
    if not styles:
        raise AudioStyleError("no style given")
    weights = [1.0] * len(styles) if weights is None else [float(w) for w in weights]
    if len(weights) != len(styles):
        raise AudioStyleError(f"{len(weights)} `style_weights` for {len(styles)} styles; give "
                              "one weight per style")
    if not all(w >= 0 and math.isfinite(w) for w in weights) or sum(weights) <= 0:
        raise AudioStyleError(f"`style_weights` must be >= 0 with a positive sum, got {weights}")
    names = ["style"] if len(styles) == 1 else [f"style {i + 1}" for i in range(len(styles))]
    loaded = [s if isinstance(s, StyleTarget) else as_audio(s, sr, name=n)
              for s, n in zip(styles, names, strict=True)]
    total = sum(weights)
    return Blend(loaded, [w / total for w in weights], style_share,
                 settings.rhythm_weight, settings.rhythm_seconds)


def main_style(styles: Sequence[Any], weights: Sequence[float] | None) -> Any:
    """The style of largest weight (the first of those; equal weights when None)."""
    weights = [1.0] * len(styles) if weights is None else weights
    return styles[max(range(len(styles)), key=weights.__getitem__)]


def make_style_loss(net: Extractor, rhythm_weight: float, rhythm_seconds: float) -> StyleLoss:
    """The style loss, with a rhythm term over ``rhythm_seconds`` when ``rhythm_weight > 0``."""
    lags = 0
    if rhythm_weight > 0 and net.frame_rate is not None:  # (StyleLoss refuses the others)
        lags = max(1, round(rhythm_seconds * net.frame_rate))
    return StyleLoss(net, rhythm_weight=rhythm_weight, rhythm_lags=lags)


def load_target(
    style_loss: StyleLoss,
    blend: Blend,
    content: np.ndarray | None,
    chunk_seconds: float,
    device: torch.device,
) -> np.ndarray:
    """Give ``style_loss`` the target of ``blend`` (each style's statistics, mixed by weight
    and pulled towards those of ``content`` ``(channels, time)`` by the style share); returns the
    main style ``(channels, time)`` at the extractor's rate."""
    net = style_loss.extractor
    parts, main = [], None
    for style, weight in zip(blend.styles, blend.weights, strict=True):
        if weight == 0:  # left out (the main style has the largest weight, so it is not)
            continue
        if isinstance(style, StyleTarget):
            wave, targets = style.wave.numpy(), style.to(device).statistics
        else:
            wave = style_wave(style, net, style_loss.rhythm_lags)
            targets = statistics_of(style_loss, wave, chunk_seconds, device)
        main = wave if style is blend.main else main
        parts.append((targets, weight * blend.style_share))
    if content is not None and blend.style_share < 1:
        content_targets = statistics_of(style_loss, content, chunk_seconds, device)
        parts.append((content_targets, 1 - blend.style_share))
    style_loss.load_target(mix_targets(parts))
    return main


def statistics_of(
    style_loss: StyleLoss, wave: np.ndarray, chunk_seconds: float, device: torch.device
) -> dict[str, object]:
    """The statistics of ``wave`` ``(channels, time)`` at the extractor's rate, per term of
    ``style_loss``, computed piece by piece (:func:`style_pieces`)."""
    return style_loss.statistics(style_pieces(wave, style_loss.extractor, chunk_seconds, device,
                                              style_loss.rhythm_lags))


def style_pieces(
    style: np.ndarray, net: Extractor, chunk_seconds: float, device: torch.device, lags: int = 0
) -> Iterator[tuple[Tensor, float]]:
    """The style ``(channels, time)`` as ``(analysed piece, weight)`` pairs for
    :meth:`StyleLoss.statistics`, made one at a time: pieces as long as content chunks,
    weighted by their length, so a long style needs no more memory than a chunk."""
    chunk, _ = chunk_sizes(chunk_seconds, style.shape[0], net, lags)
    length = style.shape[1]
    for start, stop in plan_chunks(length, chunk, 0):
        piece = torch.from_numpy(np.ascontiguousarray(style[:, start:stop])).to(device)
        yield net.analyse(piece), (stop - start) / length


def style_wave(style: Audio, net: Extractor, lags: int = 0) -> np.ndarray:
    """The style ``(channels, time)`` at the extractor's rate; refused when silent or too
    short for the rhythm term over ``lags`` frames."""
    wave = at_rate(style, net, lags)
    why = silence(wave)
    if why is not None:
        raise AudioStyleError(
            f"{style.name}: is silent ({why}): a silent style has no texture to take on"
        )
    return wave


def at_rate(audio: Audio, net: Extractor, lags: int = 0) -> np.ndarray:
    """``(channels, time)`` float32 at the extractor's rate, long enough to analyse (with a
    rhythm term over ``lags`` frames)."""
    wave = resample(audio, net.sample_rate).samples
    check_length(wave.shape[1], net, audio.name, lags)
    return wave
