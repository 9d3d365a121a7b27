"""``learn``: one or more style sounds → a :class:`~.model.StyleModel`, on a CPU in minutes.

The model is trained on content crops (:mod:`.corpus`) to minimise the transfer's own loss
(:mod:`.objective`) against the style's statistics, blended by weight, at the chosen strength.
The style target is the mean of the statistics of random crops of the training length
(:data:`TARGET_CROPS` of them): a crop can match what crops of the style have, which for
statistics that are not linear in the frames (McDermott's moments, correlations and
modulation powers) differs from the statistics of the whole sound (docs: the research notes).
Everything is checked before any work; training can be stopped (Ctrl-C or an observer raising
``KeyboardInterrupt``: the model so far is returned, marked interrupted), checkpointed
atomically every few minutes and resumed from a checkpoint.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .._util import file_digest
from ..errors import AudioStyleError
from ..extractors import Extractor, build_extractor, check_length
from ..io.audio import Audio, AudioLike, as_audio
from ..io.devices import resolve_device
from ..synthesis.settings import MAX_ITERATIONS, describe
from ..synthesis.targets import option_pairs, style_wave
from .corpus import Corpus, FolderCorpus, SyntheticCorpus
from .describe import db_text
from .excitation import make_texture
from .frames import Grid
from .model import StyleModel, load_checkpoint
from .network import NetConfig, Renderer, StyleNet
from .objective import Objective, blend, style_loss_for, style_statistics
from .training import Budget, Recipe, TrainingState, train

#: The default budget, in minutes of training on the reference 2-core CPU.
DEFAULT_MINUTES = 15.0
#: The extractor a model matches unless told: one whose models are measured (benchmarks/
#: RESULTS.md, *Style models*), chosen apart from the transfers' default.
DEFAULT_EXTRACTOR = "mcdermott"
#: Random crops of each style whose statistics are averaged into its target.
TARGET_CROPS = 32
#: Minutes between checkpoints.
CHECKPOINT_MINUTES = 3.0
#: The longest budget ``minutes`` may ask for (a week): a typo of many digits is refused.
MAX_MINUTES = 7 * 24 * 60
#: The seed's range: that of a synthesis (:class:`~audiostyle.Settings`).
SEED = dict(describe())["seed"]

#: Called after every step with the training state and the step's loss parts.
Observer = Callable[[TrainingState, dict[str, float]], None]


def learn(
    styles: AudioLike | Sequence[AudioLike],
    *,
    extractor: str = DEFAULT_EXTRACTOR,
    options: Mapping[str, Any] | None = None,
    strength: float | None = None,
    style_weights: Sequence[float] | None = None,
    minutes: float | None = None,
    steps: int | None = None,
    corpus: str | Path | Corpus | None = None,
    seed: int = 0,
    device: str | torch.device | None = "cpu",
    sr: int | None = None,
    recipe: Recipe | None = None,
    network: NetConfig | None = None,
    checkpoint: str | Path | None = None,
    resume: str | Path | None = None,
    progress: bool = True,
    observer: Observer | None = None,
) -> StyleModel:
    """Learn a style model (see the module): ``learn("rain.wav").apply("song.wav")``.

    Args:
        styles: one style (path, :class:`Audio`, or array ``(time,)`` / ``(channels, time)``
            at ``sr`` Hz; any length, rate and channels) or a list of styles to blend.
        extractor, options: the extractor whose statistics are matched (registry name and
            its options, as for :func:`audiostyle.transfer`).
        strength: 0 … 1 as in :func:`audiostyle.transfer` (None: the extractor's model
            strength, ``defaults.model.strength``).
        style_weights: one weight >= 0 per style (default equal; normalised to sum 1).
        minutes, steps: the budget: wall-clock minutes of training, or optimiser steps, or
            both (whichever ends first); neither: :data:`DEFAULT_MINUTES` minutes.
        corpus: a folder of the user's sounds (any format, length, rate and channels, read
            in random crops), a :class:`Corpus`, or None for the built-in synthetic corpus.
        seed: 0 … 2³² − 1; seeds the network, the crops and the noise.
        device: where to train (``"cpu"``; ``"cuda"`` or None for the best available).
        sr: the sample rate of array styles, in Hz.
        recipe, network: training and network settings (defaults: :class:`Recipe`,
            :class:`NetConfig`).
        checkpoint: a file written atomically every :data:`CHECKPOINT_MINUTES` minutes and
            at the end (a model with its training state, readable as a model; the command
            line's is :func:`~.model.checkpoint_path` of its output).
        resume: a checkpoint to go on from (made for the same styles, weights and
            extractor), until the budget is spent.
        progress: show a progress bar (step, loss and validation loss in dB, time left).
        observer: called after every step with the training state and the step's loss
            parts; raising ``KeyboardInterrupt`` there stops training, as Ctrl-C does.

    Returns:
        The model (on the CPU). Ctrl-C (or the observer) stops training and returns the
        model so far, ``header["interrupted"]`` true; before the first step it propagates.
        Every argument is checked before any training (:class:`AudioStyleError` naming it).
    """
    style_list = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    if not style_list:
        raise AudioStyleError("no style given")
    weights = _weights(style_weights, len(style_list))
    budget = check_budget(minutes, steps)
    seed = SEED.check("seed", seed)
    target_device = resolve_device(device)
    net = build_extractor(extractor, dict(options or {})).to(target_device)
    strength = net.defaults.model.strength if strength is None else float(strength)
    if not 0 <= strength <= 1:
        raise AudioStyleError(f"`strength` must be between 0 and 1, got {strength}")
    recipe = recipe or Recipe()
    network = network or NetConfig()
    check_learnable(net, recipe)
    rate = net.sample_rate
    if not isinstance(corpus, Corpus):
        corpus = SyntheticCorpus(rate) if corpus is None else FolderCorpus(corpus, rate)
    names = ["style"] if len(style_list) == 1 else [f"style {i + 1}"
                                                     for i in range(len(style_list))]
    sounds = [as_audio(s, sr, name=n) for s, n in zip(style_list, names, strict=True)]
    waves = [style_wave(s, net) for s in sounds]
    styles_header = [{"name": _name(s), "sha256": _sound_digest(original, s), "weight": w}
                     for original, s, w in zip(style_list, sounds, weights, strict=True)]
    started = None
    if resume is not None:
        started = resume_from(resume, recipe, seed, net.name, styles_header)

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    loss = style_loss_for(net)
    crop = recipe.crop(rate)
    target = blend([(style_statistics(loss, w, crop, TARGET_CROPS, rng, target_device), weight)
                    for w, weight in zip(waves, weights, strict=True) if weight > 0])
    objective = Objective(net, target, strength)
    header = {
        "extractor": net.name, "options": dict(option_pairs(options)), "sample_rate": rate,
        "top_hz": rate / 2, "strength": strength,
        "styles": styles_header,
        "corpus": corpus.describe(),
        "training": {"batch": recipe.batch, "crop_seconds": recipe.crop_seconds,
                     "learning_rate": recipe.learning_rate, "seed": seed,
                     "target": f"mean of {TARGET_CROPS} style crops",
                     "budget": {"steps": budget.steps, "minutes": budget.minutes},
                     "device": str(target_device)},
    }
    state = started or TrainingState.new(StyleNet(network), recipe, seed)
    if state.net.config.texture_path and state.texture is None:
        began = time.perf_counter()
        state.texture = make_texture(sounds, weights, net, options, seed,
                                     recipe.texture_seconds, recipe.texture_iterations,
                                     target_device, progress)
        budget = budget.less(time.perf_counter() - began)
    header["texture"] = {"seconds": recipe.texture_seconds,
                         "iterations": recipe.texture_iterations or net.defaults.texture.iterations,
                         "made_by": f"audiostyle texture -e {net.name}"}
    state.net.to(target_device)
    renderer = Renderer(state.net, Grid.at(rate, rate / 2), state.texture, rate)
    watch = _Watch(header, budget, checkpoint, progress, observer)
    try:
        state = train(state, objective, corpus, recipe, budget, renderer, target_device, watch)
    except KeyboardInterrupt:  # after the steps (their final validation): keep the steps done
        if state.step == 0:
            raise
        state.interrupted = True
    finally:
        watch.close()
    state.net.to("cpu")  # a model applies on the CPU
    model = watch.model(state)
    if checkpoint is not None:
        try:
            model.save(checkpoint, state.tensors(), state.info())
        except KeyboardInterrupt:  # the model is made: the caller writes it (the last
            model.header["interrupted"] = True  # checkpoint, if any, stays as it was)
    return model


def check_learnable(net: Extractor, recipe: Recipe) -> None:
    """Refuse (:class:`AudioStyleError`) an extractor that cannot analyse a training crop of
    ``recipe`` (SoundNet's deepest layer needs longer sounds)."""
    check_length(recipe.crop(net.sample_rate), net,
                 f"a training crop of {recipe.crop_seconds:g} s")


def check_budget(minutes: float | None, steps: int | None) -> Budget:
    """The training budget of ``minutes`` and/or ``steps`` (whichever ends first; neither:
    :data:`DEFAULT_MINUTES`), checked: :class:`AudioStyleError` naming the bad one."""
    if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, (int, float))
                                or not 0 < minutes <= MAX_MINUTES):
        raise AudioStyleError(f"`minutes` must be a positive number of at most {MAX_MINUTES} "
                              f"(a week), got {minutes!r}")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int)
                              or not 1 <= steps <= MAX_ITERATIONS):
        raise AudioStyleError(f"`steps` must be a whole number from 1 to {MAX_ITERATIONS}, got "
                              f"{steps!r}")
    return Budget(steps, minutes if minutes is not None or steps is not None
                  else DEFAULT_MINUTES)


def resume_from(path: str | Path, recipe: Recipe, seed: int, extractor: str,
                styles: list[dict]) -> TrainingState:
    """The training state saved in the checkpoint ``path``, which must have been made for
    the same ``extractor`` and ``styles`` (names, digests and weights)."""
    model, tensors = load_checkpoint(path)
    info = model.header.get("training_state")
    if info is None:
        raise AudioStyleError(f"{path}: a style model without its training state (not a "
                              "checkpoint); resume from the checkpoint file")
    if model.header.get("extractor") != extractor or model.header.get("styles") != styles:
        raise AudioStyleError(f"{path}: a checkpoint of another style or extractor; resume "
                              "with the styles, weights and extractor it was made with")
    state = TrainingState.new(model.net.train(), recipe, seed)
    state.restore(tensors, info)
    state.texture = model.texture
    return state


class _Watch:
    """The observer :func:`train` calls: progress bar, checkpoints, the user's observer."""

    def __init__(self, header: dict, budget: Budget, checkpoint: str | Path | None,
                 progress: bool, observer: Observer | None) -> None:
        self.header, self.budget, self.checkpoint = header, budget, checkpoint
        self.observer = observer
        self.last_checkpoint = time.perf_counter()
        self.bar = tqdm(total=1000, disable=not progress, desc="learn", dynamic_ncols=True,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}")

    def __call__(self, state: TrainingState, parts: dict[str, float]) -> None:
        fraction = self.budget.fraction(state.step, state.seconds)
        left = state.seconds / fraction - state.seconds if fraction > 0 else math.nan
        recent = float(np.mean(state.losses[-20:]))
        held = state.validation[-1][1]["total_db"] if state.validation else None
        self.bar.n = round(1000 * fraction)
        self.bar.set_postfix_str(f"step {state.step}, loss {recent:.1f} dB, validation "
                                 f"{db_text(held)}, {left / 60:.1f} min left", refresh=True)
        if self.checkpoint is not None and \
                time.perf_counter() - self.last_checkpoint > 60 * CHECKPOINT_MINUTES:
            self.model(state).save(self.checkpoint, state.tensors(), state.info())
            self.last_checkpoint = time.perf_counter()
        if self.observer is not None:
            self.observer(state, parts)

    def close(self) -> None:
        self.bar.close()

    def model(self, state: TrainingState) -> StyleModel:
        """The model as trained so far, with its header."""
        final = state.validation[-1][1] if state.validation else {}
        header = {**self.header, "steps": state.step, "minutes": round(state.seconds / 60, 3),
                  "interrupted": state.interrupted,
                  "losses": {"training": float(np.mean(state.losses[-50:]))
                             if state.losses else None, "validation": final}}
        return StyleModel(state.net, state.texture, header)


def _weights(weights: Sequence[float] | None, count: int) -> list[float]:
    weights = [1.0] * count if weights is None else [float(w) for w in weights]
    if len(weights) != count:
        raise AudioStyleError(f"{len(weights)} `style_weights` for {count} styles; give one "
                              "weight per style")
    if not all(w >= 0 and math.isfinite(w) for w in weights) or sum(weights) <= 0:
        raise AudioStyleError(f"`style_weights` must be >= 0 with a positive sum, got {weights}")
    total = sum(weights)
    return [w / total for w in weights]


def _name(audio: Audio) -> str:
    return Path(audio.name).name


def _sound_digest(original: AudioLike, audio: Audio) -> str:
    """SHA-256 of the style file's bytes, or of the samples of an array."""
    if isinstance(original, (str, Path)):
        return file_digest(original)
    return hashlib.sha256(np.ascontiguousarray(audio.samples).tobytes()).hexdigest()
