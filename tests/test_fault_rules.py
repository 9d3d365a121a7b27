"""The input and output rules of the README, through the CLI in its own process: silence by
level, sizes checked against the machine before any work, files that are not audio or not
regular files, the same exit status for the same fault in every command, inputs checked before
scoring, read-only outputs and file modes. (The processes come from the fork server of
tests/helpers/cli_harness.py, through the fixtures of tests/conftest.py; the helpers are those of
tests/test_faults.py.)"""

from __future__ import annotations

import os
import re
import signal
import stat

import numpy as np
import pytest
import soundfile as sf

from conftest import SR
from test_faults import FAST, _hashes, _nothing_written, _refused, _transfer

#: Settings without FAST's small network: sizes must be refused before any weight is drawn.
QUICK = ["-e", "shallow", "-n", "2", "--refine", "0", "-q"]


def _run_or_kill(cli, argv, folder, timeout: float = 30, **options):
    """Run ``audiostyle ARGV``; one that has not ended after ``timeout`` s (reading a pipe
    forever, serving) is killed, so that the other tests can run, and fails the test."""
    child = cli.start(argv, folder, **options)
    try:
        return child.wait(timeout)
    except TimeoutError:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(60)
        raise


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# --- silence by level --------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["transfer", "texture"])
def test_a_style_of_tiny_constant_samples_is_silent(cli, files, command):
    inputs = files / "inputs"
    sf.write(inputs / "tiny.wav", np.full(SR, 1e-40), SR, subtype="FLOAT")
    argv = ([command, inputs / "content.wav", inputs / "tiny.wav"] if command == "transfer"
            else [command, inputs / "tiny.wav", "--seconds", "1"])
    run = cli.run([*argv, "-o", files / "out" / "r.wav", *FAST], files)
    _refused(run, 2, f"{inputs / 'tiny.wav'}: is silent (peak -800.0 dBFS, below -80 dBFS): "
                     "a silent style has no texture to take on")
    _nothing_written(files)


def test_a_content_far_below_a_sensible_level_is_silent_and_becomes_texture(cli, files):
    quiet = 10 ** (-90 / 20) * np.sin(2 * np.pi * 440 * np.arange(SR) / SR)
    sf.write(files / "inputs" / "quiet.wav", quiet, SR, subtype="FLOAT")
    run = _transfer(cli, files, content="quiet.wav")
    assert run.status == 0, run.stderr
    assert (f"{files / 'inputs' / 'quiet.wav'}: is silent (peak -90.0 dBFS, below -80 dBFS): "
            "the result will be a texture of the style") in run.stderr
    out, _ = sf.read(files / "out" / "r.wav")
    assert np.sqrt(np.mean(out**2)) > 1e-3  # the style's level, not the content's 2e-5


# --- sizes against the machine -----------------------------------------------------------------


def test_a_texture_longer_than_memory_holds_is_refused_before_any_work(cli, files):
    run = cli.run(["texture", files / "inputs" / "style.wav", "-o", files / "out" / "t.wav",
                   "--seconds", "1e9", *QUICK], files, timeout=60)
    _refused(run, 2, "--seconds 1e+09: the result would take about", "TB of memory, more than "
                     "the", "available; give at most")
    largest = int(re.search(r"give at most ([\d,]+)", run.stderr)[1].replace(",", ""))
    assert 0 < largest < 1e9
    _nothing_written(files)


@pytest.mark.parametrize("extra,message", [
    (["-X", "kernel_width=100000"], "Extractor 'shallow': option kernel_width=100000 must be "
                                    "between 1 and 1024"),
    (["-X", "n_fft=1000000000"], "Extractor 'shallow': option n_fft=1000000000 must be between "
                                 "1 and 65536"),
    (["-X", "filters=100000000", "-X", "form=drawn"],
     "Extractor 'shallow': its random weights would take about"),
    (["-e", "shallow-multi", "-X", "widths=2,4000"],
     "option widths[1]=4000 must be between 1 and 1024"),
    (["-e", "mcdermott", "-X", "bands=100000"], "Extractor 'mcdermott': option bands=100000 "
                                                "must be between 1 and 256"),
    (["-X", "sample_rate=1000000000"], "working rate: sample rate 1000000000 Hz is not "
                                       "supported; use 8000–192000 Hz"),
])
def test_extractor_sizes_are_refused_up_front_with_their_range(cli, files, extra, message):
    run = _transfer_quick(cli, files, extra)
    _refused(run, 2, message)
    assert "allocate" not in run.stderr
    _nothing_written(files)


@pytest.mark.parametrize("flag,value,message", [
    ("--seed", "99999999999999999999999", "must be between 0 and 4294967295"),
    ("--iterations", "99999999999999999999", "must be between 1 and 1000000"),
    ("--gl-iterations", "1e3", "invalid int value: '1e3'"),
])
def test_seeds_and_iteration_counts_have_their_range(cli, files, flag, value, message):
    run = _transfer_quick(cli, files, [flag, value])
    _refused(run, 2, f"argument {flag}", message)
    _nothing_written(files)


def _transfer_quick(cli, files, extra, **options):
    inputs = files / "inputs"
    return cli.run(["transfer", inputs / "content.wav", inputs / "style.wav", "-o",
                    files / "out" / "r.wav", *QUICK, *extra], files, timeout=120, **options)


# --- files that are not audio, or not regular files --------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_bytes_are_not_an_audio_file_and_no_decoder_line_leaks(cli, files, seed):
    # (seed 1 makes libmpg123 print a warning of its own, then libsndfile blame a "pipe")
    junk = files / "inputs" / "junk.wav"
    junk.write_bytes(np.random.default_rng(seed).bytes(5000))
    run = cli.run(["stats", junk, "-e", "shallow"], files, timeout=60)
    _refused(run, 2, f"{junk}: not an audio file (its format is not recognised); use WAV")
    assert "libmpg123" not in run.stderr and "pipe" not in run.stderr


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_pipe_or_a_device_is_named_and_never_read(cli, files, kind):
    path = files / "inputs" / "pipe.wav" if kind == "fifo" else "/dev/zero"
    if kind == "fifo":
        os.mkfifo(path)
    before = _hashes(files / "inputs")
    run = _run_or_kill(cli, ["transfer", path, files / "inputs" / "style.wav", "-o",
                             files / "out" / "r.wav", *QUICK], files)
    problem = ("is a named pipe (FIFO), not a regular file" if kind == "fifo"
               else "is a character device, not a regular file")
    _refused(run, 2, f"{path}: {problem}")
    assert "empty" not in run.stderr
    assert _hashes(files / "inputs") == before
    _nothing_written(files)


def test_a_manifest_that_is_a_pipe_is_named_and_never_read(cli, files):
    os.mkfifo(files / "m.csv")
    run = _run_or_kill(cli, ["batch", files / "m.csv", "-o", files / "out", *FAST], files)
    _refused(run, 2, f"{files / 'm.csv'}: is a named pipe (FIFO), not a regular file")
    _nothing_written(files)


# --- the same fault, the same status -----------------------------------------------------------


def _commands(files, missing):
    """Each command given the file ``missing`` as an input."""
    inputs, out = files / "inputs", files / "out"
    (files / "m.csv").write_text(f"content,style\n{missing},inputs/style.wav\n")
    return {
        "transfer": ["transfer", missing, inputs / "style.wav", "-o", out / "r.wav"],
        "texture": ["texture", missing, "-o", out / "t.wav", "--seconds", "1"],
        "batch": ["batch", files / "m.csv", "-o", out / "b"],
        "grid": ["grid", "-c", missing, "-s", inputs / "style.wav", "-o", out / "g"],
        "evaluate": ["evaluate", "--style", inputs / "style.wav", missing],
        "classify": ["classify", missing],
        "stats": ["stats", missing, "-e", "shallow"],
    }


@pytest.mark.parametrize("command", ["transfer", "texture", "batch", "grid", "evaluate",
                                     "classify", "stats"])
def test_a_missing_input_is_a_user_mistake_in_every_command(cli, files, command):
    missing = files / "inputs" / "gone.wav"
    argv = _commands(files, missing)[command]
    extra = [] if command in ("evaluate", "classify", "stats") else FAST
    run = cli.run([*argv, *extra], files, timeout=120,
                  env={"AUDIOSTYLE_CACHE": str(files / "cache")})
    if command == "batch":  # the row is refused and the others would go on: the summary
        assert run.status == 2, run.stdout + run.stderr
        assert f"line 2: {missing}: no such file" in run.stdout
        assert "Traceback" not in run.stderr
    else:
        _refused(run, 2, f"{missing}: no such file")
    assert not list((files / "out").rglob("*.wav"))


@pytest.mark.parametrize("argv,message", [
    (["studio", "--port", "70000", "--no-browser"], "--port 70000: must be 0–65535"),
    (["studio", "--port", "http", "--no-browser"], "argument --port: invalid int value"),
    (["studio", "--threads", "0", "--no-browser"], "must be positive"),
])
def test_studio_argument_mistakes_exit_2(cli, files, argv, message):
    run = _run_or_kill(cli, [*argv, "--data", files / "data"], files)  # (the studio started)
    _refused(run, 2, message)
    assert not (files / "data").exists()


@pytest.mark.parametrize("command", ["transfer", "texture", "batch"])
def test_a_full_disk_is_a_failure_in_every_command(cli, files, command):
    inputs, out = files / "inputs", files / "out"
    (files / "m.csv").write_text("content,style\ninputs/content.wav,inputs/style.wav\n")
    argv = {"transfer": ["transfer", inputs / "content.wav", inputs / "style.wav", "-o",
                         out / "r.wav"],
            "texture": ["texture", inputs / "style.wav", "-o", out / "r.wav", "--seconds", "1"],
            "batch": ["batch", files / "m.csv", "-o", out]}[command]
    run = cli.run([*argv, *FAST], files, fsize=8192)  # writes past 8 KiB fail, as on a full disk
    assert run.status == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert "could not write the result (File too large); nothing was written" in (
        run.stdout + run.stderr)
    assert not list(out.glob("*.wav")) and not list(out.glob(".*.part"))


def test_batch_on_a_full_disk_names_each_file_and_still_prints_its_summary(cli, files):
    # the audio and results.csv (each row has its long style cell) do not fit in 8 KiB, the
    # summary (one short line per missing content) does
    style = "inputs/" + "./" * 60 + "style.wav"
    rows = ["inputs/content.wav,inputs/style.wav"] + [f"inputs/gone{k}.wav,{style}"
                                                      for k in range(40)]
    (files / "m.csv").write_text("content,style\n" + "\n".join(rows) + "\n")
    run = cli.run(["batch", files / "m.csv", "-o", files / "out", *FAST], files, fsize=8192)
    assert run.status == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stderr and run.stderr == "", run.stderr
    assert "41 rows in" in run.stdout and "failed      41" in run.stdout, run.stdout
    [line] = [x for x in run.stdout.splitlines() if x.startswith("  line 2:")]
    assert re.fullmatch(rf"  line 2: {re.escape(str(files / 'out'))}/\S+\.wav: could not write "
                        r"the result \(File too large\); nothing was written", line), line
    results = files / "out" / "results.csv"
    assert run.stdout.rstrip().endswith(f"results: NOT WRITTEN: {results}: could not be "
                                        "written (File too large); the old file, if any, is "
                                        "unchanged")
    assert not results.exists() and not list((files / "out").glob(".*"))


# --- inputs checked before scoring -------------------------------------------------------------


def test_evaluate_checks_every_output_before_scoring_any(cli, files):
    inputs = files / "inputs"
    missing = files / "out" / "second.wav"
    run = cli.run(["evaluate", "--style", inputs / "style.wav", "--content",
                   inputs / "content.wav", inputs / "content.wav", missing, inputs / "style.wav",
                   "-e", "shallow"], files, prelude="helpers.cli_scoring")
    _refused(run, 2, f"{missing}: no such file")  # one line: nothing was scored
    assert run.stdout == ""


def test_classify_refuses_a_sound_too_short_to_classify(cli, files):
    sf.write(files / "inputs" / "one.wav", np.full(1, 0.5), SR)
    run = cli.run(["classify", files / "inputs" / "one.wav"], files,
                  env={"AUDIOSTYLE_CACHE": str(files / "cache")})
    _refused(run, 2, f"{files / 'inputs' / 'one.wav'}: too short to classify: 0.000 s; it needs "
                     "at least 1 s")
    assert run.stdout == ""


# --- outputs: read-only ones are refused, modes are the usual ones -----------------------------


def test_a_read_only_output_is_refused_before_any_work(cli, files):
    old = files / "out" / "r.wav"
    old.write_bytes(b"keep me")
    old.chmod(0o444)
    run = _transfer(cli, files)
    _refused(run, 2, f"{old}: the existing file is read-only; make it writable (chmod u+w) or "
                     "choose another path")
    assert old.read_bytes() == b"keep me" and _mode(old) == 0o444
    assert [p.name for p in (files / "out").iterdir()] == ["r.wav"]


def test_a_read_only_batch_results_file_is_refused_before_any_work(cli, files):
    (files / "m.csv").write_text("content,style\ninputs/content.wav,inputs/style.wav\n")
    results = files / "out" / "results.csv"
    results.write_text("old\n")
    results.chmod(0o444)
    run = cli.run(["batch", files / "m.csv", "-o", files / "out", *FAST], files)
    _refused(run, 2, f"{results}: the existing file is read-only")
    assert results.read_text() == "old\n"
    assert [p.name for p in (files / "out").iterdir()] == ["results.csv"]


def test_audio_and_records_get_the_same_usual_mode_and_replacing_keeps_a_files_mode(cli, files):
    (files / "m.csv").write_text("content,style\ninputs/content.wav,inputs/style.wav\n")
    run = cli.run(["batch", files / "m.csv", "-o", files / "out", *FAST], files)
    assert run.status == 0, run.stdout + run.stderr
    written = sorted((files / "out").iterdir())
    assert {p.suffix for p in written} == {".wav", ".json", ".csv"}
    assert {p.name: _mode(p) for p in written} == {p.name: 0o666 & ~_umask() for p in written}
    mine = files / "out" / "r.wav"
    mine.write_bytes(b"old")
    mine.chmod(0o640)
    run = _transfer(cli, files)
    assert run.status == 0, run.stderr
    assert sf.info(mine).frames == SR and _mode(mine) == 0o640
