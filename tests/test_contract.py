"""The extractor contract (synthesis/contract.py): every registered extractor keeps it, and
extractors that break it are told which promise and how to fix it."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from audiostyle.errors import AudioStyleError
from audiostyle.extractors import available, get_extractor
from audiostyle.extractors.shallow import ShallowExtractor
from audiostyle.synthesis.contract import ContractError, check_extractor

#: Small options per extractor, so that the check runs in about a second each.
TINY = {
    "mcdermott": {"bands": 8, "mod_bands": 6},
    "shallow": {"n_fft": 512, "hop_length": 128},
    "shallow-multi": {"widths": (2, 8), "n_fft": 512, "hop_length": 128},
    "soundnet": {"layers": ("conv1", "conv2", "conv3")},
    "vgg-mtt": {"layers": ("pool1", "pool2")},
    "vgg19": {"layers": ("relu1_1", "relu2_1"), "downsample": 4},
}


def _build(name: str, **options):
    try:
        return get_extractor(name, **options)
    except AudioStyleError as exc:
        if "not installed" in str(exc):
            pytest.skip(f"{name}: {exc} (`audiostyle weights install {name}`)")
        raise


def test_every_registered_extractor_has_tiny_options():
    assert set(TINY) == set(available())


@pytest.mark.parametrize("name", available())
def test_every_extractor_keeps_the_contract(name):
    check_extractor(_build(name, **TINY[name]))


@pytest.mark.parametrize(("name", "filters"), [("shallow", 16), ("shallow-multi", (16, 8))])
def test_the_drawn_random_nets_keep_the_contract(name, filters):
    check_extractor(_build(name, **TINY[name], form="drawn", filters=filters))


class _Broken(ShallowExtractor):
    """The shallow net, broken in one way per test."""


@pytest.fixture
def broken(monkeypatch):
    net = _Broken(**TINY["shallow"])
    monkeypatch.setattr(_Broken, "name", "shallow")
    return net


def test_a_default_domain_it_does_not_offer_is_named(broken, monkeypatch):
    defaults = ShallowExtractor.defaults
    monkeypatch.setattr(_Broken, "defaults", dataclasses.replace(
        defaults, transfer=dataclasses.replace(defaults.transfer, domain="subbands")))
    monkeypatch.setattr(_Broken, "domains", ("spectrogram", "waveform"))
    with pytest.raises(ContractError, match=r"defaults.transfer.domain = 'subbands'"):
        check_extractor(broken)


def test_invalid_default_settings_are_named(broken, monkeypatch):
    defaults = ShallowExtractor.defaults
    monkeypatch.setattr(_Broken, "defaults", dataclasses.replace(
        defaults, transfer=dataclasses.replace(defaults.transfer, strength=1.5)))
    with pytest.raises(ContractError, match=r"defaults\.transfer is not a valid setting.*strength"):
        check_extractor(broken)


def test_an_unregistered_name_is_named(monkeypatch):
    monkeypatch.setattr(_Broken, "name", "broken")
    with pytest.raises(ContractError, match="REGISTRY"):
        check_extractor(_Broken(**TINY["shallow"]))


def test_a_shortest_input_without_frames_is_found(broken, monkeypatch):
    monkeypatch.setattr(_Broken, "min_samples", property(lambda self: 64))
    with pytest.raises(ContractError, match=r"at least (one frame|11 frames)|raise min_samples"):
        check_extractor(broken)


def test_a_wrong_frame_rate_is_found(broken):
    broken.frame_rate = 2 * broken.frame_rate
    with pytest.raises(ContractError, match="frame_rate"):
        check_extractor(broken)


def test_outputs_that_lose_the_batch_are_found(broken, monkeypatch):
    features = ShallowExtractor.features
    monkeypatch.setattr(_Broken, "features",
                        lambda self, inputs: {k: v.sum(0, keepdim=True)
                                              for k, v in features(self, inputs).items()})
    with pytest.raises(ContractError, match="batch"):
        check_extractor(broken)


def test_a_gradient_that_is_not_finite_is_found(broken, monkeypatch):
    features = ShallowExtractor.features

    def poisoned(self, inputs):
        maps = features(self, inputs)
        return {k: v + (v * float("inf")).sum() * 0 if v.requires_grad else v
                for k, v in maps.items()}

    monkeypatch.setattr(_Broken, "features", poisoned)
    x = torch.ones(1, 4096, requires_grad=True)
    assert not torch.isfinite(torch.autograd.grad(
        sum(m.sum() for m in broken(x).values()), x)[0]).all()  # the poison works
    with pytest.raises(ContractError, match="gradient"):
        check_extractor(broken)
