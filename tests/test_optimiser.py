"""The optimisation loop on problems with known solutions."""

from __future__ import annotations

import math

import pytest
import torch

from audiostyle.errors import SynthesisError
from audiostyle.synthesis.optimiser import optimise


def _quadratic(x: torch.Tensor) -> torch.Tensor:
    scales = torch.linspace(1.0, 20.0, x.numel()).reshape(x.shape)
    return (scales * (x - 3.0) ** 2).sum()


@pytest.mark.parametrize("optimizer,iterations", [("lbfgs", 30), ("adam", 400)])
def test_minimises_an_ill_conditioned_quadratic(optimizer, iterations):
    best, trace = optimise(_quadratic, torch.zeros(50), iterations=iterations,
                           optimizer=optimizer, learning_rate=0.1, progress=False)
    assert trace.iterations == iterations
    assert trace.losses[0] == pytest.approx(1.0)
    assert trace.best_loss < 1e-6
    torch.testing.assert_close(best, torch.full((50,), 3.0), atol=1e-3, rtol=0)


def test_keeps_the_best_iterate_and_counts_evaluations_exactly():
    best, trace = optimise(_quadratic, torch.zeros(10), iterations=7, progress=False)
    assert trace.iterations == 7
    assert trace.best_loss == min(trace.losses)
    assert float(_quadratic(best)) / trace.initial_loss == pytest.approx(trace.best_loss, rel=1e-5)


def test_interrupt_returns_best_so_far():
    calls = []

    def loss(x):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return _quadratic(x)

    best, trace = optimise(loss, torch.zeros(10), iterations=50, progress=False)
    assert trace.interrupted and trace.iterations == 4
    assert trace.best_loss < 1.0
    assert float(_quadratic(best)) < float(_quadratic(torch.zeros(10)))


def test_nan_at_start_raises_and_nan_later_keeps_best():
    with pytest.raises(SynthesisError, match="nan"):
        optimise(lambda x: x.sum() * math.nan, torch.zeros(3), iterations=5, progress=False)

    calls = []

    def loss(x):
        calls.append(1)
        return _quadratic(x) * (math.nan if len(calls) == 4 else 1.0)

    best, trace = optimise(loss, torch.zeros(10), iterations=20, progress=False)
    assert trace.iterations == 3 and math.isfinite(float(_quadratic(best)))


def test_reference_loss_sets_the_scale():
    _, trace = optimise(_quadratic, torch.zeros(5), iterations=3, reference_loss=1e6,
                        progress=False)
    assert trace.initial_loss == 1e6
    assert trace.losses[0] == pytest.approx(float(_quadratic(torch.zeros(5))) / 1e6)
