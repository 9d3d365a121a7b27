"""The optimisation loop: minimise a loss over one tensor, whatever the extractor.

One *iteration* is one evaluation of the loss and its gradient (a forward and a backward pass),
so iteration counts cost the same for every optimiser. The loop keeps the best iterate, stops
cleanly on Ctrl-C (returning the best so far) and on a NaN loss, and shows a progress bar with
the loss in dB relative to its starting value. An optional observer sees every iteration (and
can ask for the best iterate so far); raising ``KeyboardInterrupt`` in it stops like Ctrl-C.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..errors import AudioStyleError, SynthesisError

log = logging.getLogger(__name__)

OPTIMIZERS = ("lbfgs", "adam")

#: L-BFGS's first step moves the variable by this fraction of its RMS (see :func:`optimise`).
FIRST_STEP = 0.05
#: L-BFGS memory (correction pairs). Its two-loop recursion reads every pair twice per
#: iteration, memory-bound on signal-sized vectors: with torch's default of 100 pairs
#: McDermott's and SoundNet's iterations cost more and transfers converge no further
#: (benchmarks/RESULTS.md, *L-BFGS memory*).
HISTORY = 25


@dataclass
class Trace:
    """What happened during an optimisation.

    ``losses`` holds every evaluated loss divided by ``initial_loss`` (the first evaluated
    loss, unless the caller gave a reference).
    """

    losses: list[float] = field(default_factory=list)
    best_loss: float = math.inf
    interrupted: bool = False
    seconds: float = 0.0
    initial_loss: float = math.nan

    @property
    def iterations(self) -> int:
        """Loss evaluations done."""
        return len(self.losses)

    @property
    def best_db(self) -> float:
        """Best loss relative to the starting loss, in dB (``-40`` = 10⁻⁴ of the start)."""
        return to_db(self.best_loss)


def to_db(ratio: float) -> float:
    """``10·log10(ratio)``, with ``-inf`` for 0."""
    return 10 * math.log10(ratio) if ratio > 0 else -math.inf


#: ``observer(trace, best)``, called after every iteration: the trace so far and a function
#: that returns the best iterate so far (detached, shaped like the start). Raising
#: ``KeyboardInterrupt`` in it stops the optimisation as Ctrl-C does (the best is kept).
Observer = Callable[[Trace, Callable[[], Tensor]], None]


class _BudgetSpent(Exception):
    """Raised inside the closure once the evaluation budget is used up."""


def optimise(
    loss_fn: Callable[[Tensor], Tensor],
    start: Tensor,
    *,
    iterations: int,
    optimizer: str = "lbfgs",
    learning_rate: float = 0.01,
    history_size: int = HISTORY,
    reference_loss: float | None = None,
    progress: bool = True,
    description: str = "optimising",
    observer: Observer | None = None,
) -> tuple[Tensor, Trace]:
    """Minimise ``loss_fn(x)`` from ``x = start`` for ``iterations`` loss evaluations.

    Args:
        loss_fn: differentiable scalar loss of a tensor shaped like ``start``.
        start: initial value (not modified).
        iterations: number of loss + gradient evaluations.
        optimizer: ``"lbfgs"`` (L-BFGS with strong-Wolfe line search) or ``"adam"`` (with
            ``learning_rate``, in units of ``x``).
        history_size: L-BFGS memory.
        reference_loss: divide losses by this (default: by the first loss), so that a
            second stage reports losses relative to the first stage's start.
        progress: show a progress bar (on stderr).
        observer: called after every iteration (see :data:`Observer`).

    Returns:
        ``(best x, trace)``; the best iterate seen, detached.

    Raises:
        SynthesisError: the loss was NaN or infinite before any finite value was seen.
    """
    if optimizer not in OPTIMIZERS:
        raise AudioStyleError(
            f"Unknown optimizer {optimizer!r}; use one of {', '.join(OPTIMIZERS)}"
        )
    if iterations < 1:
        raise AudioStyleError(f"iterations must be at least 1, got {iterations}")
    # L-BFGS is invariant to a rescaling x = s·z except for its first step, which moves z by
    # g/|g|₁ (tiny in high dimension; the line search then needs several evaluations to grow
    # it). Optimising z with s = FIRST_STEP · n · rms(x) makes that first step about
    # FIRST_STEP of the RMS of x instead.
    unit = 1.0
    if optimizer == "lbfgs":
        rms = float(start.detach().double().square().mean().sqrt())
        unit = FIRST_STEP * start.numel() * rms if rms > 0 else 1.0
    x = (start.detach() / unit).contiguous().requires_grad_(True)
    best = start.detach().clone()
    trace = Trace()
    scale: list[float] = []  # 1 / initial loss, set on the first evaluation
    bar = tqdm(total=iterations, desc=description, disable=not progress, unit="it",
               dynamic_ncols=True, leave=True)

    def closure() -> Tensor:
        nonlocal best
        if trace.iterations >= iterations:
            raise _BudgetSpent
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(x * unit)
        value = float(loss.detach())
        if not math.isfinite(value):
            raise SynthesisError(f"the loss became {value} at iteration {trace.iterations + 1}")
        if not scale:
            trace.initial_loss = value if reference_loss is None else reference_loss
            scale.append(1.0 / trace.initial_loss if trace.initial_loss > 0 else 1.0)
        loss = loss * scale[0]
        loss.backward()
        relative = value * scale[0]
        trace.losses.append(relative)
        if relative < trace.best_loss:
            trace.best_loss = relative
            best = x.detach() * unit
        bar.update(1)
        bar.set_postfix_str(f"loss {to_db(relative):6.1f} dB", refresh=False)
        if observer is not None:
            observer(trace, lambda: best)
        return loss

    if optimizer == "lbfgs":
        opt = torch.optim.LBFGS(
            [x], lr=1.0, max_iter=iterations, max_eval=iterations, history_size=history_size,
            tolerance_grad=1e-12, tolerance_change=1e-15, line_search_fn="strong_wolfe",
        )
    else:
        opt = torch.optim.Adam([x], lr=learning_rate)
    began = time.perf_counter()
    try:
        if optimizer == "lbfgs":
            opt.step(closure)
        else:
            while trace.iterations < iterations:
                opt.step(closure)
    except _BudgetSpent:
        pass
    except KeyboardInterrupt:
        trace.interrupted = True
    except SynthesisError as exc:
        if not trace.losses:
            raise
        log.warning("%s; keeping the best result so far (%.1f dB)", exc, trace.best_db)
    finally:
        bar.close()
    trace.seconds = time.perf_counter() - began
    return best, trace
