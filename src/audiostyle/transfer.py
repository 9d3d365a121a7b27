"""Style transfer and texture synthesis, end to end.

The pipeline, top to bottom: load and check the inputs → resample them to the extractor's rate
→ compute the style target once → start from the content (or from noise) → optimise in the
chosen domain → back to a waveform (Griffin-Lim in the spectrogram domain) → resample to the
output rate. Writing files is left to the caller (:func:`audiostyle.audio.save_audio`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .audio import Audio, AudioLike, as_audio, resample, to_mono
from .devices import resolve_device
from .domains import Domain, WaveformDomain, make_domain
from .errors import AudioStyleError
from .extractors import Extractor, get_extractor
from .losses import ContentLoss, StyleLoss, TransferLoss
from .synthesis import Trace, optimise, to_db

log = logging.getLogger(__name__)

INITS = ("content", "noise")
#: Waveform iterations after a spectrogram-domain stage when the caller does not say.
DEFAULT_REFINE_ITERATIONS = 40


@dataclass
class Result:
    """A synthesised sound and how it was made.

    Attributes:
        audio: the result, ``(channels, time)`` at the output rate, not peak-limited.
        stages: the optimisation trace of each stage, by domain name, in order (the
            ``spectrogram`` stage, then the ``waveform`` refinement when there is one). All
            losses are relative to the loss of the starting point.
        extractor: extractor name.
        working_sr: the rate the optimisation ran at, in Hz.
        loss_db: the loss of the result itself (re-analysed), in dB relative to the start:
            the number that says how far the sound moved towards the style.
        style_distance_db: ``10·log10`` of the style loss of the result (per-layer relative
            squared distances to the style statistics, summed): ``-20`` means the result's
            statistics are within 1 % (in squared norm) of the style's.
    """

    audio: Audio
    stages: dict[str, Trace]
    extractor: str
    working_sr: int
    loss_db: float
    style_distance_db: float

    @property
    def iterations(self) -> int:
        """Loss evaluations over all stages."""
        return sum(t.iterations for t in self.stages.values())

    @property
    def seconds(self) -> float:
        """Optimisation time over all stages."""
        return sum(t.seconds for t in self.stages.values())

    @property
    def interrupted(self) -> bool:
        """Whether Ctrl-C stopped the optimisation early."""
        return any(t.interrupted for t in self.stages.values())


def transfer(
    content: AudioLike,
    style: AudioLike,
    *,
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
    progress: bool = True,
) -> Result:
    """Re-make ``content`` out of the texture of ``style`` (Grinstein et al., 2018).

    The result starts as the content (``init="content"``) and is optimised until its style
    statistics match the style's; no content loss is used unless ``content_weight > 0``.

    Args:
        content: path, :class:`~audiostyle.audio.Audio` or array ``(time,)``/``(channels,
            time)``; its length is the output's length.
        style: the same kinds; any length the extractor can analyse.
        sr: sample rate in Hz of array inputs.
        extractor: registry name (``audiostyle.extractors.available()``) or an instance.
        options: extractor options (``audiostyle.extractors.options(name)``).
        working_sr: analysis rate in Hz, for extractors that take one (default: theirs).
        domain: ``"spectrogram"`` or ``"waveform"`` (default: the extractor's); see
            :mod:`audiostyle.domains`.
        init: ``"content"`` (the paper's) or ``"noise"`` (seeded white noise at the content's
            RMS).
        iterations: loss evaluations in ``domain`` (default: the extractor's
            ``default_iterations``).
        refine_iterations: waveform-domain evaluations after a spectrogram-domain stage and
            Griffin-Lim, so that the sound itself, not only the optimised magnitude, has the
            style's statistics (default :data:`DEFAULT_REFINE_ITERATIONS`; 0 = the paper's
            method exactly). Ignored in the waveform domain.
        content_weight: weight of the relative content feature distance.
        optimizer: ``"lbfgs"`` or ``"adam"``; ``learning_rate`` applies to Adam only.
        griffin_lim_iterations: phase recovery steps (spectrogram domain).
        seed: seeds the noise and the Griffin-Lim phase; same inputs and seed, same output.
        device: ``"cpu"``, ``"cuda"``, ``"mps"`` or None for the best available.
        output_sr: rate of the result in Hz (default: the content's).
        progress: show a progress bar.
    """
    content_audio = as_audio(content, sr, name="content")
    style_audio = as_audio(style, sr, name="style")
    if init not in INITS:
        raise AudioStyleError(f"Unknown init {init!r}; use one of {', '.join(INITS)}")
    return _synthesise(
        style_audio, content_audio, init=init, length_seconds=None,
        extractor=extractor, options=options, working_sr=working_sr, domain=domain,
        iterations=iterations, refine_iterations=refine_iterations,
        content_weight=content_weight, optimizer=optimizer, learning_rate=learning_rate,
        griffin_lim_iterations=griffin_lim_iterations, seed=seed, device=device,
        output_sr=output_sr or content_audio.sr, progress=progress,
    )


def texture(
    style: AudioLike,
    *,
    seconds: float,
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
    progress: bool = True,
) -> Result:
    """Synthesise ``seconds`` of new sound with the statistics of ``style``, from noise.

    The statistics are independent of length, so the result may be longer or shorter than
    the style. Arguments as in :func:`transfer`; ``output_sr`` defaults to the style's rate.
    """
    style_audio = as_audio(style, sr, name="style")
    if not seconds > 0 or not math.isfinite(seconds):
        raise AudioStyleError(f"seconds must be a positive number, got {seconds}")
    return _synthesise(
        style_audio, None, init="noise", length_seconds=seconds,
        extractor=extractor, options=options, working_sr=working_sr, domain=domain,
        iterations=iterations, refine_iterations=refine_iterations, content_weight=0.0,
        optimizer=optimizer, learning_rate=learning_rate,
        griffin_lim_iterations=griffin_lim_iterations, seed=seed, device=device,
        output_sr=output_sr or style_audio.sr, progress=progress,
    )


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
        options["sample_rate"] = working_sr
    return get_extractor(extractor, **options)


def _synthesise(
    style: Audio,
    content: Audio | None,
    *,
    init: str,
    length_seconds: float | None,
    extractor: str | Extractor,
    options: dict[str, Any] | None,
    working_sr: int | None,
    domain: str | None,
    iterations: int | None,
    refine_iterations: int | None,
    content_weight: float,
    optimizer: str,
    learning_rate: float | None,
    griffin_lim_iterations: int,
    seed: int,
    device: str | torch.device | None,
    output_sr: int,
    progress: bool,
) -> Result:
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    target_device = resolve_device(device)
    net = build_extractor(extractor, options, working_sr).to(target_device)
    rate = net.sample_rate

    style_wave = _prepare(style, net, target_device)
    if content is not None:
        content_wave = _prepare(content, net, target_device)
        length = content_wave.shape[-1]
    else:
        content_wave = None
        length = round(length_seconds * rate)
        _check_length(length, net, "the requested length")

    style_loss = StyleLoss(net)
    style_loss.set_target([(net.analyse(style_wave), 1.0)])
    content_loss = None
    if content_wave is not None and content_weight > 0:
        with torch.no_grad():
            content_loss = ContentLoss(net(content_wave))
    loss = TransferLoss(style_loss, content_loss, content_weight)

    if init == "content":
        start = content_wave
    else:
        like = content_wave if content_wave is not None else style_wave
        start = net.noise(like, length, generator).to(target_device)

    space = make_domain(domain or net.default_domain, net, start,
                        griffin_lim_iterations=griffin_lim_iterations)
    settings = {"optimizer": optimizer, "learning_rate": learning_rate, "progress": progress}
    best, trace = _stage(loss, space, net, iterations or net.default_iterations, **settings)
    stages = {space.name: trace}
    with torch.no_grad():
        wave = space.decode(best, reference=start if init == "content" else None)
    if refine_iterations is None:
        refine_iterations = DEFAULT_REFINE_ITERATIONS
    if space.name != "waveform" and refine_iterations > 0 and not trace.interrupted:
        polish = WaveformDomain(net, wave)
        best, stages["waveform"] = _stage(
            loss, polish, net, refine_iterations, reference_loss=trace.initial_loss, **settings
        )
        wave = polish.decode(best).detach()
    if any(t.interrupted for t in stages.values()):
        log.warning("interrupted; keeping the best result so far")

    with torch.no_grad():
        features = net(wave)
        final = float(loss.total(features))
        style_distance = float(style_loss(features))
    result_audio = resample(
        Audio(wave.cpu().numpy().astype(np.float32), rate, "result"), output_sr
    )
    return Result(
        audio=result_audio, stages=stages, extractor=net.name, working_sr=rate,
        loss_db=to_db(final / trace.initial_loss) if trace.initial_loss > 0 else -math.inf,
        style_distance_db=to_db(style_distance),
    )


def _stage(
    loss: TransferLoss,
    space: Domain,
    net: Extractor,
    iterations: int,
    *,
    optimizer: str,
    learning_rate: float | None,
    progress: bool,
    reference_loss: float | None = None,
) -> tuple[Tensor, Trace]:
    """One optimisation run of ``loss`` in domain ``space``."""
    return optimise(
        lambda x: space.objective(loss, x), space.initial, iterations=iterations,
        optimizer=optimizer, learning_rate=learning_rate or space.adam_learning_rate,
        reference_loss=reference_loss, progress=progress,
        description=f"{net.name}/{space.name}",
    )


def _prepare(audio: Audio, net: Extractor, device: torch.device) -> Tensor:
    """Mono, at the extractor's rate, long enough; ``(1, time)`` on ``device``."""
    audio = resample(to_mono(audio), net.sample_rate)
    _check_length(audio.samples.shape[-1], net, audio.name)
    return torch.from_numpy(audio.samples).to(device)


def _check_length(samples: int, net: Extractor, name: str) -> None:
    if samples < net.min_samples:
        raise AudioStyleError(
            f"{name}: {samples / net.sample_rate:.3f} s is too short for the {net.name} "
            f"extractor (needs at least {net.min_samples / net.sample_rate:.3f} s)"
        )



__all__ = ["DEFAULT_REFINE_ITERATIONS", "INITS", "Result", "texture", "transfer"]
