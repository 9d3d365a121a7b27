"""Style transfer and texture synthesis, end to end.

The pipeline, top to bottom: load and check the inputs → resample them to the extractor's rate
→ compute the style target once (from all of the style's channels) → cut the content into
overlapping chunks (:mod:`.chunking`) → for each chunk: start from the content (or
from noise), optimise in the chosen domain, back to a waveform (Griffin-Lim in the spectrogram
domain) → cross-fade the chunks → resample to the output rate. Writing files is left to the
caller (:func:`audiostyle.save_audio`).

Channels: every channel of the content is matched to the same style statistics; the channels
are the batch of one optimisation per chunk (the loss sums them). On stereo tests this matched
each channel as well as separate runs, kept more of the content's inter-channel correlation,
and was faster; mid/side with the same target left the left and right channels far from the
style (their statistics are those of a sum of two textures). See docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..errors import AudioStyleError
from ..extractors import Extractor, build_extractor, check_length
from ..io.audio import Audio, AudioLike, as_audio, check_rate, is_silent, resample, to_mono
from ..io.devices import resolve_device
from .chunking import DEFAULT_CHUNK_SECONDS, Stitcher, chunk_sizes, plan_chunks
from .losses import StyleLoss
from .optimiser import Trace, to_db
from .stages import Settings, merge_stages, optimise_chunk
from .targets import (
    DEFAULT_RHYTHM_SECONDS,
    Blend,
    Style,
    StyleTarget,
    at_rate,
    load_target,
    make_blend,
    make_style_loss,
    option_pairs,
)

log = logging.getLogger(__name__)

INITS = ("content", "noise")


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
        content: path, :class:`~audiostyle.io.audio.Audio` or array ``(time,)``/``(channels,
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
            :mod:`audiostyle.synthesis.domains`.
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
    blend = make_blend(style, sr, style_weights, rhythm_weight, rhythm_seconds, strength)
    if init not in INITS:
        raise AudioStyleError(f"Unknown init {init!r}; use one of {', '.join(INITS)}")
    if not content_weight >= 0 or not math.isfinite(content_weight):
        raise AudioStyleError(f"content_weight must be >= 0, got {content_weight}")
    settings = Settings(domain, iterations, refine_iterations, content_weight, optimizer,
                         learning_rate, griffin_lim_iterations, progress)
    return _run(
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
    blend = make_blend(style, sr, style_weights, rhythm_weight, rhythm_seconds)
    main = blend.main
    style_sr = main.sample_rate if isinstance(main, StyleTarget) else main.sr
    if not seconds > 0 or not math.isfinite(seconds):
        raise AudioStyleError(f"seconds must be a positive number, got {seconds}")
    settings = Settings(domain, iterations, refine_iterations, 0.0, optimizer, learning_rate,
                         griffin_lim_iterations, progress)
    return _run(
        blend, None, init="noise", length_seconds=seconds, mono=mono,
        chunk_seconds=chunk_seconds, extractor=extractor, options=options,
        working_sr=working_sr, seed=seed, device=device,
        output_sr=output_sr or style_sr, settings=settings,
    )


def _run(
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

    style_loss = make_style_loss(net, blend.rhythm_weight, blend.rhythm_seconds)
    lags = style_loss.rhythm_lags
    content_wave = None
    if content is not None:
        content_wave = at_rate(to_mono(content) if mono else content, net, lags)
    if any(isinstance(style, StyleTarget) for style in blend.styles):
        if not isinstance(extractor, str):
            raise AudioStyleError("style statistics (a StyleTarget) need the extractor by name")
        for style in blend.styles:
            if isinstance(style, StyleTarget):
                style.check(net.name, option_pairs(options, working_sr), lags)
    style_wave = load_target(style_loss, blend, content_wave, chunk_seconds, target_device)
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

    spans = plan_chunks(length, *chunk_sizes(chunk_seconds, channels, net, lags))
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
                wave, stages, loss_ratio, distance = optimise_chunk(
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


def _unchanged(
    net: Extractor, style_loss: StyleLoss, chunk: np.ndarray, device: torch.device
) -> tuple[np.ndarray, dict[str, Trace], float, float]:
    """A content chunk kept as it is (style strength 0), scored like an optimised one."""
    with torch.no_grad():
        distance = float(style_loss(net(torch.from_numpy(chunk).to(device))))
    return chunk, {}, 1.0, distance / chunk.shape[0]


__all__ = ["INITS", "Result", "texture", "transfer"]
