"""Training a style model: Adam on batches of content crops, within a budget of steps or minutes.

:func:`train` runs from a :class:`TrainingState` (new, or read back from a checkpoint) until
the budget is spent, calling an observer after every step (raising ``KeyboardInterrupt`` there,
or a Ctrl-C, stops it cleanly: the state so far is returned and marked interrupted). The state
holds everything a resumed run needs — the network's and Adam's tensors, the step, the time
spent, the random generator's state and the loss history — as tensors and JSON-able values
(:meth:`TrainingState.tensors` / :meth:`TrainingState.info`), so a checkpoint is never pickled.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from .corpus import Corpus
from .excitation import TEXTURE_SECONDS
from .network import Renderer, StyleNet
from .objective import Objective

#: Adam's step size at the start; it falls along a half cosine to a tenth by the budget's end.
LEARNING_RATE = 3e-3
#: Step size of the levels (:meth:`StyleNet.levels`) relative to the weights': a static curve
#: at the weights' rate moved 5 dB in 200 steps, where styles differ from contents by 20–30.
LEVEL_RATE = 10.0
FINAL_RATE = 0.1
#: Steps between validations (and one at the end).
VALIDATE_EVERY = 50


@dataclass(frozen=True)
class Budget:
    """How long to train: ``steps``, or ``minutes`` of wall-clock time (training only)."""

    steps: int | None = None
    minutes: float | None = None

    def less(self, seconds: float) -> Budget:
        """The budget left after ``seconds`` spent before training (the model's texture); at
        least a tenth of its minutes are left to train."""
        if self.minutes is None:
            return self
        return Budget(self.steps, max(self.minutes - seconds / 60, self.minutes / 10))

    def fraction(self, step: int, seconds: float) -> float:
        """How much of the budget is spent (0 … 1)."""
        done = 0.0
        if self.steps:
            done = max(done, step / self.steps)
        if self.minutes:
            done = max(done, seconds / (60 * self.minutes))
        return min(done, 1.0)


@dataclass(frozen=True)
class Recipe:
    """The training settings (a model's header keeps them).

    Attributes:
        batch: crops per step.
        crop_seconds: length of each crop.
        learning_rate: Adam's starting step size.
        validation_crops: held-out crops scored every :data:`VALIDATE_EVERY` steps.
        texture_seconds: length of the model's texture of the style (:mod:`.excitation`).
        texture_iterations: its synthesis's iterations (None: the extractor's texture
            default).
    """

    batch: int = 4
    crop_seconds: float = 2.5
    learning_rate: float = LEARNING_RATE
    validation_crops: int = 8
    texture_seconds: float = TEXTURE_SECONDS
    texture_iterations: int | None = None

    def crop(self, sr: int) -> int:
        return round(self.crop_seconds * sr)


@dataclass
class TrainingState:
    """Where training is (see the module)."""

    net: StyleNet
    optimizer: torch.optim.Optimizer
    rng: np.random.Generator
    #: the model's texture (:mod:`.excitation`), mono at the extractor's rate: made before
    #: the first step, kept by a checkpoint
    texture: np.ndarray | None = None
    step: int = 0
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)
    validation: list[tuple[int, dict[str, float]]] = field(default_factory=list)
    interrupted: bool = False

    @classmethod
    def new(cls, net: StyleNet, recipe: Recipe, seed: int) -> TrainingState:
        levels = {id(p) for p in net.levels()}
        weights = [p for p in net.parameters() if id(p) not in levels]
        optimizer = torch.optim.Adam([{"params": weights, "scale": 1.0},
                                      {"params": net.levels(), "scale": LEVEL_RATE}],
                                     lr=recipe.learning_rate)
        return cls(net, optimizer, np.random.default_rng(seed))

    def tensors(self) -> dict[str, Tensor]:
        """Adam's moments, by name."""
        out = {}
        for index, param_state in self.optimizer.state_dict()["state"].items():
            for key, value in param_state.items():
                out[f"training.adam.{index}.{key}"] = value.detach().cpu().reshape(-1) \
                    if key == "step" else value.detach().cpu()
        return out

    def info(self) -> dict:
        """The JSON-able rest: step, seconds, the generator's state, loss history."""
        return {"step": self.step, "seconds": self.seconds,
                "rng": self.rng.bit_generator.state, "losses": self.losses[-2000:],
                "validation": self.validation}

    def restore(self, tensors: dict[str, Tensor], info: dict) -> None:
        """Take back what :meth:`tensors` and :meth:`info` saved (the network's weights are
        loaded by the caller)."""
        state = self.optimizer.state_dict()
        for index in (i for group in state["param_groups"] for i in group["params"]):
            prefix = f"training.adam.{index}."
            keys = [k for k in tensors if k.startswith(prefix)]
            if keys:
                state["state"][index] = {
                    k[len(prefix):]: tensors[k].reshape(()) if k.endswith(".step") else tensors[k]
                    for k in keys}
        self.optimizer.load_state_dict(state)
        self.step, self.seconds = int(info["step"]), float(info["seconds"])
        self.rng.bit_generator.state = info["rng"]
        self.losses = list(info["losses"])
        self.validation = [(int(s), dict(v)) for s, v in info["validation"]]


#: Called after every step with the state and the last step's parts (floats).
StepObserver = Callable[[TrainingState, dict[str, float]], None]


def train(
    state: TrainingState,
    objective: Objective,
    corpus: Corpus,
    recipe: Recipe,
    budget: Budget,
    renderer: Renderer,
    device: torch.device,
    observer: StepObserver | None = None,
) -> TrainingState:
    """Train ``renderer``'s network (``state.net``) until ``budget`` is spent (see the
    module); returns ``state``, updated."""
    renderer = renderer.to(device)
    crop = recipe.crop(renderer.grid.sr)
    held = torch.from_numpy(corpus.validation(recipe.validation_crops, crop)).to(device)
    state.net.train()
    started = time.perf_counter() - state.seconds
    try:
        while budget.fraction(state.step, state.seconds) < 1:
            fraction = budget.fraction(state.step, state.seconds)
            rate = recipe.learning_rate * (FINAL_RATE + (1 - FINAL_RATE) * 0.5
                                           * (1 + math.cos(math.pi * fraction)))
            for group in state.optimizer.param_groups:
                group["lr"] = rate * group["scale"]
            content = torch.from_numpy(corpus.crops(recipe.batch, crop, state.rng)).to(device)
            seed = int(state.rng.integers(1 << 32))
            parts = objective(content, render(renderer, content, seed))
            state.optimizer.zero_grad(set_to_none=True)
            # each crop's loss in dB: a crop far from the style (loud, or of another kind)
            # would otherwise steer every step
            parts["total"].clamp_min(1e-12).log().mean().backward()
            state.optimizer.step()
            state.step += 1
            state.seconds = time.perf_counter() - started
            values = {k: float(v.detach().mean()) for k, v in parts.items()}
            values["total_db"] = float(10 * torch.log10(parts["total"].detach()
                                                        .clamp_min(1e-12)).mean())
            state.losses.append(values["total_db"])
            if state.step % VALIDATE_EVERY == 0:
                state.validation.append((state.step, validate(renderer, objective, held)))
            if observer is not None:
                observer(state, values)
    except KeyboardInterrupt:
        state.interrupted = True
    state.seconds = time.perf_counter() - started
    if not state.validation or state.validation[-1][0] != state.step:
        state.validation.append((state.step, validate(renderer, objective, held)))
    state.net.eval()
    return state


def render(renderer: Renderer, content: Tensor, seed: int) -> Tensor:
    """The model's output for whole crops ``(batch, time)`` (crop ``i`` as channel ``i`` of
    ``seed``), aligned with them: the stream's computation in one block, flushed."""
    g = renderer.grid
    length = content.shape[-1]
    padded = torch.cat([content, content.new_zeros(content.shape[0], g.window)], dim=-1)
    seeds = [(seed, i) for i in range(content.shape[0])]
    out, _ = renderer(renderer.start(seeds, content), padded)
    return out[:, g.window - g.hop: g.window - g.hop + length]


@torch.no_grad()
def validate(renderer: Renderer, objective: Objective, content: Tensor) -> dict[str, float]:
    """The objective's parts on held-out crops (the texture read with seed 1), averaged, and
    ``total_db``: the mean over crops of the total in dB (what training minimises)."""
    totals: dict[str, float] = {}
    for start in range(0, content.shape[0], 4):
        piece = content[start:start + 4]
        parts = objective(piece, render(renderer, piece, 1 + start))
        parts["total_db"] = 10 * torch.log10(parts["total"].clamp_min(1e-12))
        for key, value in parts.items():
            totals[key] = totals.get(key, 0.0) + float(value.sum())
    return {key: value / content.shape[0] for key, value in totals.items()}
