"""VGG-19 on spectrograms: checkpoint conversion, the hash rule, layer mapping, plumbing.

ImageNet weights cannot be downloaded here, so these tests use a checkpoint of exactly
torchvision's structure (the 16 convolutions of ``vgg19().features``, plus a classifier entry
that must be dropped) filled with seeded random numbers and saved with ``torch.save`` in the
legacy format torchvision's file uses. End-to-end runs with it test the plumbing, not ImageNet
features.
"""

from __future__ import annotations

import hashlib
import math
import re
import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import audiostyle
from audiostyle import weights
from audiostyle.cli import main
from audiostyle.errors import AudioStyleError
from audiostyle.extractors import get_extractor
from audiostyle.networks.vgg19 import HUB_FILE, IMAGENET_MEAN, IMAGENET_STD, layer_table
from audiostyle.synthesis.losses import StyleLoss
from conftest import SR

#: torchvision's cfg "E" written out: conv output channels, "M" = max pool.
TORCHVISION_E = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
                 512, 512, 512, 512, "M"]


def random_state() -> dict[str, torch.Tensor]:
    """torchvision VGG-19 state dict layout (features.N for each conv), He-scaled noise."""
    generator, state, index, channels = torch.Generator().manual_seed(0), {}, 0, 3
    for item in TORCHVISION_E:
        if item == "M":
            index += 1
            continue
        std = math.sqrt(2 / (9 * channels))
        state[f"features.{index}.weight"] = torch.randn(item, channels, 3, 3,
                                                        generator=generator) * std
        state[f"features.{index}.bias"] = 0.01 * torch.randn(item, generator=generator)
        channels, index = item, index + 2
    state["classifier.6.bias"] = torch.zeros(1000)  # must not be kept
    return state


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """(path named by its own SHA-256 prefix, its state dict)."""
    folder = tmp_path_factory.mktemp("vgg19")
    state = random_state()
    path = folder / "unnamed.pth"
    torch.save(state, path, _use_new_zipfile_serialization=False)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    named = path.rename(folder / f"vgg19-{digest[:8]}.pth")
    return named, state


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOSTYLE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path


@pytest.fixture
def installed(cache, checkpoint):
    weights.install("vgg19", checkpoint[0])
    return checkpoint[1]


def reference_relus(image: torch.Tensor, state: dict) -> dict[str, torch.Tensor]:
    """torchvision's VGG-19 forward written out with the checkpoint's tensors."""
    out, x, index, block, conv = {}, image, 0, 1, 0
    for item in TORCHVISION_E:
        if item == "M":
            x, index, block, conv = F.max_pool2d(x, 2), index + 1, block + 1, 0
            continue
        x = F.relu(F.conv2d(x, state[f"features.{index}.weight"],
                            state[f"features.{index}.bias"], padding=1))
        conv, index = conv + 1, index + 2
        out[f"relu{block}_{conv}"] = x
        if block == 5:  # relu5_1: the deepest layer used; this image is too small for more
            return out
    return out


def test_checkpoint_maps_one_to_one_and_classifier_is_dropped(installed):
    stored = weights.load("vgg19")
    assert len(stored) == 32 and not any(k.startswith("classifier") for k in stored)
    for key, value in stored.items():
        torch.testing.assert_close(value, installed[key], rtol=0, atol=0)
    net = get_extractor("vgg19", downsample=4)
    wave = torch.from_numpy(np.random.default_rng(0).standard_normal(33000).astype(np.float32))
    inputs = net.analyse(0.1 * wave[None])
    with torch.no_grad():
        ours = net.features(inputs)
        expected = reference_relus(net.image(inputs), installed)
    assert list(ours) == ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
    table = layer_table()  # torchvision's indices of the style layers in vgg19().features
    assert [table[k] for k in ours] == [1, 6, 11, 20, 29] and table["relu5_4"] == 35
    for layer, value in ours.items():
        torch.testing.assert_close(value, expected[layer].flatten(2), rtol=1e-4, atol=1e-5)
    assert ours["relu5_1"].shape[1:] == (512, (1025 // 4 + 1) // 16 * ((65 // 4 + 1) // 16))


def test_image_is_the_grey_spectrogram_in_imagenet_units(installed):
    net = get_extractor("vgg19", downsample=1, layers="relu1_1")
    sine = np.sin(2 * np.pi * (100 * SR / 2048) * np.arange(SR) / SR).astype(np.float32)
    grey = net.image(net.analyse(torch.from_numpy(sine)[None]))[0, 0] * IMAGENET_STD[0] + \
        IMAGENET_MEAN[0]
    # a full-scale sine's peak is pixel value 1, in row 1024 - 100: low frequencies at the bottom
    assert float(grey.max()) == pytest.approx(1.0, abs=2e-3)
    assert int(grey[:, 20].argmax()) == 1024 - 100
    image = net.image(torch.full((1, 1025, 8), net.full_scale * 0.5))
    for channel in range(3):
        expected = (0.5 - IMAGENET_MEAN[channel]) / IMAGENET_STD[channel]
        torch.testing.assert_close(image[0, channel], torch.full((1025, 8), expected))


def test_hash_in_the_name_is_checked(cache, checkpoint, tmp_path):
    path, _ = checkpoint
    impostor = shutil.copy(path, tmp_path / HUB_FILE)  # claims to be torchvision's file
    with pytest.raises(AudioStyleError, match="does not start with dcbb9e9d"):
        weights.install("vgg19", impostor)
    truncated = tmp_path / "cut" / path.name  # right name, damaged contents
    truncated.parent.mkdir()
    truncated.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(AudioStyleError, match=f"does not start with {path.name[6:14]}"):
        weights.install("vgg19", truncated)
    with pytest.raises(AudioStyleError, match="no SHA-256 prefix in the file name"):
        weights.install("vgg19", shutil.copy(path, tmp_path / "vgg19.pth"))
    assert weights.verify("vgg19") == "missing"


def test_other_state_dicts_are_refused(cache, tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"features.0.weight": torch.zeros(8, 3, 3, 3)}, path)
    named = path.rename(tmp_path / f"vgg19-{hashlib.sha256(path.read_bytes()).hexdigest()[:8]}.pth")
    with pytest.raises(AudioStyleError, match="not a torchvision VGG-19 state dict"):
        weights.install("vgg19", named)


def test_without_from_the_torch_hub_folder_is_used(cache, checkpoint):
    hub_file = cache / "torch" / "hub" / "checkpoints" / HUB_FILE
    with pytest.raises(AudioStyleError, match=re.escape(f"no VGG-19 checkpoint at {hub_file}")):
        weights.install("vgg19")
    hub_file.parent.mkdir(parents=True)
    shutil.copy(checkpoint[0], hub_file)  # found, then refused: random numbers, not ImageNet
    with pytest.raises(AudioStyleError, match=re.escape(f"{hub_file}: SHA-256") + ".*dcbb9e9d"):
        weights.install("vgg19")


def test_missing_weights_say_how_to_get_them(cache, tmp_path, capsys, melody):
    with pytest.raises(AudioStyleError) as error:
        get_extractor("vgg19")
    message = str(error.value)
    assert f"https://download.pytorch.org/models/{HUB_FILE}" in message
    assert f"audiostyle weights install vgg19 --from {HUB_FILE}" in message
    wav = tmp_path / "in.wav"
    audiostyle.save_audio(wav, audiostyle.Audio(melody[None], SR, "in"))
    assert main(["transfer", str(wav), str(wav), "-o", str(tmp_path / "out.wav"),
                 "-e", "vgg19", "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "weights for 'vgg19' are not installed" in err


def test_gradient_of_the_gram_loss_reaches_the_input(installed):
    net = get_extractor("vgg19", layers="relu1_1,relu2_1", downsample=4).double()
    generator = torch.Generator().manual_seed(2)
    x = net.analyse(0.1 * torch.randn(1, 9000, generator=generator, dtype=torch.float64))
    loss = StyleLoss(net)
    loss.set_target([(net.analyse(torch.randn(1, 12000, generator=generator,
                                              dtype=torch.float64)), 1.0)])
    x.requires_grad_(True)
    (grad,) = torch.autograd.grad(loss(net.features(x)), x)
    assert torch.isfinite(grad).all() and grad.abs().max() > 0
    direction = torch.randn(x.shape, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        step = 1e-6
        numeric = (loss(net.features(x + step * direction))
                   - loss(net.features(x - step * direction))) / (2 * step)
    assert float(numeric) == pytest.approx(float((grad * direction).sum()), rel=1e-5)


def test_transfer_runs_end_to_end_with_installed_weights(installed, melody, bongos):
    """Plumbing only (random weights say nothing about quality), kept small: a quarter-size
    image. Success: both stages run, the Gram loss falls, the sound has the content's shape."""
    result = audiostyle.transfer(melody[: 3 * SR // 2], bongos, sr=SR, extractor="vgg19",
                                 options={"downsample": 4}, iterations=8, refine_iterations=2,
                                 progress=False)
    assert list(result.stages) == ["spectrogram", "waveform"]
    assert result.stages["spectrogram"].best_loss < 0.95
    assert result.audio.samples.shape == (1, 3 * SR // 2)
    assert np.all(np.isfinite(result.audio.samples))

