"""What the synthesis needs of an extractor, checked: :func:`check_extractor`.

An extractor is one module and one line in the registry, but it must keep a contract that the
synthesis relies on without knowing which extractor it drives (docs/ARCHITECTURE.md,
*Adding an extractor*, lists it for a person). :func:`check_extractor` runs it on an instance,
after plenoptic's ``validate_model``: it feeds the shortest input the extractor says it
takes and raises :class:`ContractError` at the first broken promise, saying what to fix.
The test suite runs it over every registered extractor.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..errors import AudioStyleError
from ..extractors import REGISTRY, Extractor
from ..extractors.statistics import Statistic
from .domains import DOMAINS
from .losses import StyleLoss
from .settings import Settings

#: Relative squared distance below which two statistics are the same (−40 dB: float32
#: rounding of a Gram matrix over thousands of positions stays far below it).
ROUNDING = 1e-4


class ContractError(AudioStyleError):
    """An extractor breaks the contract; the message says which promise and how to fix it."""


def check_extractor(net: Extractor, *, seed: int = 0) -> None:
    """Check ``net`` against the extractor contract (see the module); raise
    :class:`ContractError` naming the first promise it breaks.

    Checked: its name is registered; its statistic is a :class:`Statistic`; its domains are
    known, it has a spectrogram exactly when it offers the spectrogram domain, and its
    default plans use its own domains and are valid :class:`Settings`; on two channels of
    its shortest input (seeded noise), ``forward`` equals ``features(analyse(x))``, is
    deterministic, finite, keeps the batch and gives at least one frame for every matched
    layer (maps over time at :attr:`Extractor.frame_rate` where it says so); a style
    target's distance to the features it was made from is zero and to other features is
    not; the style loss's gradient with respect to the waveform is finite and not zero; and
    its noise start has the asked length.
    """
    name = type(net).__name__
    _require(getattr(net, "name", None) in REGISTRY,
             f"{name}.name = {getattr(net, 'name', None)!r} is not a registered name; add it to "
             "extractors/registry.py: REGISTRY")
    _require(all(isinstance(net.statistic_of(layer), Statistic) for layer in net.layer_weights),
             f"{name}.statistic (or statistic_of) must be a Statistic (Gram(), Identity(), ...)")
    _check_domains(net)
    _check_defaults(net)
    length = net.min_samples
    _require(isinstance(length, int) and length >= 1,
             f"{name}.min_samples must be a positive int, got {length!r}")
    generator = torch.Generator().manual_seed(seed)
    wave = 0.1 * torch.randn(2, length, generator=generator)
    other = 0.3 * torch.randn(2, length, generator=generator)
    features = _check_outputs(net, wave)
    _check_frames(net, features, length, generator)
    _check_statistic(net, features, net(other))
    _check_gradient(net, wave, other)
    noise = net.noise(wave, length + 7, generator)
    _require(tuple(noise.shape) == (1, length + 7) and bool(torch.isfinite(noise).all()),
             f"{name}.noise(like, length, generator) must return finite (1, length) noise, "
             f"got {tuple(noise.shape)}")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ContractError(message)


def _check_domains(net: Extractor) -> None:
    name = type(net).__name__
    unknown = set(net.domains) - set(DOMAINS)
    _require(not unknown, f"{name}.domains has unknown domains {sorted(unknown)}; choose from "
                          f"{', '.join(DOMAINS)}")
    offers = "spectrogram" in net.domains
    _require((net.spectrogram is not None) == offers,
             f"{name}: give a spectrogram (Extractor.__init__(rate, spectrogram)) exactly when "
             "'spectrogram' is one of its domains")


def _check_defaults(net: Extractor) -> None:
    name, defaults = type(net).__name__, net.defaults
    for kind in ("transfer", "texture"):
        plan = defaults.plan(kind)
        _require(plan.domain in net.domains,
                 f"{name}.defaults.{kind}.domain = {plan.domain!r} is not one of its domains "
                 f"{net.domains}")
        try:
            Settings(domain=plan.domain, iterations=plan.iterations,
                     refine_iterations=plan.refine, strength=plan.strength)
        except AudioStyleError as exc:
            raise ContractError(f"{name}.defaults.{kind} is not a valid setting: {exc}") from None
        _require((plan.strength is None) == (kind == "texture"),
                 f"{name}.defaults: a transfer plan has a strength, a texture plan none")
    _require(math.isfinite(defaults.structure_weight) and defaults.structure_weight > 0,
             f"{name}.defaults.structure_weight must be a positive number")
    model = defaults.model
    _require(0 <= model.strength <= 1 and math.isfinite(model.structure_weight)
             and model.structure_weight > 0,
             f"{name}.defaults.model needs a strength in 0 … 1 and a positive structure weight")
    _require(math.isfinite(defaults.loudness_slack_db) and defaults.loudness_slack_db >= 0,
             f"{name}.defaults.loudness_slack_db must be a number >= 0")


def _check_outputs(net: Extractor, wave: Tensor) -> dict[str, Tensor]:
    """The feature maps of ``wave``, checked."""
    name = type(net).__name__
    try:
        with torch.no_grad():
            features = net(wave)
            again = net.features(net.analyse(wave))
    except RuntimeError as exc:
        raise ContractError(f"{name} fails on its shortest input, {wave.shape[-1]} samples "
                            f"(raise min_samples): {str(exc).splitlines()[0]}") from None
    _require(isinstance(features, dict) and len(features) > 0,
             f"{name}.features must return a non-empty dict of tensors")
    missing = set(net.layer_weights) - set(features)
    _require(not missing, f"{name}.layer_weights names layers it does not output: "
                          f"{sorted(missing)}")
    _require(len(net.layer_weights) > 0, f"{name}.layer_weights matches no layer")
    for layer, maps in features.items():
        _require(maps.shape[0] == wave.shape[0],
                 f"{name}: output {layer!r} has batch {maps.shape[0]} for an input of "
                 f"batch {wave.shape[0]}; keep the batch (channels) as the first axis")
        _require(bool(torch.isfinite(maps).all()), f"{name}: output {layer!r} is not finite "
                                                   "for noise of its shortest length")
        _require(torch.equal(maps, again[layer]),
                 f"{name}: forward(x) must equal features(analyse(x)) and be deterministic "
                 f"(output {layer!r} differs)")
        frames = net.statistic_of(layer).min_frames if layer in net.layer_weights else 0
        if frames:
            _require(maps.dim() == 3 and maps.shape[-1] >= frames,
                     f"{name}: output {layer!r} of shape {tuple(maps.shape)} needs at least "
                     f"{'one frame' if frames == 1 else f'{frames} frames'}, (batch, channels, "
                     "frames), for the shortest input (raise min_samples)")
    return features


def _check_frames(net: Extractor, features: dict[str, Tensor], length: int,
                  generator: torch.Generator) -> None:
    """Maps over time at :attr:`Extractor.frame_rate` gain that many frames per second."""
    if net.frame_rate is None:
        return
    name = type(net).__name__
    extra = max(1, round(net.sample_rate))  # one second more
    with torch.no_grad():
        longer = net(0.1 * torch.randn(1, length + extra, generator=generator))
    for layer in net.layer_weights:
        gained = longer[layer].shape[-1] - features[layer].shape[-1]
        _require(abs(gained - net.frame_rate) <= 1,
                 f"{name}.frame_rate = {net.frame_rate:g}, but output {layer!r} gained "
                 f"{gained} frames for one more second")


def _check_statistic(net: Extractor, features: dict[str, Tensor],
                     others: dict[str, Tensor]) -> None:
    """A target's distance to the features it was made from is zero, to others not."""
    name = type(net).__name__
    for layer in net.layer_weights:
        statistic = net.statistic_of(layer)
        target = statistic.target([(features[layer], 1.0)])
        norm = float(statistic.norm(target))
        _require(math.isfinite(norm) and norm > 0,
                 f"{name}: the statistic of output {layer!r} has norm {norm}")
        # the batch's mean is the target: its own distance is the spread of the batch, which
        # a batch of one copy has not
        single = features[layer][:1].expand_as(features[layer])
        own = statistic.target([(single, 1.0)])
        itself = float(statistic.distance(single, own).sum()) / norm
        _require(itself < ROUNDING, f"{name}: the statistic of output {layer!r} is "
                                    f"{itself:.2g} (relative) from the target made of the "
                                    "same features")
        apart = float(statistic.distance(others[layer], own).sum()) / norm
        _require(apart > ROUNDING, f"{name}: the statistic of output {layer!r} does not tell "
                                   "two different noises apart")


def _check_gradient(net: Extractor, wave: Tensor, other: Tensor) -> None:
    name = type(net).__name__
    loss = StyleLoss(net)
    loss.set_target([(net.analyse(other), 1.0)])
    x = wave.clone().requires_grad_(True)
    value = loss(net(x))
    (grad,) = torch.autograd.grad(value, x)
    _require(bool(torch.isfinite(grad).all()), f"{name}: the style loss's gradient with "
                                               "respect to the waveform is not finite")
    _require(bool(grad.abs().sum() > 0), f"{name}: the style loss's gradient with respect "
                                         "to the waveform is zero: nothing could be optimised")


__all__ = ["ContractError", "check_extractor"]
