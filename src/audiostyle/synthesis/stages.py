"""Optimising one chunk of the result: the starting signal, the stages, back to a waveform.

:func:`optimise_chunk` is the work :mod:`.pipeline` does for every chunk of a long
content (or texture): start from the content chunk (silent channels from noise) or from noise,
optimise in the extractor's domain, recover a waveform (Griffin-Lim from the start's phase in
the spectrogram domain, then a refinement in the waveform domain), and re-analyse the result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np
import torch
from torch import Tensor

from ..errors import Interrupted
from ..extractors import Extractor
from ..io.audio import silent_channels
from .domains import Domain, WaveformDomain, make_domain
from .losses import ContentLoss, StyleLoss, transfer_loss
from .optimiser import Trace, optimise
from .settings import Settings
from .structure import StructureLoss
from .terms import LossTerms, Signal

#: ``observer(stage, budget, trace, terms, wave)`` after every iteration of a chunk: the domain
#: name, the stage's iteration budget, its trace so far, each loss term's weighted value at the
#: last evaluation (:attr:`~.terms.LossTerms.last`), and a function that decodes the best
#: iterate into the chunk's waveform ``(channels, time)`` at the extractor's rate (Griffin-Lim
#: in the spectrogram domain, so only on demand).
ChunkObserver = Callable[[str, int, Trace, dict[str, float], Callable[[], Tensor]], None]

T = TypeVar("T")

#: Level of the white noise added to a start from the content (-80 dBFS, inaudible): digital
#: silence (runs of exact zeros, as speech synthesisers write them) ties SoundNet's max-pools,
#: where its gradient is no descent direction — espeak-ng speech did not move at all.
START_DITHER = 1e-4


def optimise_chunk(
    net: Extractor,
    style_loss: StyleLoss,
    content: np.ndarray | None,
    *,
    shape: tuple[int, int],
    like: Tensor,
    generator: torch.Generator,
    device: torch.device,
    settings: Settings,
    label: str,
    progress: bool = True,
    observer: ChunkObserver | None = None,
    structure_weight: float = 0.0,
    begin: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, Trace], float, float]:
    """Optimise one chunk ``(channels, time)`` at the extractor's rate towards the style.

    ``settings`` are settled (:meth:`Settings.settled`: domain, iterations and refinement
    given); ``like`` ``(channels, time)`` is what noise starts are drawn like
    (:meth:`Extractor.noise`); ``structure_weight`` weighs the structure term that keeps the
    content's pitch classes, onsets and loudness (:mod:`.strength` sets it); ``begin``
    ``(channels, time)`` is where the result starts instead of the content (a style model's
    output, ``init="model:…"``); ``observer`` sees every iteration (:data:`ChunkObserver`).
    Returns the waveform, the trace of each stage, the result's loss relative to the start and
    its style loss per channel. A Ctrl-C stops the work and keeps the best so far (the last
    trace says it was interrupted); before the first iteration, when nothing exists yet, it
    raises ``KeyboardInterrupt``.
    """
    channels, length = shape
    if begin is not None:
        begin = begin.astype(np.float32)
    elif settings.init == "content":
        # one dither for all channels: identical channels stay identical
        dither = torch.randn((1, content.shape[1]), generator=generator).numpy()
        begin = (content + START_DITHER * dither).astype(np.float32)
        for channel in silent_channels(content):  # silent: start from noise
            begin[channel] = net.noise(like, length, generator)[0].numpy()
    else:
        begin = torch.cat([net.noise(like, length, generator) for _ in range(channels)]).numpy()
    start = torch.from_numpy(begin).to(device)
    content_loss = None
    if content is not None and settings.content_weight > 0:
        with torch.no_grad():
            content_loss = ContentLoss(net(torch.from_numpy(content).to(device)))
    structure = None
    if content is not None and structure_weight > 0:
        structure = StructureLoss(torch.from_numpy(content).to(device), net.sample_rate,
                                  net.spectrogram, slack_db=net.defaults.loudness_slack_db)
    loss = transfer_loss(style_loss, content_loss, settings.content_weight, structure,
                         structure_weight)

    space = make_domain(settings.domain, net, start,
                        griffin_lim_iterations=settings.griffin_lim_iterations)
    reference = None if settings.init == "noise" else start
    best, trace = _stage(loss, space, settings.iterations, settings, label, progress, observer,
                         reference)
    stages = {space.name: trace}
    with torch.no_grad():
        wave = _to_the_end(lambda: space.decode(best, reference=reference), trace)
    refine = settings.refine_iterations
    if space.name == "spectrogram" and refine > 0 and not trace.interrupted:
        wave = _refine(net, loss, wave, refine, settings, label, progress, observer, stages)
    final, distance = _to_the_end(lambda: _scores(net, loss, style_loss, wave),
                                  list(stages.values())[-1])
    ratio = final / trace.initial_loss if trace.initial_loss > 0 else 0.0
    return wave.cpu().numpy().astype(np.float32), stages, ratio, distance / shape[0]


def _refine(
    net: Extractor,
    loss: LossTerms,
    wave: Tensor,
    iterations: int,
    settings: Settings,
    label: str,
    progress: bool,
    observer: ChunkObserver | None,
    stages: dict[str, Trace],
) -> Tensor:
    """The waveform refinement of the first stage's ``wave`` ``(channels, time)``; its trace
    joins ``stages``. A Ctrl-C before its first iteration keeps ``wave`` (the first stage's
    trace is marked interrupted)."""
    first = stages["spectrogram"]
    try:
        polish = WaveformDomain(net, wave)
        best, stages["waveform"] = _stage(loss, polish, iterations, settings, label, progress,
                                          observer, reference_loss=first.initial_loss)
    except KeyboardInterrupt:
        first.interrupted = True
        return wave
    with torch.no_grad():
        return _to_the_end(lambda: polish.decode(best).detach(), stages["waveform"])


def _scores(
    net: Extractor, loss: LossTerms, style_loss: StyleLoss, wave: Tensor
) -> tuple[float, float]:
    """The final analysis of ``wave`` ``(channels, time)``: its loss (the terms of every
    domain, so without the headroom term) and its style loss (summed over channels)."""
    with torch.no_grad():
        signal = Signal(net.analyse(wave), wave, extractor=net)
        return float(loss(signal)), float(style_loss(signal.features))


def finish(work: Callable[..., T], *args: object) -> tuple[T, bool]:
    """``work(*args)``, which the result so far needs, and whether a Ctrl-C came inside it:
    then what the work has so far is kept (:class:`Interrupted`) or the work is done again
    (the CLI quits at a second Ctrl-C)."""
    try:
        return work(*args), False
    except KeyboardInterrupt as exc:
        return (exc.partial if isinstance(exc, Interrupted) else work(*args)), True


def _to_the_end(work: Callable[[], T], trace: Trace) -> T:
    """:func:`finish` ``work``; a Ctrl-C inside it marks ``trace`` interrupted."""
    value, stopped = finish(work)
    trace.interrupted = trace.interrupted or stopped
    return value


def _stage(
    loss: LossTerms,
    space: Domain,
    iterations: int,
    settings: Settings,
    label: str,
    progress: bool,
    observer: ChunkObserver | None,
    reference: Tensor | None = None,
    reference_loss: float | None = None,
) -> tuple[Tensor, Trace]:
    """One optimisation run of ``loss`` in domain ``space`` (``reference``: the waveform whose
    phase decoding starts from). Raises ``KeyboardInterrupt`` when Ctrl-C came before its
    first iteration was done (otherwise the trace says it was interrupted)."""

    def decoded(trace: Trace, best: Callable[[], Tensor]) -> Callable[[], Tensor]:
        # along the way a preview; the stage's last iterate as the result is decoded
        preview = trace.iterations < iterations

        def wave() -> Tensor:  # (a random Griffin-Lim phase must not move the global seed)
            with torch.no_grad(), torch.random.fork_rng(devices=[]):
                return space.decode(best(), reference=reference, preview=preview).detach()
        return wave

    objective = space.objective(loss)
    watch = None if observer is None else (
        lambda trace, best: observer(space.name, iterations, trace, objective.loss.last,
                                     decoded(trace, best)))
    best, trace = optimise(
        objective, space.initial, iterations=iterations,
        optimizer=settings.optimizer,
        learning_rate=settings.learning_rate or space.adam_learning_rate,
        reference_loss=reference_loss, progress=progress,
        description=f"{label}/{space.name}", observer=watch,
    )
    if not trace.losses:  # Ctrl-C before the first iteration: this stage has nothing
        raise KeyboardInterrupt
    return best, trace


def merge_stages(chunks: list[dict[str, Trace]], weights: list[float]) -> dict[str, Trace]:
    """One trace per stage over all chunks (see :attr:`audiostyle.Result.stages`)."""
    if len(chunks) == 1:
        return chunks[0]
    merged = {}
    for name in chunks[0]:
        pairs = zip(chunks, weights, strict=True)
        parts = [(stages[name], w) for stages, w in pairs if name in stages]
        merged[name] = Trace(
            losses=[value for trace, _ in parts for value in trace.losses],
            best_loss=sum(w * trace.best_loss for trace, w in parts) / sum(w for _, w in parts),
            interrupted=any(trace.interrupted for trace, _ in parts),
            seconds=sum(trace.seconds for trace, _ in parts),
            initial_loss=sum(trace.initial_loss for trace, _ in parts),
        )
    return merged
