"""The command line: exit codes, one-line errors, and real runs."""

from __future__ import annotations

import signal
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from audiostyle.cli import main
from conftest import SR


def _write(path, x):
    sf.write(path, x, SR)
    return str(path)


def test_transfer_writes_output(tmp_path, melody, bongos, capsys):
    content = _write(tmp_path / "c.wav", melody[: SR])
    style = _write(tmp_path / "s.wav", bongos)
    out = tmp_path / "out" / "r.flac"
    code = main(["transfer", content, style, "-o", str(out), "-e", "shallow",
                 "--iterations", "5", "--refine", "2", "--quiet"])
    assert code == 0
    data, sr = sf.read(out)
    assert sr == SR and len(data) == SR
    assert "wrote" in capsys.readouterr().out


def test_blend_strength_and_rhythm_from_the_command_line(tmp_path, melody, bongos, capsys):
    content = _write(tmp_path / "c.wav", melody[: 2 * SR])
    first = _write(tmp_path / "a.wav", bongos)
    second = _write(tmp_path / "b.wav", 0.1 * np.random.default_rng(0).standard_normal(2 * SR))
    fast = ["-e", "shallow", "-n", "3", "--refine", "1", "--quiet"]
    out = tmp_path / "blend.wav"
    assert main(["transfer", content, "--style", first, "--style", second, "--style-weights",
                 "0.7", "0.3", "--strength", "0.5", "-o", str(out), *fast]) == 0
    assert sf.info(out).frames == 2 * SR
    out = tmp_path / "pulse.wav"
    assert main(["texture", first, "--rhythm", "1", "--rhythm-seconds", "0.5", "-s", "2",
                 "-o", str(out), *fast]) == 0
    assert sf.info(out).frames == 2 * SR
    capsys.readouterr()
    for bad, message in [
        (["--style-weights", "1", *fast], "1 --style-weights for 2 styles"),
        (["--strength", "2", *fast], "argument --strength: must be between 0 and 1, got 2.0"),
        (["--rhythm", "1", "-e", "mcdermott", "--quiet"],
         "the rhythm term needs feature maps over time"),
    ]:
        code = main(["transfer", content, first, "--style", second, "-o",
                     str(tmp_path / "bad.wav"), *bad])
        err = capsys.readouterr().err.strip()
        assert code == 2 and message in err and "\n" not in err, err
    assert not (tmp_path / "bad.wav").exists()


def test_drawn_only_options_without_form_drawn_exit_2_with_one_line(tmp_path, melody, bongos,
                                                                   capsys):
    """-X filters=… with the default (infinite) form would be ignored: refused before any
    work, one line, exit status 2; with -X form=drawn it runs."""
    content = _write(tmp_path / "c.wav", melody[: SR // 2])
    style = _write(tmp_path / "s.wav", bongos[: SR // 2])
    out = tmp_path / "r.wav"
    for extra, named in [(["-X", "filters=256"], "option filters acts"),
                         (["-e", "shallow-multi", "-X", "seed=1", "-X", "precision=float32"],
                          "options seed, precision act")]:
        code = main(["transfer", content, style, "-o", str(out), "-e", "shallow", *extra,
                     "--quiet"])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
        assert err.startswith("audiostyle: error: Extractor 'shallow") and named in err, err
        assert "add form=drawn" in err
        assert not out.exists()
    assert main(["transfer", content, style, "-o", str(out), "-e", "shallow", "-X", "form=drawn",
                 "-X", "filters=16", "-n", "2", "--refine", "0", "--quiet"]) == 0
    assert sf.info(out).frames == SR // 2


def test_extractors_lists_the_drawn_only_options_with_their_form(capsys):
    assert main(["extractors"]) == 0
    listed = capsys.readouterr().out
    assert "    -X filters=4096 (with -X form=drawn only)\n" in listed
    assert "    -X filters=4096,2048,1024,512,256,128 (with -X form=drawn only)\n" in listed
    assert "    -X seed=0 (with -X form=drawn only)\n" in listed
    assert "    -X precision=auto (with -X form=drawn only)\n" in listed
    assert "    -X form=infinite\n" in listed and "None" not in listed


def test_missing_file_exits_2_with_one_line(tmp_path, capsys):
    code = main(["transfer", str(tmp_path / "nope.wav"), str(tmp_path / "nope2.wav"),
                 "-o", str(tmp_path / "o.wav"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and "nope.wav: no such file" in err
    assert not (tmp_path / "o.wav").exists()


def test_non_audio_file_exits_2(tmp_path, bongos, capsys):
    text = tmp_path / "notes.wav"
    text.write_text("hello " * 100)
    code = main(["transfer", str(text), _write(tmp_path / "s.wav", bongos),
                 "-o", str(tmp_path / "o.wav"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "notes.wav: not an audio file" in err and "\n" not in err


def test_unknown_extractor_suggests_the_closest(tmp_path, melody, capsys):
    c = _write(tmp_path / "c.wav", melody)
    code = main(["transfer", c, c, "-o", str(tmp_path / "o.wav"), "-e", "shalow", "--quiet"])
    assert code == 2
    assert "Did you mean 'shallow'?" in capsys.readouterr().err


def test_output_equal_to_input_is_refused_before_any_work(tmp_path, melody, capsys):
    c = _write(tmp_path / "c.wav", melody)
    before = (tmp_path / "c.wav").read_bytes()
    code = main(["transfer", c, c, "-o", c, "--quiet"])
    assert code == 2 and "overwrite an input" in capsys.readouterr().err
    assert (tmp_path / "c.wav").read_bytes() == before


def test_entry_point_runs_in_a_subprocess(tmp_path, bongos):
    style = _write(tmp_path / "s.wav", bongos)
    out = tmp_path / "t.wav"
    proc = subprocess.run(
        [sys.executable, "-m", "audiostyle.cli", "texture", style, "-o", str(out),
         "--seconds", "1", "-e", "shallow", "-n", "3", "--refine", "1",
         "--quiet"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert sf.info(out).frames == SR


def test_stats_prints_and_exports_every_class(tmp_path, bongos, capsys):
    import json

    path = _write(tmp_path / "s.wav", bongos)
    assert main(["stats", path]) == 0
    out = capsys.readouterr().out
    assert "mcdermott statistics" in out and "mod_C2" in out and "32×6×2" in out
    assert main(["stats", path, "--json", "-X", "preset=paper"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["extractor"] == "mcdermott"
    assert np.array(exported["statistics"]["env_C"]).shape == (32, 8)
    assert main(["stats", path, "-e", "shallow", "-X", "filters=16", "-X", "form=drawn"]) == 0
    assert "conv" in capsys.readouterr().out


def test_texture_reports_the_statistics_snr(tmp_path, bongos, capsys):
    style = _write(tmp_path / "s.wav", bongos)
    code = main(["texture", style, "-o", str(tmp_path / "t.wav"), "-e", "mcdermott",
                 "--seconds", "1", "-n", "3", "--quiet"])
    assert code == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("McDermott statistics SNR to the style: mean")
    assert "env_C" in line and "mod_C2" in line


def test_demo_writes_content_style_result_and_listening_page(tmp_path, capsys):
    code = main(["demo", "-o", str(tmp_path / "demo"), "-n", "3", "--quiet"])
    assert code == 0
    for name in ("content", "style", "result"):
        info = sf.info(tmp_path / "demo" / f"{name}.wav")
        assert info.samplerate == 22050 and info.frames > SR
    out = capsys.readouterr().out
    assert str(tmp_path / "demo" / "result.wav") in out
    page = tmp_path / "demo" / "index.html"
    assert f"listening page: {page}" in out
    html = page.read_text()
    for name in ("content", "style", "result"):
        assert f'<audio controls preload="metadata" src="{name}.wav"' in html
    assert "style SNR" in html and "chroma" in html and "mcdermott" in html
    assert len(list((tmp_path / "demo" / "spectrograms").glob("*.png"))) == 3


def _start(tmp_path, bongos, out):
    style = _write(tmp_path / "s.wav", bongos)
    return subprocess.Popen(
        [sys.executable, "-m", "audiostyle.cli", "texture", style, "-o", str(out),
         "--seconds", "2", "-e", "shallow", "-n", "100000"],
        stderr=subprocess.PIPE, stdout=subprocess.PIPE,
    )


def _wait_for_progress(proc) -> bytes:
    seen = b""
    while b"dB" not in seen:  # the progress bar shows the loss after the first iteration
        chunk = proc.stderr.read1(256)
        assert chunk, f"process ended early: {seen.decode(errors='replace')}"
        seen += chunk
    return seen


def test_ctrl_c_saves_the_best_result_and_says_so(tmp_path, bongos):
    out = tmp_path / "t.wav"
    proc = _start(tmp_path, bongos, out)
    _wait_for_progress(proc)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "saved the best result so far" in stderr.decode()
    assert f"wrote {out}" in stdout.decode()
    assert sf.info(out).frames == 2 * SR
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_second_ctrl_c_exits_at_once(monkeypatch):
    from audiostyle import cli

    exits = []
    monkeypatch.setattr(cli.os, "_exit", lambda code: exits.append(code))
    handler = cli._interrupt_handler()
    with pytest.raises(KeyboardInterrupt):
        handler(signal.SIGINT, None)
    assert exits == []
    handler(signal.SIGINT, None)  # the second one does not raise: it exits the process
    assert exits == [130]


def test_ctrl_c_while_writing_lets_the_write_finish(tmp_path, bongos, monkeypatch, capsys):
    from audiostyle.cli import commands

    real_save = commands.save_audio

    def save_with_ctrl_c(*args, **kwargs):
        signal.getsignal(signal.SIGINT)(signal.SIGINT, None)  # must not raise here
        return real_save(*args, **kwargs)

    monkeypatch.setattr(commands, "save_audio", save_with_ctrl_c)
    out = tmp_path / "t.wav"
    code = main(["texture", _write(tmp_path / "s.wav", bongos), "-o", str(out), "--seconds",
                 "0.5", "-e", "shallow", "-n", "2", "--refine", "1",
                 "--gl-iterations", "4", "--quiet"])
    assert code == 130
    assert sf.info(out).frames == SR // 2
    err = capsys.readouterr().err
    assert f"interrupted after the synthesis; the result was saved to {out}" in err
