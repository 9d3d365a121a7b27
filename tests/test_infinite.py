"""The random nets with infinitely many filters: the arc-cosine kernel against sampled filters,
the patches' products against explicit patches, and the shallow nets' two forms."""

from __future__ import annotations

import math

import pytest
import torch

from audiostyle.extractors import build_extractor, infinite
from audiostyle.extractors.infinite import ArcCosineGram, arc_cosine, patch_norms, patch_products
from audiostyle.extractors.statistics import Gram
from audiostyle.synthesis.losses import StyleLoss

SR = 8000


def patches(frames: torch.Tensor, width: int) -> torch.Tensor:
    """Explicit patches of ``(bins, T)``: ``(T − width + 1, bins · width)``."""
    return frames.unfold(1, width, 1).permute(1, 0, 2).reshape(frames.shape[1] - width + 1, -1)


def melody(seconds: float, seed: int) -> torch.Tensor:
    """A few seconds of a plucked melody with noise, ``(1, time)`` at SR."""
    generator = torch.Generator().manual_seed(seed)
    t = torch.arange(int(seconds * SR)) / SR
    notes = 220 * 2 ** (torch.randint(0, 12, (8,), generator=generator) / 12)
    pitch = notes[(t * 4).long() % 8]
    decay = torch.exp(-6 * ((t * 4) % 1))
    return (0.5 * decay * torch.sin(2 * math.pi * torch.cumsum(pitch, 0) / SR)
            + 0.02 * torch.randn(len(t), generator=generator))[None]


def test_patch_products_and_norms_equal_explicit_patches():
    generator = torch.Generator().manual_seed(0)
    a, b = torch.rand(7, 30, generator=generator), torch.rand(7, 23, generator=generator)
    for width in (1, 4, 11):
        explicit = patches(a, width) @ patches(b, width).T
        torch.testing.assert_close(patch_products(a, b, width), explicit)
        torch.testing.assert_close(patch_norms(a, width), patches(a, width).norm(dim=1))


def test_kernel_is_the_mean_of_sampled_relu_products():
    """k(p, q) = E_w[relu(w·p) relu(w·q)] for w ~ N(0, I): against 400000 drawn filters."""
    generator = torch.Generator().manual_seed(1)
    a = torch.rand(5, 12, generator=generator)
    b = torch.rand(5, 9, generator=generator) - 0.3  # some negative products, wide angles
    width = 3
    w = torch.randn(400_000, 5 * width, generator=generator, dtype=torch.float64)
    pa, pb = patches(a, width).double(), patches(b, width).double()
    sampled = torch.relu(pa @ w.T) @ torch.relu(pb @ w.T).T / len(w)
    exact = arc_cosine(a.double(), b.double(), width)
    assert torch.allclose(exact, sampled, rtol=0.02, atol=1e-3 * float(sampled.abs().max()))
    # the same patch: |p|² / 2
    torch.testing.assert_close(torch.diagonal(arc_cosine(a, a, width)),
                               patch_norms(a, width).square() / 2)


def test_kernel_gradient_is_finite_at_equal_and_silent_patches():
    frames = torch.rand(6, 20, dtype=torch.float64)
    frames[:, 5:12] = 0  # a silent stretch: zero patches
    x = frames.clone().requires_grad_()
    value = arc_cosine(x, x, 4).square().mean()
    (grad,) = torch.autograd.grad(value, x)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    rho = (torch.rand(50, dtype=torch.float64) * 1.8 - 0.9).requires_grad_()
    assert torch.autograd.gradcheck(infinite._ArcCosine.apply, (rho,))


def test_infinite_form_is_the_limit_of_many_drawn_filters():
    """Relative Gram distance and its gradient: the drawn net comes closer to the infinite form
    as it gets more filters (sampling noise ~ 1/sqrt(filters))."""
    options = {"sample_rate": SR, "n_fft": 256, "hop_length": 64, "kernel_width": 5}
    content, style = melody(1.5, 0), melody(1.5, 1)

    def distance_and_gradient(extra):
        net = build_extractor("shallow", {**options, **extra})
        loss = StyleLoss(net)
        loss.set_target([(net.analyse(style), 1.0)])
        x = net.analyse(content).requires_grad_()
        value = loss(net.features(x))
        return float(value.detach()), torch.autograd.grad(value, x)[0].flatten()

    exact, exact_grad = distance_and_gradient({"form": "infinite"})
    errors, cosines = [], []
    for filters in (256, 8192):
        value, grad = distance_and_gradient({"form": "drawn", "filters": filters,
                                             "precision": "float32"})
        errors.append(abs(value / exact - 1))
        cosines.append(float(torch.nn.functional.cosine_similarity(grad, exact_grad, 0)))
    assert errors[1] < 0.03 and cosines[1] > 0.95
    assert errors[1] < errors[0] and cosines[1] > cosines[0]


def test_mixed_targets_add_like_gram_targets():
    """‖S − (a·A + b·B)‖² from the factored Gram and from the kernel agree, for drawn filters
    many enough, and a target made of x is x's own (zero distance)."""
    generator = torch.Generator().manual_seed(3)
    x, a, b = (torch.rand(1, 9, 40, generator=generator) for _ in range(3))
    statistic = ArcCosineGram((4,))
    mix = 0.3 * statistic.target([(a, 1.0)]) + 0.7 * statistic.target([(b, 1.0)])
    w = torch.randn(200_000, 9, 4, generator=generator, dtype=torch.float64)
    drawn = [torch.relu(torch.nn.functional.conv1d(v.double(), w)) for v in (x, a, b)]
    gram = Gram()
    drawn_mix = 0.3 * gram.target([(drawn[1], 1.0)]) + 0.7 * gram.target([(drawn[2], 1.0)])
    relative = float(statistic.distance(x, mix)[0] / statistic.norm(mix))
    drawn_relative = float(gram.distance(drawn[0], drawn_mix)[0] / gram.norm(drawn_mix))
    assert relative == pytest.approx(drawn_relative, rel=0.05)
    own = statistic.target([(x, 1.0)])
    assert float(statistic.distance(x, own)[0] / statistic.norm(own)) < 1e-6


def test_long_targets_are_read_in_crops_of_bounded_length(monkeypatch):
    monkeypatch.setattr(infinite, "MAX_TARGET_FRAMES", 100)
    generator = torch.Generator().manual_seed(4)
    pieces = [torch.rand(1, 6, 80, generator=generator) for _ in range(4)]
    statistic = ArcCosineGram((5,))
    target = statistic.target([(pieces[0], 0.25)])
    for piece in pieces[1:]:
        target = target + statistic.target([(piece, 0.25)])
    kept = target.kept
    assert sum(frames.shape[-1] for frames, _ in kept) <= 100
    assert [w for _, w in kept] == [0.25] * 4
    # stationary noise: the crops' statistics are nearly the whole pieces', against another
    # noise's (its values squared)
    x = torch.rand(1, 6, 80, generator=generator)
    other = statistic.target([(torch.rand(1, 6, 100, generator=generator).square(), 1.0)])
    full = statistic.target([(torch.cat(pieces, -1), 1.0)])
    monkeypatch.setattr(infinite, "MAX_TARGET_FRAMES", 10_000)
    cropped, whole = (float(statistic.distance(x, t)[0]) for t in (target, full))
    assert abs(cropped - whole) < 0.1 * float(statistic.distance(x, other)[0])


def test_several_widths_are_the_sum_of_their_relative_distances():
    generator = torch.Generator().manual_seed(5)
    x, style = torch.rand(2, 8, 50, generator=generator), torch.rand(1, 8, 70, generator=generator)
    widths = (2, 7, 16)
    together = ArcCosineGram(widths)
    alone = [ArcCosineGram((w,)) for w in widths]
    target = together.target([(style, 1.0)])
    torch.testing.assert_close(
        together.distance(x, target) / together.norm(target),
        sum(a.distance(x, t) / a.norm(t) for a, t in ((a, a.target([(style, 1.0)]))
                                                      for a in alone)))


@pytest.mark.parametrize("name", ["shallow", "shallow-multi"])
def test_infinite_form_has_no_weights_and_no_finite_statistics(name):
    from audiostyle.errors import AudioStyleError
    from audiostyle.evaluation.statistics_snr import stats

    net = build_extractor(name, {"sample_rate": SR})
    assert net.form == "infinite"
    assert not [key for key, _ in net.named_buffers() if key.startswith("weight")]
    with pytest.raises(AudioStyleError, match="form=drawn"):
        stats(melody(5.0, 0), SR, extractor=net)
    with pytest.raises(AudioStyleError, match=r"form='sampled' must be one of infinite, drawn"):
        build_extractor(name, {"form": "sampled"})


@pytest.mark.parametrize("name", ["shallow", "shallow-multi"])
@pytest.mark.parametrize(("option", "value"), [("filters", "256"), ("seed", 3),
                                               ("precision", "float32")])
def test_drawn_only_options_are_refused_with_the_infinite_form(name, option, value):
    """``filters``, ``seed`` and ``precision`` would be ignored by the infinite form (the
    default, or named): refused, naming the extractor, the option and the fix."""
    from audiostyle.errors import AudioStyleError

    expected = (f"Extractor '{name}': option {option} acts on drawn nets only; add form=drawn "
                "to use it (form=infinite, the default, has infinitely many filters)")
    for form in ({}, {"form": "infinite"}):
        with pytest.raises(AudioStyleError) as refused:
            build_extractor(name, {option: value, **form})
        assert str(refused.value) == expected
    with pytest.raises(AudioStyleError, match=r"options filters, seed act on drawn nets only; "
                                              r"add form=drawn to use them"):
        build_extractor(name, {"filters": 8, "seed": 1})
    drawn = build_extractor(name, {option: value, "form": "drawn", "sample_rate": SR,
                                   "n_fft": 256, "hop_length": 64,
                                   **({} if option == "filters" else {"filters": 8})})
    assert drawn.form == "drawn"


def test_the_drawn_nets_take_the_given_options_and_one_default_each():
    """Left out, a drawn net's options take the modules' constants; given (as text, as the
    command line gives them), they act."""
    from audiostyle.extractors import shallow, shallow_multi

    small = {"sample_rate": SR, "n_fft": 256, "hop_length": 64, "form": "drawn"}
    net = build_extractor("shallow", small)
    assert net.weight.shape[0] == shallow.FILTERS == 4096
    assert (net.precision, shallow.SEED, shallow.PRECISION) == ("auto", 0, "auto")
    assert torch.equal(net.weight, build_extractor("shallow", {**small, "seed": "0"}).weight)
    given = build_extractor("shallow", {**small, "filters": "16", "seed": "5",
                                        "precision": "float32"})
    assert given.weight.shape[0] == 16 and given.precision == "float32"
    assert not torch.equal(given.weight, build_extractor("shallow", {**small, "filters": 16}
                                                         ).weight)
    multi = build_extractor("shallow-multi", small)
    assert tuple(getattr(multi, f"weight{w}").shape[0] for w in multi.widths) \
        == shallow_multi.FILTERS
    multi = build_extractor("shallow-multi", {**small, "widths": "2,8", "filters": "16,8"})
    assert (multi.weight2.shape[0], multi.weight8.shape[0]) == (16, 8)


def test_widths_and_kernel_width_act_on_the_infinite_form():
    """The options both forms use are taken without ``form=drawn``, and the infinite
    shallow-multi takes any widths (no filter counts to match them)."""
    net = build_extractor("shallow-multi", {"widths": "2,4", "sample_rate": SR})
    assert net.form == "infinite" and net.widths == (2, 4)
    assert build_extractor("shallow", {"kernel_width": "5"}).kernel_width == 5


def test_only_the_infinite_nets_cost_grows_with_the_style():
    """The studio times a second, longer style only where an iteration compares every frame
    with the style's: the infinite random nets, not a drawn net's Gram or McDermott's
    statistics, which summarise the style once."""
    from audiostyle.extractors import build_extractor

    assert build_extractor("shallow").cost_grows_with_style
    assert build_extractor("shallow-multi").cost_grows_with_style
    assert not build_extractor("shallow", {"form": "drawn", "filters": 8}).cost_grows_with_style
    assert not build_extractor("mcdermott").cost_grows_with_style
