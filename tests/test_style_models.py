"""Style models: the signal path, streaming, the file, and learning on tiny sounds."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save as save_tensors

from audiostyle.demo import bongo_loop, canon_melody
from audiostyle.errors import AudioStyleError
from audiostyle.evaluation.independent import IndependentJudge
from audiostyle.evaluation.metrics import copy_score
from audiostyle.extractors import build_extractor
from audiostyle.io.audio import Audio, resample
from audiostyle.models import StyleModel, learn
from audiostyle.models.corpus import FolderCorpus, SoundCorpus, synthesise
from audiostyle.models.excitation import OnsetDetector, TextureReader, band_levels
from audiostyle.models.frames import HOP_SECONDS, Grid
from audiostyle.models.model import FORMAT_VERSION, HEADER_KEY
from audiostyle.models.network import NetConfig, StyleNet
from audiostyle.models.objective import Objective, style_loss_for, style_statistics
from audiostyle.models.training import Recipe
from audiostyle.synthesis.pipeline import transfer

SR = 22050
TINY = NetConfig(bands=12, fine_bands=24, channels=8, dilations=(1, 2, 4))
#: A texture for the models made here (the models `learn` makes synthesise theirs).
TEXTURE = bongo_loop(SR, seconds=3.0, room=0.01) / 0.1


def random_model(seed: int = 0, config: NetConfig = TINY) -> StyleModel:
    """An untrained network with every weight moved, so that its output differs from the
    content in gain and plays the texture audibly."""
    torch.manual_seed(seed)
    net = StyleNet(config)
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.add_(0.2 * torch.randn_like(parameter))
        net.outputs.bias[config.bands:] = -1.0  # the texture audible
    return StyleModel(net, TEXTURE, {"top_hz": SR / 2, "sample_rate": SR, "extractor": "shallow"})


def test_untrained_network_gives_the_content_back_at_any_rate():
    model = StyleModel(StyleNet(NetConfig(texture_path=False)), None, {"top_hz": SR / 2})
    for sr in (8000, 22050, 44100):
        x = np.random.default_rng(1).standard_normal((2, sr // 2)).astype(np.float32)
        y = model.apply(x, sr=sr).samples
        assert y.shape == x.shape
        assert np.abs(y - x).max() < 1e-5 * np.abs(x).max()


def test_band_powers_are_the_same_at_every_rate():
    t = np.arange(44100) / 44100
    tone = (0.3 * np.sin(2 * np.pi * 1000 * t) + 0.1 * np.sin(2 * np.pi * 300 * t))
    powers = []
    for sr in (44100, 22050):
        wave = resample(Audio(tone[None].astype(np.float32), 44100), sr).samples[0, 4000:8000]
        grid = Grid.at(sr, 11025)
        frame = torch.from_numpy(wave[: grid.window].copy()) * grid.analysis_window()
        spectrum = torch.fft.rfft(frame)
        powers.append((spectrum.abs().square() @ grid.band_power(16)).numpy())
    loud = powers[0] > 1e-3 * powers[0].max()
    assert np.allclose(10 * np.log10(powers[0][loud]), 10 * np.log10(powers[1][loud]), atol=0.5)
    # a sine's power is A²/2, shared among the bands around it
    assert abs(powers[0].sum() - (0.3**2 + 0.1**2) / 2) < 0.01


def _notes(sr: int, starts: list[float], seconds: float) -> np.ndarray:
    """Decaying 440 Hz notes starting at ``starts`` (s)."""
    t = np.arange(round(seconds * sr)) / sr
    out = np.zeros_like(t)
    for start in starts:
        after = np.clip(t - start, 0, None)
        out += (t >= start) * np.sin(2 * np.pi * 440 * t) * np.exp(-after / 0.15)
    return (0.3 * out).astype(np.float32)


def test_onsets_are_found_where_notes_start_and_nowhere_else():
    starts = [0.2, 0.55, 0.7, 1.3, 1.45, 2.0]
    grid = Grid.at(SR, SR / 2)
    levels = band_levels(torch.from_numpy(_notes(SR, starts, 2.5))[None], grid, 16)
    detector = OnsetDetector()
    onsets, ages, _ = detector(levels, detector.start(1, 16))
    # frame k covers samples k·hop … k·hop + window: its onset is the note that starts inside
    found = (np.flatnonzero(onsets[0]) * grid.hop + grid.window) / SR
    assert len(found) == len(starts)
    assert np.all(np.abs(found - np.asarray(starts)) < grid.window / SR + HOP_SECONDS)
    # frame by frame, with state carried, the same onsets
    state, pieces = detector.start(1, 16), []
    for k in range(0, levels.shape[1], 7):
        part, _, state = detector(levels[:, k:k + 7], state)
        pieces.append(part)
    assert np.array_equal(np.concatenate(pieces, axis=1), onsets)
    assert np.array_equal(ages[onsets], np.zeros(onsets.sum()))
    assert ages[0, -1] == ages.shape[1] - 1 - np.flatnonzero(onsets[0])[-1]


def test_the_texture_jumps_to_its_own_onsets_at_the_content_s_onsets():
    grid = Grid.at(SR, SR / 2)
    reader = TextureReader(TEXTURE, SR, grid, 16)
    texture_onsets, _, _ = reader.detector(band_levels(reader.texture[None], grid, 16),
                                        reader.detector.start(1, 16))
    assert set(reader.landings) <= set(np.flatnonzero(texture_onsets[0]) * grid.hop)
    content = _notes(SR, [0.3, 0.9, 1.6], 2.0)
    levels = band_levels(torch.from_numpy(content)[None], grid, 16)
    content_onsets, _, _ = reader.detector(levels, reader.detector.start(1, 16))
    for seed in (0, 1):
        starts, gate, _ = reader(levels, [(seed, 0)], reader.start(1))
        jumps = np.flatnonzero(np.diff(starts[0]) != grid.hop) + 1
        assert set(np.flatnonzero(content_onsets[0])) <= set(jumps) | {0}
        assert set(starts[0, jumps]) <= set(reader.landings)
        # the gate is open at each onset and closes after it
        assert np.allclose(gate[0, content_onsets[0]], 1.0)
        assert np.all(gate[0, np.flatnonzero(content_onsets[0]) + 30] < 0.2)
    other, _, _ = reader(levels, [(2, 0)], reader.start(1))
    assert not np.array_equal(starts, other)  # the seed draws the landings


@pytest.mark.parametrize("block", [1, 7, 333, 4096])
def test_stream_equals_apply(block):
    model = random_model()
    sr = 44100
    n = 3000 if block == 1 else 9000
    x = 0.2 * np.random.default_rng(2).standard_normal((2, n)).astype(np.float32)
    whole = model.apply(x, sr=sr, seed=5).samples
    stream = model.stream(block, sr=sr, channels=2, seed=5)
    out = np.concatenate([stream.process(x[:, i:i + block]) for i in range(0, n, block)],
                         axis=1)
    lag = stream.latency.samples
    assert lag == model.latency(sr).samples and stream.latency.ms < 50
    assert out.shape == x.shape and not np.any(out[:, :lag])
    error = np.abs(out[:, lag:] - whole[:, : n - lag]).max() / np.abs(whole).max()
    assert error < 1e-3  # −60 dB
    assert np.abs(whole - x).max() > 0.1 * np.abs(x).max()  # the model does change the sound


def test_apply_is_deterministic_for_a_seed():
    model = random_model()
    x = canon_melody(SR)[:SR]
    a, b = model.apply(x, sr=SR, seed=1).samples, model.apply(x, sr=SR, seed=1).samples
    assert np.array_equal(a, b)
    assert not np.array_equal(a, model.apply(x, sr=SR, seed=2).samples)


def test_save_load_gives_identical_outputs(tmp_path):
    model = random_model()
    path = model.save(tmp_path / "m.style")
    again = StyleModel.load(path)
    x = canon_melody(SR)[:SR]
    assert np.array_equal(model.apply(x, sr=SR).samples, again.apply(x, sr=SR).samples)
    assert again.header["extractor"] == "shallow"
    assert again.header["format_version"] == FORMAT_VERSION


def _rewrite(path, change):
    """The model file at ``path`` with its header changed by ``change`` (digest kept)."""
    data = path.read_bytes()
    size = int.from_bytes(data[:8], "little")
    metadata = json.loads(data[8:8 + size])["__metadata__"]
    header = json.loads(metadata[HEADER_KEY])
    change(header)
    metadata[HEADER_KEY] = json.dumps(header)
    from safetensors.torch import load
    return save_tensors(load(data), metadata=metadata)


def test_bad_model_files_are_refused_naming_the_file(tmp_path):
    good = random_model().save(tmp_path / "good.style")
    data = good.read_bytes()
    cases = {
        "random.style": (np.random.default_rng(0).bytes(500), "not a style model"),
        "cut.style": (data[: len(data) // 2], "not a style model"),
        "plain.style": (save_tensors({"x": torch.zeros(3)}), "without an audiostyle header"),
        "newer.style": (_rewrite(good, lambda h: h.update(format_version=FORMAT_VERSION + 1)),
                        "newer than"),
        "older.style": (_rewrite(good, lambda h: h.update(format_version=FORMAT_VERSION - 1)),
                        "learn it again"),
        "other.style": (_rewrite(good, lambda h: h.update(format="something")),
                        "not a style model"),
        "edited.style": (_rewrite(good, lambda h: h.update(strength=0.9)), "SHA-256"),
    }
    flipped = bytearray(data)
    flipped[-3] ^= 0xFF  # a weight's byte
    cases["flipped.style"] = (bytes(flipped), "SHA-256")
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(AudioStyleError, match=message) as caught:
            StyleModel.load(path)
        assert str(path) in str(caught.value)
    with pytest.raises(AudioStyleError, match="no such file"):
        StyleModel.load(tmp_path / "missing.style")


def _tiny_corpus() -> SoundCorpus:
    """Short synthetic contents: melodies, voices, drums (not the test's content)."""
    rng = np.random.default_rng(11)
    return SoundCorpus([synthesise(rng, SR, 2 * SR) for _ in range(6)], SR)


def test_a_briefly_trained_model_moves_unseen_content_towards_the_style(tmp_path):
    style = bongo_loop(SR, seconds=2.0, room=0.01)
    options = {"bands": 12, "mod_bands": 8}  # a cheap McDermott model
    settings = {"sr": SR, "extractor": "mcdermott", "options": options, "corpus": _tiny_corpus(),
                "network": TINY, "progress": False}
    texture = {"texture_seconds": 3.0, "texture_iterations": 50}
    model = learn(style, steps=20, seed=0, strength=0.3, checkpoint=tmp_path / "ck.style",
                  recipe=Recipe(batch=2, crop_seconds=1.0, learning_rate=1e-2,
                                validation_crops=2, **texture), **settings)
    assert model.header["steps"] == 20 and model.header["corpus"]["kind"] == "sounds"
    # the texture it plays: 3 s at the extractor's rate, unit RMS, a new sound (not the style)
    rate = model.header["sample_rate"]
    assert model.texture.shape == (3 * rate,)
    assert abs(float(np.sqrt(np.mean(model.texture.astype(np.float64) ** 2))) - 1) < 1e-3
    assert copy_score(model.texture, resample(Audio(style[None], SR), rate).samples[0]) < 0.6
    net = build_extractor("mcdermott", options)
    # never seen in training, at a level inside the corpus's (−30 … −1 dBFS peak)
    content = 0.1 * canon_melody(rate, semitones=3)[None, : 2 * rate]
    style_here = resample(Audio(style[None], SR), rate).samples
    target = style_statistics(style_loss_for(net), style_here, None, 1,
                              np.random.default_rng(0), torch.device("cpu"))
    objective = Objective(net, target, 0.5)
    x = torch.from_numpy(content)
    y = torch.from_numpy(model.apply(content, sr=rate).samples)
    with torch.no_grad():
        before, after = objective(x, x), objective(x, y)

    def style_part(terms: dict) -> float:
        return sum(float(v) for k, v in terms.items() if k.startswith("style/"))

    assert style_part(after) < 0.5 * style_part(before)
    # and under statistics the loss never saw (another filterbank and set of moments)
    judge = IndependentJudge(style, SR)
    gain = judge(y[0].numpy(), rate)["mean"] - judge(content[0], rate)["mean"]
    assert gain > 1.0, gain
    # 0: the content's pitch classes, onsets and loudness course; 1: unrelated
    assert float(after["structure"]) / objective.structure_weight < 0.5
    # the checkpoint resumes where it stopped
    resumed = learn(style, steps=22, strength=0.3, resume=tmp_path / "ck.style",
                    recipe=Recipe(batch=2, crop_seconds=1.0, validation_crops=2, **texture),
                    **settings)
    assert resumed.header["steps"] == 22
    assert np.array_equal(resumed.texture, model.texture)  # kept, not made again


def test_learn_checks_its_inputs_first():
    style = bongo_loop(SR, seconds=1.0)
    for kwargs, message in [({"minutes": 0}, "minutes"), ({"steps": 0}, "steps"),
                            ({"strength": 2.0}, "strength"),
                            ({"style_weights": [1, 2]}, "style_weights"),
                            ({"corpus": "/nonexistent/folder"}, "folder")]:
        with pytest.raises(AudioStyleError, match=message):
            learn(style, sr=SR, extractor="shallow", progress=False,
                  **kwargs)


def test_a_folder_corpus_reads_any_sounds_and_holds_some_out(tmp_path):
    import soundfile as sf

    sf.write(tmp_path / "a.wav", canon_melody(44100)[: 44100 * 2], 44100)
    sf.write(tmp_path / "b.flac", np.stack([bongo_loop(16000, seconds=1.0)] * 2, 1), 16000)
    sf.write(tmp_path / "quiet.wav", np.zeros(8000, dtype=np.float32), 8000)
    corpus = FolderCorpus(tmp_path, SR)
    assert corpus.describe()["files"] == 3 and corpus.describe()["kind"] == "folder"
    crops = corpus.crops(5, SR // 2, np.random.default_rng(0))
    assert crops.shape == (5, SR // 2) and np.abs(crops).max() > 0.01
    held = corpus.validation(2, SR // 2)
    assert held.shape == (2, SR // 2)
    (tmp_path / "notes.txt").write_text("not a sound")
    with pytest.raises(AudioStyleError, match=r"notes\.txt"):
        FolderCorpus(tmp_path, SR)


def test_a_transfer_can_start_from_a_model(tmp_path):
    model = random_model(3)
    path = model.save(tmp_path / "m.style")
    content = 0.3 * canon_melody(SR)[None, :SR]
    started = model.apply(content, sr=SR).samples
    assert np.abs(started - content).max() > 0.05  # (the model changes the sound)
    settings = {"sr": SR, "extractor": "shallow",
                "domain": "waveform", "progress": False}
    # one loss evaluation: the best point is where the optimisation started
    result = transfer(content, bongo_loop(SR, seconds=1.0), iterations=1,
                      init=f"model:{path}", **settings).audio.samples
    assert np.abs(result - started).max() < 1e-4
    plain = transfer(content, bongo_loop(SR, seconds=1.0), iterations=1, **settings)
    assert np.abs(plain.audio.samples - content).max() < 1e-3
    with pytest.raises(AudioStyleError, match="no such file"):
        transfer(content, bongo_loop(SR, seconds=1.0), init="model:nothing.style", **settings)
