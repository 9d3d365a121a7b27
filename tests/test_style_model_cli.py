"""Style models through the command line: ``learn``, ``apply`` and ``info`` on tiny inputs
(a tiny network: tests/helpers/cli_tiny_models.py), their checks before any work, bad model
files, and Ctrl-C / SIGTERM while they run."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiostyle.cli import main
from audiostyle.models import StyleModel
from audiostyle.models.model import FORMAT_VERSION
from conftest import SR
from helpers import cli_tiny_models
from test_faults import _hashes
from test_style_models import _rewrite

#: A learn that takes a second or two: the cheapest extractor, a few steps.
LEARN = ["-e", "shallow", "--steps", "3", "-q"]


@pytest.fixture
def tiny(monkeypatch):
    cli_tiny_models.shrink(monkeypatch.setattr)


@pytest.fixture
def sounds(tmp_path, melody, bongos):
    """inputs/: content.wav (1 s melody), stereo.flac (44.1 kHz, 2 channels), style.wav
    (1 s bongos), corpus/ (two short sounds); out/ empty."""
    return _sounds(tmp_path, melody, bongos)


@pytest.fixture(scope="module")
def learned(tmp_path_factory, melody, bongos) -> Path:
    """A tiny model learned once for the tests that only use one."""
    folder = _sounds(tmp_path_factory.mktemp("learned"), melody, bongos)
    with pytest.MonkeyPatch.context() as patch:
        cli_tiny_models.shrink(patch.setattr)
        assert _learn(folder) == 0
    return folder / "out" / "m.style"


@pytest.fixture
def model(sounds, learned) -> str:
    """The tiny model, in out/."""
    shutil.copy(learned, sounds / "out" / "m.style")
    return str(sounds / "out" / "m.style")


def _sounds(tmp_path: Path, melody: np.ndarray, bongos: np.ndarray) -> Path:
    import soxr

    folder = tmp_path / "inputs"
    (folder / "corpus").mkdir(parents=True)
    sf.write(folder / "content.wav", melody[:SR], SR)
    wide = soxr.resample(melody[SR:2 * SR], SR, 44100)
    sf.write(folder / "stereo.flac", np.stack([wide, 0.5 * wide], 1), 44100)
    sf.write(folder / "style.wav", bongos[:SR], SR)
    sf.write(folder / "corpus" / "a.wav", melody[: 2 * SR], SR)
    sf.write(folder / "corpus" / "b.flac", bongos[SR:] * 0.3, SR)
    (tmp_path / "out").mkdir()
    return tmp_path


def _learn(sounds, *extra, output="m.style") -> tuple[int, str]:
    inputs = sounds / "inputs"
    return main(["learn", str(inputs / "style.wav"), "-o", str(sounds / "out" / output),
                 "--corpus", str(inputs / "corpus"), *LEARN, *extra])


def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("audiostyle: error: "), err
    assert "Traceback" not in err
    return err


def test_learn_then_apply_and_info(tiny, sounds, capsys):
    inputs, out = sounds / "inputs", sounds / "out"
    before = _hashes(inputs)
    assert _learn(sounds) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"wrote {out / 'm.style'}") and "a shallow model of style.wav, 3 "\
        "steps" in said
    assert sorted(p.name for p in out.iterdir()) == ["m.style"]  # the checkpoint is gone
    model = StyleModel.load(out / "m.style")
    assert model.header["steps"] == 3 and model.header["corpus"]["kind"] == "folder"
    assert model.header["styles"][0]["name"] == "style.wav" and not model.header["interrupted"]

    assert main(["info", str(out / "m.style")]) == 0
    shown = capsys.readouterr().out
    assert "extractor:  shallow (defaults) at 22050 Hz" in shown
    assert f"latency:    {model.latency(44100).samples} samples" in shown
    assert main(["info", "--json", str(out / "m.style")]) == 0
    assert '"steps": 3' in capsys.readouterr().out

    # one content: -o is the file; same rate, channels and length; the seed decides the noise
    for seed in ("0", "0", "1"):
        assert main(["apply", str(out / "m.style"), str(inputs / "stereo.flac"), "-o",
                     str(out / f"s{seed}.flac"), "--seed", seed, "-q"]) == 0
    result, sr = sf.read(out / "s0.flac", always_2d=True)
    assert sr == 44100 and result.shape == (44100, 2) and np.all(np.isfinite(result))
    expected = model.apply(str(inputs / "stereo.flac"), seed=0).samples.T
    assert np.abs(result - expected).max() < 1e-4  # (24-bit FLAC)
    assert not np.array_equal(result, sf.read(out / "s1.flac", always_2d=True)[0])
    # several contents: -o names a folder, outputs named after their contents
    assert main(["apply", str(out / "m.style"), str(inputs / "content.wav"),
                 str(inputs / "stereo.flac"), "-o", str(out / "many"), "-q"]) == 0
    assert sorted(p.name for p in (out / "many").iterdir()) == ["content.wav", "stereo.flac"]
    assert "real-time factor" in capsys.readouterr().out
    assert _hashes(inputs) == before


@pytest.mark.parametrize("args,message", [
    (["-o", "{out}/m.wav"], "m.wav: a style model's file name ends in .style, e.g. m.style"),
    (["-o", "{inputs}/style.wav"], "a style model's file name ends in .style"),
    (["--steps", "0"], "--steps: must be at least 1"),
    (["--steps", "3", "--minutes", "1"], "not allowed with argument"),
    (["--minutes", "99999999"], "--minutes must be a positive number of at most 10080"),
    (["--seed", "99999999999999999999"], "--seed: must be between 0 and 4294967295"),
    (["--strength", "2"], "--strength: must be between 0 and 1"),
    (["--style-weights", "1", "2"], "2 --style-weights for 1 styles"),
    (["-X", "filters=abc"], "filters"),
    (["-X", "filters=64"], "option filters acts on drawn nets only; add form=drawn"),
    (["-e", "nosuch"], "nosuch"),
    (["--corpus", "{inputs}/content.wav"], "the corpus must be a folder of sounds"),
    (["--resume", "{inputs}/content.wav"], "content.wav: not a style model"),
], ids=lambda v: v if isinstance(v, str) else " ".join(v)[:30])
def test_learn_refuses_bad_requests_before_any_work(tiny, sounds, capsys, args, message):
    inputs, out = sounds / "inputs", sounds / "out"
    argv = ["learn", str(inputs / "style.wav"), "-e", "shallow", "-q",
            *[a.format(inputs=inputs, out=out) for a in args]]
    if "-o" not in args:
        argv += ["-o", str(out / "m.style")]
    assert main(argv) == 2
    assert message in _error_line(capsys)
    assert list(out.iterdir()) == []


def test_learn_never_replaces_a_read_only_model_or_an_input(tiny, sounds, capsys):
    out = sounds / "out"
    (out / "m.style").write_bytes(b"mine")
    (out / "m.style").chmod(0o444)
    assert _learn(sounds) == 2
    assert "m.style: the existing file is read-only" in _error_line(capsys)
    assert (out / "m.style").read_bytes() == b"mine"
    (out / "m.style").chmod(0o644)
    assert _learn(sounds, "--resume", str(out / "m.style")) == 2
    assert "output would overwrite an input file" in _error_line(capsys)


def _model_files(sounds) -> dict[str, tuple[bytes, str]]:
    """Bad model files (content, what the one line says), each a tampering of a good one."""
    good = (sounds / "out" / "m.style").read_bytes()
    flipped = bytearray(good)
    flipped[-3] ^= 0xFF
    return {
        "random.style": (np.random.default_rng(0).bytes(300), "not a style model"),
        "cut.style": (good[: len(good) // 2], "not a style model"),
        "newer.style": (_rewrite(sounds / "out" / "m.style",
                                 lambda h: h.update(format_version=FORMAT_VERSION + 1)),
                        f"a style model of format version {FORMAT_VERSION + 1}, newer than"),
        "edited.style": (_rewrite(sounds / "out" / "m.style", lambda h: h.update(strength=1)),
                         "damaged style model"),
        "flipped.style": (bytes(flipped), "do not match their SHA-256"),
        "empty.style": (b"", "file is empty"),
    }


def test_bad_model_files_are_one_line_naming_the_file(sounds, model, capsys):
    inputs, out = sounds / "inputs", sounds / "out"
    for name, (data, message) in _model_files(sounds).items():
        (out / name).write_bytes(data)
        for argv in (["info", str(out / name)],
                     ["apply", str(out / name), str(inputs / "content.wav"), "-o",
                      str(out / "r.wav")]):
            assert main(argv) == 2, name
            line = _error_line(capsys)
            assert f"{out / name}: " in line and message in line, line
    for missing in (out / "missing.style", inputs):
        assert main(["info", str(missing)]) == 2
        assert str(missing) in _error_line(capsys)
    assert not (out / "r.wav").exists()


def test_apply_checks_every_content_and_output_first(sounds, model, capsys):
    inputs, out = sounds / "inputs", sounds / "out"
    (inputs / "notes.wav").write_text("not audio")
    (inputs / "other").mkdir()
    sf.write(inputs / "other" / "content.wav", np.zeros(100), SR)
    before = _hashes(inputs)
    cases = [
        ([str(inputs / "content.wav")], str(inputs / "content.wav"),
         "output would overwrite an input file"),
        ([str(inputs / "content.wav"), str(inputs / "stereo.flac")], str(inputs),
         "output would overwrite an input file"),
        ([str(inputs / "content.wav"), str(inputs / "notes.wav")], str(out / "f"),
         "notes.wav: not an audio file"),
        ([str(inputs / "content.wav"), str(inputs / "other" / "content.wav")],
         str(out / "f"), "content.wav: its output"),
        ([str(inputs / "content.wav"), str(inputs / "stereo.flac")], model, "is a file"),
        ([str(inputs / "content.wav")], str(out / "r.aac"), "unsupported output format"),
    ]
    for contents, output, message in cases:
        assert main(["apply", model, *contents, "-o", output, "-q"]) == 2
        assert message in _error_line(capsys)
    assert sorted(p.name for p in out.iterdir()) == ["m.style"]
    assert _hashes(inputs) == before


def test_sigterm_while_learning_keeps_the_model_so_far_and_resume_goes_on(cli, sounds, tiny,
                                                                           capsys):
    inputs, out = sounds / "inputs", sounds / "out"
    release = sounds / "release"
    argv = ["learn", inputs / "style.wav", "-o", out / "m.style", "--corpus",
            inputs / "corpus", "-e", "shallow", "--steps", "50", "-q"]
    env = {"AUDIOSTYLE_TEST_TINY_MODELS": "1",
           "AUDIOSTYLE_TEST_AT": "audiostyle.models.learn:_Watch.__call__",
           "AUDIOSTYLE_TEST_CALL": "4", "AUDIOSTYLE_TEST_RELEASE": str(release)}
    child = cli.start(argv, sounds, env=env, prelude="helpers.cli_tiny_models")
    child.wait_for("at _Watch.__call__ (call 4)")
    os.kill(child.pid, signal.SIGTERM)
    child.wait_for("audiostyle: terminated")
    release.write_text("go on")
    run = child.wait(120)
    assert run.status == 143, run.stderr
    assert "Traceback" not in run.stderr
    checkpoint = out / "m.checkpoint.style"
    assert (f"audiostyle: interrupted after 4 steps: saved the model so far to {out / 'm.style'}"
            f"; to go on training, run the same command with --resume {checkpoint}"
            in run.stderr)
    model = StyleModel.load(out / "m.style")
    assert model.header["steps"] == 4 and model.header["interrupted"]
    assert StyleModel.load(checkpoint).header["training_state"]["step"] == 4
    # the same command with --resume: on to the budget, then the checkpoint is not needed
    resumed = [str(a) for a in argv[:-3]] + ["--steps", "6", "-q", "--resume", str(checkpoint)]
    assert main(resumed) == 0
    assert StyleModel.load(out / "m.style").header["steps"] == 6
    assert sorted(p.name for p in out.iterdir()) == ["m.style"]


def test_ctrl_c_while_applying_keeps_the_finished_files_and_no_partial_one(cli, sounds,
                                                                            model):
    inputs, out = sounds / "inputs", sounds / "out"
    release = sounds / "release"
    env = {"AUDIOSTYLE_TEST_TINY_MODELS": "1",
           "AUDIOSTYLE_TEST_AT": "audiostyle.models.model:StyleModel.apply",
           "AUDIOSTYLE_TEST_CALL": "2", "AUDIOSTYLE_TEST_RELEASE": str(release)}
    child = cli.start(["apply", model, inputs / "content.wav", inputs / "stereo.flac",
                       "-o", out / "many", "-q"], sounds, env=env,
                      prelude="helpers.cli_tiny_models")
    child.wait_for("at StyleModel.apply (call 2)")
    os.kill(child.pid, signal.SIGINT)
    child.wait_for("audiostyle: interrupted")
    release.write_text("go on")
    run = child.wait(120)
    assert run.status == 130 and "Traceback" not in run.stderr, run.stderr
    assert ("audiostyle: interrupted: kept the 1 finished file; 1 content not applied, and no "
            "partial file written") in run.stderr
    assert [p.name for p in (out / "many").iterdir()] == ["content.wav"]
