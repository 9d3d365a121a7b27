"""Style transfer and texture synthesis, end to end.

The pipeline, top to bottom: load and check the inputs → resample them to the extractor's rate
→ compute the style target once (from all of the style's channels) → cut the content into
overlapping chunks (:mod:`.chunking`) → for each chunk: start from the content (or
from noise), optimise in the chosen domain, back to a waveform (Griffin-Lim in the spectrogram
domain) → cross-fade the chunks → resample to the output rate, where the content keeps the
band above the extractor's rate (it cannot hear it). Writing files is left to the
caller (:func:`audiostyle.save_audio`).

Channels: every channel of the content is matched to the same style statistics; the channels
are the batch of one optimisation per chunk (the loss sums them). On stereo tests this matched
each channel as well as separate runs, kept more of the content's inter-channel correlation,
and was faster; mid/side with the same target left the left and right channels far from the
style (their statistics are those of a sum of two textures). See docs/research.md, *Channels*.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from .._util import check_memory
from ..errors import AudioStyleError
from ..extractors import DEFAULT_EXTRACTOR, Extractor, build_extractor, check_length
from ..io.audio import Audio, AudioLike, as_audio, is_silent, resample, silence, to_mono
from ..io.devices import resolve_device
from .chunking import Stitcher, chunk_sizes, plan_chunks
from .losses import StyleLoss
from .optimiser import Trace, to_db
from .settings import DEFAULTS, MODEL_INIT, Settings, describe
from .stages import ChunkObserver, finish, merge_stages, optimise_chunk
from .strength import schedule
from .targets import (
    Blend,
    OptionPairs,
    Style,
    StyleTarget,
    at_rate,
    load_target,
    make_blend,
    make_style_loss,
    option_pairs,
)

if TYPE_CHECKING:
    from ..models.model import StyleModel

log = logging.getLogger(__name__)

#: Memory a result needs beside its chunks, in bytes per sample of each channel: at the
#: working rate, the joined float32 result and the copy that resampling reads; at the output
#: rate, four float32 copies (resampled, fitted to length, peak-scaled, written).
WORKING_SAMPLE_BYTES = 8
OUTPUT_SAMPLE_BYTES = 16


@dataclass(frozen=True)
class Progress:
    """Where a running synthesis is, as its observer sees it after every iteration.

    Attributes:
        stage: the domain being optimised (``"spectrogram"``, or ``"waveform"`` for the
            refinement or a waveform-domain run).
        chunk: index of the chunk being optimised (from 0), of ``chunks``.
        iteration: iterations done in this stage of this chunk, of ``iterations``.
        loss_db: the last loss, in dB relative to the chunk's start; ``best_db`` the best.
        terms_db: each loss term's weighted value at the last iteration (``style/<layer>``,
            ``rhythm/<layer>``, ``content``, ``structure``, ``headroom``; see
            :mod:`.terms`), in dB relative to the chunk's starting loss (−inf for 0).
    """

    stage: str
    chunk: int
    chunks: int
    iteration: int
    iterations: int
    loss_db: float
    best_db: float
    terms_db: dict[str, float]
    _snapshot: Callable[[], Audio]

    def snapshot(self) -> Audio:
        """The result so far at the output rate: the chunks done, joined to the best iterate
        of this one (decoded now: Griffin-Lim in the spectrogram domain). Shorter than the
        result while later chunks are still to come."""
        return self._snapshot()


#: Called with a :class:`Progress` after every iteration; raising ``KeyboardInterrupt`` in it
#: stops the synthesis as Ctrl-C does (the best result so far is returned).
Observer = Callable[[Progress], None]


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
        settings: the settings it ran, settled (:meth:`Settings.settled`: the domain,
            iterations, refinement and, for a transfer, strength it took from the
            extractor's defaults filled in).
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
    settings: Settings
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
    sr: int | None = None,
    extractor: str | Extractor = DEFAULT_EXTRACTOR,
    options: Mapping[str, Any] | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
    observer: Observer | None = None,
    settings: Settings | Mapping[str, Any] | None = None,
    **values: Any,
) -> Result:
    """Re-make ``content`` out of the texture of ``style`` (Grinstein et al., 2018).

    The result starts as the content (``init="content"``) and is optimised until its style
    statistics match the style's; no content loss is used unless ``content_weight > 0``.
    Each channel of the content is matched to the statistics of the whole style (averaged over
    its channels); long contents are processed in cross-faded chunks. Every argument is
    checked before any audio is read (:class:`AudioStyleError` naming the parameter).

    Args:
        content: path, :class:`~audiostyle.io.audio.Audio` or array ``(time,)``/``(channels,
            time)``; the output has its length and (unless ``mono``) its channels.
        style: the same kinds, any length the extractor can analyse, any channels; or its
            statistics computed before by :func:`~audiostyle.synthesis.targets.style_target`
            with the same extractor and options; or a list of styles to blend.
        style_weights: one weight >= 0 per style (default: equal); normalised to sum 1.
            The target statistics are the weighted mix of the styles' statistics.
        sr: sample rate in Hz of array inputs (8000–192000).
        extractor: registry name (``audiostyle.extractors.available()``) or an instance.
        options: extractor options (``audiostyle.extractors.options(name)``).
        device: ``"cpu"``, ``"cuda"``, ``"mps"`` or None for the best available.
        progress: show a progress bar.
        settings: a :class:`~audiostyle.synthesis.settings.Settings` (or a mapping of its
            fields); ``values`` override it.
        values: any setting by name (``iterations=60``, ``strength=0.5``, ``seed=1``, …): see
            :class:`~audiostyle.synthesis.settings.Settings` for each one's meaning, default
            and valid range. ``strength`` (0 … 1; None: the extractor's default) says how
            much style against how much content: 0 returns the content, 1 is the paper's
            method (statistics only); see :mod:`audiostyle.synthesis.strength`.
        observer: called after every iteration with a :class:`Progress` (stage, iteration,
            loss, and the result so far on demand); raising ``KeyboardInterrupt`` in it stops
            the work as Ctrl-C does, keeping the best result so far.
    """
    run = _setup(extractor, options, Settings.of(settings, **values), device, "transfer")
    chosen = run.settings
    model = _start_model(chosen.init)
    content_audio = as_audio(content, sr, name="content")
    share, structure_weight = schedule(chosen.strength, run.net.defaults.structure_weight)
    blend = make_blend(style, sr, style_weights, chosen, share)
    begin = None if model is None else model.apply(content_audio, seed=chosen.seed)
    return _run(run, blend, content_audio, None, chosen.output_sr or content_audio.sr,
                progress, structure_weight=structure_weight, observer=observer, begin=begin)


def _start_model(init: str) -> StyleModel | None:
    """The style model a transfer starts from (``init="model:NAME.style"``), read and checked
    before any audio (:class:`AudioStyleError` naming the file); None for other starts."""
    if not init.startswith(MODEL_INIT):
        return None
    from ..models.model import StyleModel  # (the models build on synthesis: imported late)

    return StyleModel.load(init.removeprefix(MODEL_INIT))


def texture(
    style: Style | Sequence[Style],
    *,
    seconds: float,
    style_weights: Sequence[float] | None = None,
    sr: int | None = None,
    extractor: str | Extractor = DEFAULT_EXTRACTOR,
    options: Mapping[str, Any] | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
    observer: Observer | None = None,
    settings: Settings | Mapping[str, Any] | None = None,
    **values: Any,
) -> Result:
    """Synthesise ``seconds`` of new sound with the statistics of ``style``, from noise.

    The statistics are independent of length, so the result may be longer or shorter than
    the style. It has the style's channel count (one with ``mono``): each channel is
    synthesised from its own noise towards the same statistics, so the channels are
    uncorrelated (a fully diffuse image, whatever the style's). Arguments as in
    :func:`transfer`, except the settings about a content (``init``, ``content_weight``,
    ``strength``); ``output_sr`` defaults to the style's rate (to the extractor's for a
    :class:`StyleTarget`); with several styles, channels and rate follow the one of largest
    weight. The rhythm term (``rhythm_weight``) keeps a periodic style's pulse.
    """
    chosen = Settings.of(settings, **values)
    for name, setting in describe():
        if setting.transfer_only and getattr(chosen, name) != DEFAULTS[name]:
            raise AudioStyleError(f"`{name}` does not apply to a texture (it has no content)")
    chosen = dataclasses.replace(chosen, init="noise")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not (
            seconds > 0 and math.isfinite(seconds)):
        raise AudioStyleError(f"`seconds` must be a positive number, got {seconds!r}")
    run = _setup(extractor, options, chosen, device, "texture")
    blend = make_blend(style, sr, style_weights, run.settings)
    main = blend.main
    style_sr = main.sample_rate if isinstance(main, StyleTarget) else main.sr
    channels = main.wave.shape[0] if isinstance(main, StyleTarget) else main.channels
    output_sr = chosen.output_sr or style_sr
    _check_length_fits(seconds, 1 if chosen.mono else channels, run.net.sample_rate, output_sr)
    return _run(run, blend, None, seconds, output_sr, progress, observer=observer)


def _check_length_fits(seconds: float, channels: int, rate: int, output_sr: int) -> None:
    """Refuse a texture of ``seconds`` whose ``channels`` at the working ``rate`` and at
    ``output_sr`` (Hz) would not fit in this machine's memory, before any work."""
    per_second = channels * (WORKING_SAMPLE_BYTES * rate + OUTPUT_SAMPLE_BYTES * output_sr)
    check_memory(seconds * per_second, f"`seconds` {seconds:g}: the result",
                 lambda have: f"give at most {have // per_second:,d}")


@dataclass(frozen=True)
class _Setup:
    """What the arguments of a synthesis give before any audio is read: the settings (settled:
    what they leave to the extractor filled in from its defaults), the extractor on its
    device, its options as a style target records them, and the seeded noise generator."""

    settings: Settings
    net: Extractor
    by_name: bool
    options: OptionPairs
    device: torch.device
    generator: torch.Generator


def _setup(
    extractor: str | Extractor,
    options: Mapping[str, Any] | None,
    settings: Settings,
    device: str | torch.device | None,
    kind: str,
) -> _Setup:
    """Check what the audio does not decide (device, extractor, domain, rhythm term), settle
    the settings of a ``kind`` (``"transfer"`` or ``"texture"``) synthesis with the
    extractor's defaults and seed the random numbers."""
    torch.manual_seed(settings.seed)
    generator = torch.Generator().manual_seed(settings.seed)
    target_device = resolve_device(device)
    net = build_extractor(extractor, options, settings.working_sr).to(target_device)
    settings = settings.settled(net.defaults.plan(kind))
    if settings.domain not in net.domains:
        raise AudioStyleError(f"Extractor {net.name!r} optimises in the "
                              f"{' or '.join(net.domains)} domain, not `domain` "
                              f"{settings.domain}")
    if settings.rhythm_weight > 0 and net.frame_rate is None:
        raise AudioStyleError(f"the rhythm term needs feature maps over time; the {net.name} "
                              "extractor's are not (leave `rhythm_weight` at 0)")
    return _Setup(settings, net, isinstance(extractor, str),
                  option_pairs(options, settings.working_sr), target_device, generator)


def _run(
    run: _Setup,
    blend: Blend,
    content: Audio | None,
    length_seconds: float | None,
    output_sr: int,
    progress: bool,
    observer: Observer | None = None,
    structure_weight: float = 0.0,
    begin: Audio | None = None,
) -> Result:
    """Everything after the checks: the target, the chunks, the result (see the module's
    docstring); ``structure_weight`` weighs the structure term of a transfer; ``begin`` (the
    content's rate, channels and length) is where it starts instead of the content."""
    settings, net, generator, target_device = run.settings, run.net, run.generator, run.device
    rate = net.sample_rate
    style_loss = make_style_loss(net, blend.rhythm_weight, blend.rhythm_seconds)
    lags = style_loss.rhythm_lags
    content_wave = None
    if content is not None:
        content_wave = at_rate(to_mono(content) if settings.mono else content, net, lags)
    begin_wave = None if begin is None else at_rate(to_mono(begin) if settings.mono else begin,
                                                    net, lags)
    if any(isinstance(style, StyleTarget) for style in blend.styles):
        if not run.by_name:
            raise AudioStyleError("style statistics (a StyleTarget) need the `extractor` by "
                                  "name")
        for style in blend.styles:
            if isinstance(style, StyleTarget):
                style.check(net.name, run.options, lags)
    style_wave = load_target(style_loss, blend, content_wave, settings.chunk_seconds,
                             target_device)
    if content is not None:
        why = silence(content_wave)
        if why is not None:
            log.warning("%s: is silent (%s): the result will be a texture of the style",
                        content.name, why)
        channels, length = content_wave.shape
        out_length = max(1, round(content.samples.shape[1] * output_sr / content.sr))
        unheard = _unheard(to_mono(content) if settings.mono else content, content_wave, rate,
                           output_sr, out_length)
    else:
        channels = 1 if settings.mono else style_wave.shape[0]
        length = round(length_seconds * rate)
        check_length(length, net, "the requested length", lags)
        out_length = max(1, round(length_seconds * output_sr))
        unheard = None

    spans = plan_chunks(length, *chunk_sizes(settings.chunk_seconds, channels, net, lags))
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
            if blend.style_share == 0:  # the target is the content's: nothing to change
                wave, stages, loss_ratio, distance = _unchanged(
                    net, style_loss, content_wave[:, start:stop], target_device)
            else:
                wave, stages, loss_ratio, distance = optimise_chunk(
                    net, style_loss,
                    None if content_wave is None else content_wave[:, start:stop],
                    shape=(channels, stop - start), like=like, generator=generator,
                    device=target_device, settings=settings, label=label, progress=progress,
                    observer=None if observer is None else _watch(
                        observer, index, len(spans),
                        lambda piece, at=start: _output(stitcher.preview(at, piece), rate,
                                                        output_sr, length, out_length,
                                                        unheard)),
                    structure_weight=structure_weight,
                    begin=None if begin_wave is None else begin_wave[:, start:stop],
                )
        except KeyboardInterrupt:  # outside the optimiser: keep the chunks already done
            if not chunks:
                raise
            interrupted = True
            break
        _, joining = finish(stitcher.add, start, wave)  # the chunk is done: join it
        chunks.append(stages)
        scores.append((stop - start, loss_ratio, distance))
        if joining or any(t.interrupted for t in stages.values()):
            interrupted = True
            break
    if interrupted:
        log.warning("interrupted; keeping the best result so far (%.1f of %.1f s)",
                    stitcher.end / rate, length / rate)
        out_length = max(1, round(stitcher.end * output_sr / rate))

    result_audio, resampling = finish(_output, stitcher.samples, rate, output_sr, length,
                                      out_length, unheard)
    interrupted = interrupted or resampling
    total = sum(n for n, _, _ in scores)
    return Result(
        audio=result_audio, stages=merge_stages(chunks, [n / total for n, _, _ in scores]),
        extractor=net.name, working_sr=rate,
        loss_db=to_db(sum(n * r for n, r, _ in scores) / total),
        style_distance_db=to_db(sum(n * d for n, _, d in scores) / total),
        chunks=chunks, settings=settings, stopped_early=interrupted,
    )


def _unheard(content: Audio, heard: np.ndarray, rate: int, output_sr: int,
             out_length: int) -> np.ndarray | None:
    """The content's band above the extractor's, ``(channels, out_length)`` at ``output_sr``:
    the content minus its round trip through the working ``rate`` (``heard`` is the content
    there). The optimisation cannot hear this band, so the result keeps it instead of leaving
    it empty (a 16 kHz extractor's result would lack all above 8 kHz); None when the output
    rate has no such band."""
    if output_sr <= rate:
        return None
    full = resample(content, output_sr, out_length).samples
    return full - resample(Audio(heard, rate, content.name), output_sr, out_length).samples


def _output(samples: np.ndarray, rate: int, output_sr: int, length: int, out_length: int,
            unheard: np.ndarray | None) -> Audio:
    """The result ``(channels, n)`` at the working ``rate``, of a whole of ``length`` samples
    there and ``out_length`` at ``output_sr``, resampled to ``output_sr`` with the content's
    ``unheard`` band (:func:`_unheard`) added."""
    n = samples.shape[1]
    size = out_length if n == length else max(1, round(n * output_sr / rate))
    result = resample(Audio(samples, rate, "result"), output_sr, size)
    if unheard is None:
        return result
    return Audio(result.samples + unheard[:, :size], output_sr, result.name)


def _watch(
    observer: Observer, chunk: int, chunks: int, joined: Callable[[np.ndarray], Audio]
) -> ChunkObserver:
    """The chunk observer that tells ``observer``; ``joined`` makes the result so far from
    this chunk's piece ``(channels, n)``."""

    def watch(stage: str, budget: int, trace: Trace, terms: dict[str, float],
              wave: Callable[[], Tensor]) -> None:
        start = trace.initial_loss if trace.initial_loss > 0 else 1.0
        observer(Progress(
            stage, chunk, chunks, trace.iterations, budget, to_db(trace.losses[-1]),
            trace.best_db, {name: to_db(value / start) for name, value in terms.items()},
            lambda: joined(wave().cpu().numpy().astype(np.float32)),
        ))

    return watch


def _unchanged(
    net: Extractor, style_loss: StyleLoss, chunk: np.ndarray, device: torch.device
) -> tuple[np.ndarray, dict[str, Trace], float, float]:
    """A content chunk kept as it is (style strength 0), scored like an optimised one."""
    with torch.no_grad():
        distance = float(style_loss(net(torch.from_numpy(chunk).to(device))))
    return chunk, {}, 1.0, distance / chunk.shape[0]


__all__ = ["Observer", "Progress", "Result", "texture", "transfer"]
