"""Style transfer and texture synthesis, end to end.

The pipeline, top to bottom: load and check the inputs → resample them to the extractor's rate
→ compute the style target once (from all of the style's channels) → cut the content into
overlapping chunks (:mod:`audiostyle.chunking`) → for each chunk: start from the content (or
from noise), optimise in the chosen domain, back to a waveform (Griffin-Lim in the spectrogram
domain) → cross-fade the chunks → resample to the output rate. Writing files is left to the
caller (:func:`audiostyle.audio.save_audio`).

Channels: every channel of the content is matched to the same style statistics; the channels
are the batch of one optimisation per chunk (the loss sums them). On stereo tests this matched
each channel as well as separate runs, kept more of the content's inter-channel correlation,
and was faster; mid/side with the same target left the left and right channels far from the
style (their statistics are those of a sum of two textures). See docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..errors import AudioStyleError
from ..extractors import Extractor, get_extractor
from ..io.audio import Audio, AudioLike, as_audio, check_rate, is_silent, resample, to_mono
from ..io.devices import resolve_device
from .chunking import Stitcher, plan_chunks
from .losses import StyleLoss, mix_targets
from .optimiser import Trace, to_db
from .stages import DEFAULT_REFINE_ITERATIONS, Settings, merge_stages, render_chunk
from .targets import StyleTarget, option_pairs

log = logging.getLogger(__name__)

INITS = ("content", "noise")
#: Longest chunk, in seconds of one channel at the working rate; a content of ``c`` channels
#: gets chunks ``c`` times shorter (at least 4 × the extractor's shortest input), so that the
#: optimiser's memory does not depend on the length or the channel count.
DEFAULT_CHUNK_SECONDS = 20.0
#: Cross-fade between chunks in seconds (at most a quarter of a chunk, at least the
#: extractor's shortest input).
OVERLAP_SECONDS = 1.0
#: Longest delay the rhythm term matches, in seconds (covers one bar at 120 bpm).
DEFAULT_RHYTHM_SECONDS = 2.0

#: One style: a sound (path, Audio, array) or its statistics from :func:`style_target`.
Style = AudioLike | StyleTarget


@dataclass(frozen=True)
class Blend:
    """What the result's statistics are matched to: the weighted mix of the statistics of
    ``styles`` (weights normalised to sum 1), pulled towards the content's by ``strength``
    (target = ``(1 − strength)·S(content) + strength·Σ wᵢ·S(styleᵢ)``), plus, with
    ``rhythm_weight > 0``, the autocorrelation of the feature maps over delays up to
    ``rhythm_seconds``."""

    styles: list[Audio | StyleTarget]
    weights: list[float]
    strength: float = 1.0
    rhythm_weight: float = 0.0
    rhythm_seconds: float = DEFAULT_RHYTHM_SECONDS

    @property
    def main(self) -> Audio | StyleTarget:
        """The style of largest weight (noise starts and a texture's channels follow it)."""
        return self.styles[max(range(len(self.styles)), key=self.weights.__getitem__)]


@dataclass
class Result:
    """A synthesised sound and how it was made.

    Attributes:
        audio: the result, ``(channels, time)`` at the output rate, not peak-limited.
        stages: the optimisation trace of each stage, by domain name, in order (the
            ``spectrogram`` stage, then the ``waveform`` refinement when there is one). All
            losses are relative to the loss of the starting point. With several chunks: all
            chunks' losses in order, the best loss averaged over chunks (length-weighted).
        chunks: the stages of each chunk that was optimised, in order.
        extractor: extractor name.
        working_sr: the rate the optimisation ran at, in Hz.
        loss_db: the loss of the result itself (re-analysed), in dB relative to the start:
            the number that says how far the sound moved towards the style.
        style_distance_db: ``10·log10`` of the style loss of the result per channel
            (per-layer relative squared distances to the style statistics, summed): ``-20``
            means the result's statistics are within 1 % (in squared norm) of the style's.
            Both are averaged over chunks (length-weighted), each chunk analysed alone.
        stopped_early: Ctrl-C stopped the work between or inside chunks (see
            :attr:`interrupted`).
    """

    audio: Audio
    stages: dict[str, Trace]
    extractor: str
    working_sr: int
    loss_db: float
    style_distance_db: float
    chunks: list[dict[str, Trace]]
    stopped_early: bool = False

    @property
    def interrupted(self) -> bool:
        """Whether Ctrl-C stopped the work early; ``audio`` then ends with the last chunk
        that was optimised (its best iterate), so it can be shorter than asked for."""
        return self.stopped_early or any(t.interrupted for t in self.stages.values())

    @property
    def iterations(self) -> int:
        """Loss evaluations over all stages."""
        return sum(t.iterations for t in self.stages.values())

    @property
    def seconds(self) -> float:
        """Optimisation time over all stages."""
        return sum(t.seconds for t in self.stages.values())


def transfer(
    content: AudioLike,
    style: Style | Sequence[Style],
    *,
    style_weights: Sequence[float] | None = None,
    strength: float = 1.0,
    rhythm_weight: float = 0.0,
    rhythm_seconds: float = DEFAULT_RHYTHM_SECONDS,
    sr: int | None = None,
    extractor: str | Extractor = "shallow",
    options: dict[str, Any] | None = None,
    working_sr: int | None = None,
    domain: str | None = None,
    init: str = "content",
    iterations: int | None = None,
    refine_iterations: int | None = None,
    content_weight: float = 0.0,
    optimizer: str = "lbfgs",
    learning_rate: float | None = None,
    griffin_lim_iterations: int = 100,
    seed: int = 0,
    device: str | torch.device | None = None,
    output_sr: int | None = None,
    mono: bool = False,
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
    progress: bool = True,
) -> Result:
    """Re-make ``content`` out of the texture of ``style`` (Grinstein et al., 2018).

    The result starts as the content (``init="content"``) and is optimised until its style
    statistics match the style's; no content loss is used unless ``content_weight > 0``.
    Each channel of the content is matched to the statistics of the whole style (averaged over
    its channels); long contents are processed in cross-faded chunks.

    Args:
        content: path, :class:`~audiostyle.audio.Audio` or array ``(time,)``/``(channels,
            time)``; the output has its length and (unless ``mono``) its channels.
        style: the same kinds, any length the extractor can analyse, any channels; or its
            statistics computed before by :func:`style_target` with the same extractor and
            options; or a list of styles to blend.
        style_weights: one weight >= 0 per style (default: equal); normalised to sum 1.
            The target statistics are the weighted mix of the styles' statistics.
        strength: 0 … 1: how far the target statistics move from the content's (0: the
            content is returned unchanged) to the style's (1, the default: the paper's
            result); the target is ``(1 − strength)·S(content) + strength·S(style)``.
        rhythm_weight: weight of the rhythm term, which also matches the autocorrelation of
            the feature maps over delays up to ``rhythm_seconds`` (extractors whose maps run
            over time: shallow, shallow-multi); 0 (the default) leaves it out.
        rhythm_seconds: longest delay the rhythm term matches, in seconds.
        sr: sample rate in Hz of array inputs (8000–192000).
        extractor: registry name (``audiostyle.extractors.available()``) or an instance.
        options: extractor options (``audiostyle.extractors.options(name)``).
        working_sr: analysis rate in Hz, for extractors that take one (default: theirs).
        domain: ``"spectrogram"`` or ``"waveform"`` (default: the extractor's); see
            :mod:`audiostyle.domains`.
        init: ``"content"`` (the paper's) or ``"noise"`` (seeded white noise at the content's
            RMS). Silent content channels start from noise at the style's RMS either way.
        iterations: loss evaluations in ``domain`` per chunk (default: the extractor's
            ``default_iterations``).
        refine_iterations: waveform-domain evaluations after a spectrogram-domain stage and
            Griffin-Lim, so that the sound itself, not only the optimised magnitude, has the
            style's statistics (default :data:`DEFAULT_REFINE_ITERATIONS`; 0 = the paper's
            method exactly). Ignored in the waveform domain.
        content_weight: weight (>= 0) of the relative content feature distance.
        optimizer: ``"lbfgs"`` or ``"adam"``; ``learning_rate`` applies to Adam only.
        griffin_lim_iterations: phase recovery steps (spectrogram domain).
        seed: seeds the noise and the Griffin-Lim phase; same inputs and seed, same output.
        device: ``"cpu"``, ``"cuda"``, ``"mps"`` or None for the best available.
        output_sr: rate of the result in Hz (default: the content's).
        mono: downmix the content and give a one-channel result.
        chunk_seconds: longest chunk in seconds of one channel (see
            :data:`DEFAULT_CHUNK_SECONDS`); smaller uses less memory.
        progress: show a progress bar.
    """
    content_audio = as_audio(content, sr, name="content")
    if not 0 <= strength <= 1:
        raise AudioStyleError(f"strength must be between 0 and 1, got {strength}")
    blend = _blend(style, sr, style_weights, rhythm_weight, rhythm_seconds, strength)
    if init not in INITS:
        raise AudioStyleError(f"Unknown init {init!r}; use one of {', '.join(INITS)}")
    if not content_weight >= 0 or not math.isfinite(content_weight):
        raise AudioStyleError(f"content_weight must be >= 0, got {content_weight}")
    settings = Settings(domain, iterations, refine_iterations, content_weight, optimizer,
                         learning_rate, griffin_lim_iterations, progress)
    return _synthesise(
        blend, content_audio, init=init, length_seconds=None, mono=mono,
        chunk_seconds=chunk_seconds, extractor=extractor, options=options,
        working_sr=working_sr, seed=seed, device=device,
        output_sr=output_sr or content_audio.sr, settings=settings,
    )


def texture(
    style: Style | Sequence[Style],
    *,
    seconds: float,
    style_weights: Sequence[float] | None = None,
    rhythm_weight: float = 0.0,
    rhythm_seconds: float = DEFAULT_RHYTHM_SECONDS,
    sr: int | None = None,
    extractor: str | Extractor = "shallow",
    options: dict[str, Any] | None = None,
    working_sr: int | None = None,
    domain: str | None = None,
    iterations: int | None = None,
    refine_iterations: int | None = None,
    optimizer: str = "lbfgs",
    learning_rate: float | None = None,
    griffin_lim_iterations: int = 100,
    seed: int = 0,
    device: str | torch.device | None = None,
    output_sr: int | None = None,
    mono: bool = False,
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
    progress: bool = True,
) -> Result:
    """Synthesise ``seconds`` of new sound with the statistics of ``style``, from noise.

    The statistics are independent of length, so the result may be longer or shorter than
    the style. It has the style's channel count (one with ``mono``): each channel is
    synthesised from its own noise towards the same statistics, so the channels are
    uncorrelated (a fully diffuse image, whatever the style's). Arguments as in
    :func:`transfer`; ``output_sr`` defaults to the style's rate (to the extractor's for a
    :class:`StyleTarget`); with several styles, channels and rate follow the one of largest
    weight. The rhythm term (``rhythm_weight``) keeps a periodic style's pulse.
    """
    blend = _blend(style, sr, style_weights, rhythm_weight, rhythm_seconds)
    main = blend.main
    style_sr = main.sample_rate if isinstance(main, StyleTarget) else main.sr
    if not seconds > 0 or not math.isfinite(seconds):
        raise AudioStyleError(f"seconds must be a positive number, got {seconds}")
    settings = Settings(domain, iterations, refine_iterations, 0.0, optimizer, learning_rate,
                         griffin_lim_iterations, progress)
    return _synthesise(
        blend, None, init="noise", length_seconds=seconds, mono=mono,
        chunk_seconds=chunk_seconds, extractor=extractor, options=options,
        working_sr=working_sr, seed=seed, device=device,
        output_sr=output_sr or style_sr, settings=settings,
    )


def style_target(
    style: AudioLike,
    *,
    sr: int | None = None,
    extractor: str = "shallow",
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
    loss = _style_loss(net, 0.0 if rhythm_seconds is None else 1.0,
                       rhythm_seconds or DEFAULT_RHYTHM_SECONDS)
    wave = _style_wave(as_audio(style, sr, name="style"), net, loss.rhythm_lags)
    return StyleTarget(net.name, option_pairs(options, working_sr), net.sample_rate,
                       _targets(loss, wave, DEFAULT_CHUNK_SECONDS, target_device),
                       torch.from_numpy(wave), loss.rhythm_lags).to("cpu")


def build_extractor(
    extractor: str | Extractor,
    options: dict[str, Any] | None = None,
    working_sr: int | None = None,
) -> Extractor:
    """An extractor instance from a name and options (or the instance itself)."""
    if isinstance(extractor, Extractor):
        if options or working_sr:
            raise AudioStyleError("options and working_sr apply to an extractor given by name")
        return extractor
    options = dict(options or {})
    if working_sr is not None:
        options["sample_rate"] = check_rate(working_sr, "working rate")
    net = get_extractor(extractor, **options)
    check_rate(net.sample_rate, f"extractor {net.name!r}: working rate")
    return net


def _synthesise(
    blend: Blend,
    content: Audio | None,
    *,
    init: str,
    length_seconds: float | None,
    mono: bool,
    chunk_seconds: float,
    extractor: str | Extractor,
    options: dict[str, Any] | None,
    working_sr: int | None,
    seed: int,
    device: str | torch.device | None,
    output_sr: int,
    settings: Settings,
) -> Result:
    if not chunk_seconds > 0 or not math.isfinite(chunk_seconds):
        raise AudioStyleError(f"chunk_seconds must be a positive number, got {chunk_seconds}")
    check_rate(output_sr, "output rate")
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    target_device = resolve_device(device)
    net = build_extractor(extractor, options, working_sr).to(target_device)
    rate = net.sample_rate

    style_loss = _style_loss(net, blend.rhythm_weight, blend.rhythm_seconds)
    lags = style_loss.rhythm_lags
    content_wave = None
    if content is not None:
        content_wave = _at_rate(to_mono(content) if mono else content, net, lags)
    if any(isinstance(style, StyleTarget) for style in blend.styles):
        if not isinstance(extractor, str):
            raise AudioStyleError("style statistics (a StyleTarget) need the extractor by name")
        for style in blend.styles:
            if isinstance(style, StyleTarget):
                style.check(net.name, option_pairs(options, working_sr), lags)
    style_wave = _load_target(style_loss, blend, content_wave, chunk_seconds, target_device)
    if content is not None:
        if is_silent(content_wave):
            log.warning("%s: all samples are zero: the result will be a texture of the style",
                        content.name)
        channels, length = content_wave.shape
        out_length = max(1, round(content.samples.shape[1] * output_sr / content.sr))
    else:
        channels = 1 if mono else style_wave.shape[0]
        length = round(length_seconds * rate)
        check_length(length, net, "the requested length", lags)
        out_length = max(1, round(length_seconds * output_sr))

    spans = plan_chunks(length, *_chunk_sizes(chunk_seconds, channels, net, lags))
    # noise starts take their level (and, per extractor, spectrum) from one chunk's worth of
    # the content, or of the style when there is no (audible) content
    reference = style_wave if content_wave is None or is_silent(content_wave) else content_wave
    like = torch.from_numpy(np.ascontiguousarray(reference[:, : spans[0][1]]))
    if len(spans) > 1:
        log.info("%.1f s in %d chunks of %.1f s, cross-faded", length / rate, len(spans),
                 (spans[0][1] - spans[0][0]) / rate)
    stitcher = Stitcher(channels, length)
    chunks: list[dict[str, Trace]] = []
    scores: list[tuple[int, float, float]] = []  # (samples, loss ratio, style distance)
    interrupted = False
    for index, (start, stop) in enumerate(spans):
        label = f"{net.name}" + (f" {index + 1}/{len(spans)}" if len(spans) > 1 else "")
        try:
            if blend.strength == 0:  # the target is the content's: nothing to change
                wave, stages, loss_ratio, distance = _unchanged(
                    net, style_loss, content_wave[:, start:stop], target_device)
            else:
                wave, stages, loss_ratio, distance = render_chunk(
                    net, style_loss,
                    None if content_wave is None else content_wave[:, start:stop],
                    init=init, shape=(channels, stop - start), like=like, generator=generator,
                    device=target_device, settings=settings, label=label,
                )
        except KeyboardInterrupt:  # outside the optimiser: keep the chunks already done
            if not chunks:
                raise
            interrupted = True
            break
        stitcher.add(start, wave)
        chunks.append(stages)
        scores.append((stop - start, loss_ratio, distance))
        if any(t.interrupted for t in stages.values()):
            interrupted = True
            break
    if interrupted:
        log.warning("interrupted; keeping the best result so far (%.1f of %.1f s)",
                    stitcher.end / rate, length / rate)
        out_length = max(1, round(stitcher.end * output_sr / rate))

    result_audio = resample(Audio(stitcher.samples, rate, "result"), output_sr, out_length)
    total = sum(n for n, _, _ in scores)
    return Result(
        audio=result_audio, stages=merge_stages(chunks, [n / total for n, _, _ in scores]),
        extractor=net.name, working_sr=rate,
        loss_db=to_db(sum(n * r for n, r, _ in scores) / total),
        style_distance_db=to_db(sum(n * d for n, _, d in scores) / total),
        chunks=chunks, stopped_early=interrupted,
    )


def _blend(
    style: Style | Sequence[Style],
    sr: int | None,
    weights: Sequence[float] | None,
    rhythm_weight: float,
    rhythm_seconds: float,
    strength: float = 1.0,
) -> Blend:
    """Check and gather what the target is made of (see :class:`Blend`)."""
    styles = list(style) if isinstance(style, (list, tuple)) else [style]
    if not styles:
        raise AudioStyleError("no style given")
    names = ["style"] if len(styles) == 1 else [f"style {i + 1}" for i in range(len(styles))]
    loaded = [s if isinstance(s, StyleTarget) else as_audio(s, sr, name=n)
              for s, n in zip(styles, names, strict=True)]
    weights = [1.0] * len(loaded) if weights is None else [float(w) for w in weights]
    if len(weights) != len(loaded):
        raise AudioStyleError(f"{len(weights)} style weights for {len(loaded)} styles; give "
                              "one weight per style")
    if not all(w >= 0 and math.isfinite(w) for w in weights) or sum(weights) <= 0:
        raise AudioStyleError(f"style weights must be >= 0 with a positive sum, got {weights}")
    if not rhythm_weight >= 0 or not math.isfinite(rhythm_weight):
        raise AudioStyleError(f"rhythm_weight must be >= 0, got {rhythm_weight}")
    if not rhythm_seconds > 0 or not math.isfinite(rhythm_seconds):
        raise AudioStyleError(f"rhythm_seconds must be a positive number, got {rhythm_seconds}")
    total = sum(weights)
    return Blend(loaded, [w / total for w in weights], strength, rhythm_weight, rhythm_seconds)


def _style_loss(net: Extractor, rhythm_weight: float, rhythm_seconds: float) -> StyleLoss:
    """The style loss, with a rhythm term over ``rhythm_seconds`` when ``rhythm_weight > 0``."""
    lags = 0
    if rhythm_weight > 0 and net.frame_rate is not None:  # (StyleLoss refuses the others)
        lags = max(1, round(rhythm_seconds * net.frame_rate))
    return StyleLoss(net, rhythm_weight=rhythm_weight, rhythm_lags=lags)


def _load_target(
    style_loss: StyleLoss,
    blend: Blend,
    content: np.ndarray | None,
    chunk_seconds: float,
    device: torch.device,
) -> np.ndarray:
    """Give ``style_loss`` the target of ``blend`` (each style's statistics, mixed by weight
    and pulled towards those of ``content`` ``(channels, time)`` by the strength); returns the
    main style ``(channels, time)`` at the extractor's rate."""
    net = style_loss.extractor
    parts, main = [], None
    for style, weight in zip(blend.styles, blend.weights, strict=True):
        if weight == 0:  # left out (the main style has the largest weight, so it is not)
            continue
        if isinstance(style, StyleTarget):
            wave, targets = style.wave.numpy(), style.to(device).statistics
        else:
            wave = _style_wave(style, net, style_loss.rhythm_lags)
            targets = _targets(style_loss, wave, chunk_seconds, device)
        main = wave if style is blend.main else main
        parts.append((targets, weight * blend.strength))
    if content is not None and blend.strength < 1:
        parts.append((_targets(style_loss, content, chunk_seconds, device), 1 - blend.strength))
    style_loss.load_target(mix_targets(parts))
    return main


def _targets(
    style_loss: StyleLoss, wave: np.ndarray, chunk_seconds: float, device: torch.device
) -> dict[str, object]:
    """The statistics of ``wave`` ``(channels, time)`` at the extractor's rate, per term of
    ``style_loss``, computed piece by piece (:func:`_style_inputs`)."""
    style_loss.set_target(_style_inputs(wave, style_loss.extractor, chunk_seconds, device,
                                        style_loss.rhythm_lags))
    return style_loss.targets


def _unchanged(
    net: Extractor, style_loss: StyleLoss, chunk: np.ndarray, device: torch.device
) -> tuple[np.ndarray, dict[str, Trace], float, float]:
    """A content chunk kept as it is (style strength 0), scored like an optimised one."""
    with torch.no_grad():
        distance = float(style_loss(net(torch.from_numpy(chunk).to(device))))
    return chunk, {}, 1.0, distance / chunk.shape[0]


def _style_inputs(
    style: np.ndarray, net: Extractor, chunk_seconds: float, device: torch.device, lags: int = 0
) -> Iterator[tuple[Tensor, float]]:
    """The style ``(channels, time)`` as ``(analysed piece, weight)`` pairs for
    :meth:`StyleLoss.set_target`, made one at a time: pieces as long as content chunks,
    weighted by their length, so a long style needs no more memory than a chunk."""
    chunk, _ = _chunk_sizes(chunk_seconds, style.shape[0], net, lags)
    length = style.shape[1]
    for start, stop in plan_chunks(length, chunk, 0):
        piece = torch.from_numpy(np.ascontiguousarray(style[:, start:stop])).to(device)
        yield net.analyse(piece), (stop - start) / length


def _chunk_sizes(
    chunk_seconds: float, channels: int, net: Extractor, lags: int = 0
) -> tuple[int, int]:
    """``(chunk, overlap)`` in samples at the extractor's rate (see :data:`DEFAULT_CHUNK_SECONDS`,
    :data:`OVERLAP_SECONDS`); chunks are long enough for a rhythm term over ``lags``."""
    chunk = max(round(chunk_seconds * net.sample_rate / channels), 4 * _shortest(net, lags))
    shortest = net.min_samples
    overlap = max(shortest, min(round(OVERLAP_SECONDS * net.sample_rate), chunk // 4))
    return chunk, overlap


def _style_wave(style: Audio, net: Extractor, lags: int = 0) -> np.ndarray:
    """The style ``(channels, time)`` at the extractor's rate; refused when silent or too
    short for the rhythm term over ``lags`` frames."""
    wave = _at_rate(style, net, lags)
    if is_silent(wave):
        raise AudioStyleError(
            f"{style.name}: all samples are zero: a silent style has no texture to take on"
        )
    return wave


def _shortest(net: Extractor, lags: int) -> int:
    """Shortest input in samples: one feature frame, or with a rhythm term over ``lags``
    frames, ``2·lags + 1`` of them (its autocorrelation averages over at least half)."""
    if not lags:
        return net.min_samples
    return net.min_samples + math.ceil(2 * lags * net.sample_rate / net.frame_rate)


def _at_rate(audio: Audio, net: Extractor, lags: int = 0) -> np.ndarray:
    """``(channels, time)`` float32 at the extractor's rate, long enough to analyse (with a
    rhythm term over ``lags`` frames)."""
    wave = resample(audio, net.sample_rate).samples
    check_length(wave.shape[1], net, audio.name, lags)
    return wave


def check_length(samples: int, net: Extractor, name: str, lags: int = 0) -> None:
    """Refuse ``samples`` at the extractor's rate too few for one feature frame, or for a
    rhythm term over ``lags`` frames (:func:`_shortest`)."""
    if samples < net.min_samples:
        count = f"{samples} sample{'s' if samples != 1 else ''}"
        raise AudioStyleError(
            f"{name}: too short for the {net.name} extractor: {samples / net.sample_rate:.3f} s "
            f"({count} at {net.sample_rate} Hz); it needs at least "
            f"{net.min_samples / net.sample_rate:.3f} s ({net.min_samples} samples)"
        )
    if samples < _shortest(net, lags):
        raise AudioStyleError(
            f"{name}: too short for the rhythm term over {lags / net.frame_rate:.2f} s: "
            f"{samples / net.sample_rate:.2f} s; it needs at least "
            f"{_shortest(net, lags) / net.sample_rate:.2f} s (lower rhythm_seconds)"
        )


__all__ = ["DEFAULT_CHUNK_SECONDS", "DEFAULT_REFINE_ITERATIONS", "DEFAULT_RHYTHM_SECONDS",
           "INITS", "Blend", "Result", "Style", "style_target", "texture", "transfer"]
