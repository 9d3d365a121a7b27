"""The musicnn VGG port (``vgg-mtt``) with the real MTT_vgg weights.

``./run test`` installs the weights before the suite (``audiostyle weights install vgg-mtt``,
downloaded once from PyPI and cached). The port is compared with an independent NumPy
implementation of the original TensorFlow graph (NHWC layout, TF kernel layout, batch norm
with ε = 0.001, "same" convolutions, "valid" max pools) fed with the checkpoint's own tensors.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import audiostyle
from audiostyle import weights
from audiostyle.errors import AudioStyleError
from audiostyle.extractors import get_extractor
from audiostyle.networks.musicnn import LAYERS, MTT_TAGS, POOLS
from audiostyle.synthesis.losses import StyleLoss
from conftest import SR


@pytest.fixture(scope="module")
def net():
    if weights.verify("vgg-mtt") != "verified":
        pytest.fail("the vgg-mtt weights are not installed: run `./run test` (it installs them) "
                    "or `audiostyle weights install vgg-mtt`")
    return get_extractor("vgg-mtt")


# --- the TensorFlow graph in NumPy -----------------------------------------------------------


def _conv_same(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """TF conv2d, 3×3, stride 1, "same": x (H, W, Cin), kernel (3, 3, Cin, Cout)."""
    height, width, channels = x.shape
    padded = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    out = sum(padded[i : i + height, j : j + width].reshape(-1, channels) @ kernel[i, j]
              for i in range(3) for j in range(3))
    return out.reshape(height, width, -1) + bias


def _max_pool_valid(x: np.ndarray, size: tuple, stride: tuple) -> np.ndarray:
    rows = (x.shape[0] - size[0]) // stride[0] + 1
    cols = (x.shape[1] - size[1]) // stride[1] + 1
    out = np.full((rows, cols, x.shape[2]), -np.inf)
    for i in range(size[0]):
        for j in range(size[1]):
            window = x[i : i + stride[0] * rows : stride[0], j : j + stride[1] * cols : stride[1]]
            out = np.maximum(out, window)
    return out


def _tf_graph(image: np.ndarray, t: dict[str, np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """musicnn ``models.vgg`` at inference: image (frames, 96) → pool1..pool5, logits."""
    def norm(x, index):
        scope = "batch_normalization" + (f"_{index}" if index else "")
        g, b, m, v = (t[f"{scope}/{k}"] for k in ("gamma", "beta", "moving_mean",
                                                   "moving_variance"))
        return (x - m) / np.sqrt(v + 0.001) * g + b

    x = norm(image[:, :, None], 0)
    pools = []
    for block in range(1, 6):
        x = np.maximum(_conv_same(x, t[f"{block}CNN/kernel"], t[f"{block}CNN/bias"]), 0)
        x = _max_pool_valid(norm(x, block), *POOLS[block - 1])
        pools.append(x)
    logits = x.reshape(-1) @ t["dense/kernel"] + t["dense/bias"]
    return pools, logits


def test_port_matches_the_tensorflow_graph(net):
    tensors = {k: v.double().numpy() for k, v in weights.load("vgg-mtt").items()}
    image = np.random.default_rng(0).uniform(0, 5, (130, 96))  # gives 2 × 1 pool5 positions
    pools, logits = _tf_graph(image, tensors)
    with torch.no_grad():
        ours = net.blocks(torch.from_numpy(image).float()[None, None], 5)
    for layer, theirs, mine in zip(LAYERS, pools, ours, strict=True):
        mine = mine[0].permute(1, 2, 0).double().numpy()  # (C, H, W) → TF's (H, W, C)
        assert mine.shape == theirs.shape, layer
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-4 * np.abs(theirs).max())
    assert pools[-1].shape == (2, 1, 128)  # as for 3 s: flattened to 256 for the dense layer
    flat = ours[-1].permute(0, 2, 3, 1).reshape(1, -1)
    mine = (flat @ net.dense_weight + net.dense_bias)[0].double().numpy()
    np.testing.assert_allclose(mine, logits, rtol=1e-4, atol=1e-4)


def test_log_mel_front_end_matches_numpy(net):
    t = np.arange(16000) / 16000
    wave = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 3000 * t)).astype(
        np.float32)
    with torch.no_grad():
        ours = net.log_mel(net.analyse(torch.from_numpy(wave)[None]))[0, 0].numpy()
    assert ours.shape == (16000 // 256 + 1, 96)
    frame = 30  # centred on sample 30 · 256, window 512 (periodic Hann)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(512) / 512)
    segment = wave[frame * 256 - 256 : frame * 256 + 256]
    power = np.abs(np.fft.rfft(segment * window)) ** 2
    expected = np.log10(1 + 10000 * (net.mel.double().numpy() @ power))
    np.testing.assert_allclose(ours[frame], expected, rtol=1e-4, atol=1e-4)
    assert np.argmax(expected) == np.argmax(ours[frame])  # the 440 Hz band


def test_gradient_of_the_gram_loss_reaches_the_input(net):
    double = get_extractor("vgg-mtt").double()
    generator = torch.Generator().manual_seed(1)
    x = double.analyse(0.1 * torch.randn(1, double.min_samples + 2000, generator=generator,
                                         dtype=torch.float64))
    style = double.analyse(0.1 * torch.randn(1, 30000, generator=generator, dtype=torch.float64))
    loss = StyleLoss(double)
    loss.set_target([(style, 1.0)])
    x.requires_grad_(True)
    value = loss(double.features(x))
    (grad,) = torch.autograd.grad(value, x)
    assert torch.isfinite(grad).all() and grad.abs().max() > 0
    direction = torch.randn(x.shape, generator=generator, dtype=torch.float64)
    step = 1e-6
    with torch.no_grad():
        plus = loss(double.features(x + step * direction))
        minus = loss(double.features(x - step * direction))
    numeric = float((plus - minus) / (2 * step))
    assert numeric == pytest.approx(float((grad * direction).sum()), rel=1e-5)


def test_min_samples_gives_one_position_at_the_deepest_layer(net):
    deep = get_extractor("vgg-mtt", layers="pool1,pool5")
    with torch.no_grad():
        out = deep(torch.randn(1, deep.min_samples))
        assert out["pool5"].shape == (1, 128, 1)
        assert net(torch.randn(1, net.min_samples))["pool4"].shape == (1, 128, 6)  # 1 × 6 mel
    with pytest.raises(audiostyle.AudioStyleError, match="too short for the vgg-mtt"):
        audiostyle.transfer(np.ones(4000, np.float32), np.ones(4000, np.float32), sr=16000,
                            extractor="vgg-mtt", progress=False)


def test_options_are_checked():
    with pytest.raises(AudioStyleError, match="16000 Hz only"):
        get_extractor("vgg-mtt", sample_rate=22050)
    with pytest.raises(AudioStyleError, match="unknown layers"):
        get_extractor("vgg-mtt", layers="pool1,pool9")
    assert len(MTT_TAGS) == 50


def test_gram_loss_falls_tenfold_on_five_seconds(net, melody, bongos):
    """The issue's criterion on 5 s, kept affordable for the suite (three layers, 20
    iterations); the default transfer with pool1-pool4 is in benchmarks/RESULTS.md (vgg)."""
    content = np.tile(melody, 2)[: 5 * SR]
    result = audiostyle.transfer(content, bongos, sr=SR, extractor="vgg-mtt",
                                 options={"layers": "pool1,pool2,pool3"}, iterations=20,
                                 domain="spectrogram", refine_iterations=5, progress=False)
    assert result.stages["spectrogram"].best_loss <= 0.1  # optimised Gram loss ≥ 10× lower
    assert result.loss_db < -5  # and the written sound (Griffin-Lim + refinement) moved too
    assert result.audio.samples.shape == (1, 5 * SR) and result.working_sr == 16000


def test_waveform_domain_runs_end_to_end(net, melody, bongos):
    result = audiostyle.transfer(melody[: 2 * SR], bongos, sr=SR, extractor="vgg-mtt",
                                 domain="waveform", iterations=10, progress=False)
    assert list(result.stages) == ["waveform"]
    assert result.loss_db < -3


def test_tags_name_what_plays(net):
    """musicnn's tag head on the demo sounds: the bongo loop is tagged as drums / beat, the
    Canon's harmonic tone as piano / classical / slow (the port's tags are musicnn's)."""
    from audiostyle.demo import bongo_loop, canon_melody
    from audiostyle.io.audio import Audio, resample
    from audiostyle.networks.musicnn import MTT_TAGS

    def top(samples: np.ndarray, count: int = 3) -> list[str]:
        wave = resample(Audio(samples[None], SR, "x"), 16000).samples
        with torch.no_grad():
            probabilities = net.tag_probabilities(torch.from_numpy(wave))[0]
        return [MTT_TAGS[i] for i in probabilities.argsort(descending=True)[:count]]

    drums = top(bongo_loop(SR, seconds=9.0))
    tune = top(canon_melody(SR, note_seconds=1.2))
    assert {"drums", "beat"} <= set(drums), drums
    assert "piano" in tune and not {"drums", "beat"} & set(tune), tune
    with pytest.raises(AudioStyleError, match="at least 3 s"):
        net.tag_probabilities(torch.zeros(1, 16000))
