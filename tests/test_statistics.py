"""Gram statistics: explicit and factored distances, targets, mixing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiostyle.extractors.statistics import Gram, Identity, gram_matrix


def test_gram_matrix_matches_numpy():
    y = np.random.default_rng(0).standard_normal((2, 5, 7))
    ours = gram_matrix(torch.from_numpy(y)).numpy()
    reference = np.einsum("bct,bdt->bcd", y, y) / 7
    np.testing.assert_allclose(ours, reference, rtol=1e-12)


@pytest.mark.parametrize("frames,style_frames", [(6, 9), (40, 30)])
def test_factored_and_explicit_distances_agree_in_value_and_gradient(frames, style_frames):
    """channels=50: (6, 9) takes the factored form, (40, 30) the explicit one; both must
    equal ‖YYᵀ/T − YsYsᵀ/Ts‖² computed naively, and have the same gradient."""
    gram = Gram()
    style = torch.rand(1, 50, style_frames, dtype=torch.float64)
    target = gram.target([(style, 1.0)])
    y = torch.rand(2, 50, frames, dtype=torch.float64, requires_grad=True)

    naive = (gram_matrix(y) - gram_matrix(style)).square().sum((-1, -2))
    ours = gram.distance(y, target)
    torch.testing.assert_close(ours, naive)

    (g_naive,) = torch.autograd.grad(naive.sum(), y)
    (g_ours,) = torch.autograd.grad(gram.distance(y, target).sum(), y)
    torch.testing.assert_close(g_ours, g_naive)


def test_forced_forms_give_the_same_loss_and_gradient():
    style = torch.rand(1, 30, 8, dtype=torch.float64)
    y = torch.rand(2, 30, 12, dtype=torch.float64, requires_grad=True)
    results = {}
    for form in Gram.FORMS:
        gram = Gram(form)
        value = gram.distance(y, gram.target([(style, 1.0)]))
        (grad,) = torch.autograd.grad(value.sum(), y)
        results[form] = (value, grad)
    for form in ("explicit", "factored"):
        torch.testing.assert_close(results[form][0], results["auto"][0])
        torch.testing.assert_close(results[form][1], results["auto"][1])


def test_factored_form_is_used_when_cheaper_and_gives_same_loss_in_float32():
    gram = Gram()
    style = torch.rand(1, 512, 40)
    target = gram.target([(style, 1.0)])
    assert target.factor is not None  # rank 40 < 512 channels: kept factored
    y = torch.rand(1, 512, 60)
    explicit = (gram_matrix(y) - gram_matrix(style)).double().square().sum()
    torch.testing.assert_close(gram.distance(y, target)[0], explicit, rtol=1e-5, atol=0)
    assert float(target.norm) == pytest.approx(float(gram_matrix(style).double().square().sum()),
                                               rel=1e-5)


def test_target_is_weighted_mix_of_grams_and_batch_mean():
    gram = Gram()
    a = torch.rand(2, 8, 5, dtype=torch.float64)
    b = torch.rand(1, 8, 11, dtype=torch.float64)
    target = gram.target([(a, 0.25), (b, 0.75)])
    expected = 0.25 * gram_matrix(a).mean(0) + 0.75 * gram_matrix(b)[0]
    torch.testing.assert_close(target.matrix, expected)


def test_identical_features_have_zero_distance():
    gram = Gram()
    y = torch.rand(1, 64, 20, dtype=torch.float64)
    assert float(gram.distance(y, gram.target([(y, 1.0)]))) == pytest.approx(0.0, abs=1e-12)


def test_identity_statistic():
    identity = Identity()
    s = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    target = identity.target([(s, 1.0)])
    torch.testing.assert_close(target, torch.tensor([2.0, 3.0], dtype=torch.float64))
    torch.testing.assert_close(identity.distance(s, target), torch.tensor([2.0, 2.0],
                                                                          dtype=torch.float64))
