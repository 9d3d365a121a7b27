"""Every bad input and fault, through the CLI in its own process.

Each case asserts the exit status, a one-line message naming the file and the problem (no
traceback), that no input changed, and that no output or half-written file is left (or, where
the run goes on, that the output is complete). The processes are forked from a server that has
imported audiostyle once (tests/helpers/cli_harness.py). Ctrl-C at every moment: test_interrupts.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import SR
from helpers.cli_harness import Run

#: Small, fast synthesis settings for runs that get as far as the optimisation.
FAST = ["-e", "shallow", "-n", "2", "--refine", "1", "--gl-iterations", "4", "-q"]


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.iterdir())}


def _refused(run: Run, status: int, *needles: str) -> None:
    """One line on stderr with every needle, no traceback, the expected status."""
    err = run.stderr.strip()
    assert run.status == status, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err


def _transfer(cli, files, content="content.wav", style="style.wav", out="out/r.wav", extra=()):
    """Run a transfer; check that the inputs did not change."""
    inputs = files / "inputs"
    before = _hashes(inputs)
    run = cli.run(["transfer", inputs / content, inputs / style, "-o", files / out, *FAST,
                   *extra], files)
    assert _hashes(inputs) == before
    return run


def _nothing_written(files) -> None:
    assert list((files / "out").iterdir()) == []


# --- bad input files -----------------------------------------------------------------------


def _wav_bytes(files) -> bytes:
    return (files / "inputs" / "content.wav").read_bytes()


BAD_CONTENT = {
    "missing path": (lambda f: None, "no such file"),
    "a directory": (lambda f: (f / "inputs" / "bad.wav").mkdir(), "is a directory"),
    "empty file": (lambda f: (f / "inputs" / "bad.wav").write_bytes(b""), "file is empty"),
    "zero-sample WAV": (lambda f: sf.write(f / "inputs" / "bad.wav", np.zeros((0, 1)), SR),
                        "contains no samples"),
    "corrupt header": (lambda f: (f / "inputs" / "bad.wav").write_bytes(
        _wav_bytes(f)[:20] + b"\xff\xff" + _wav_bytes(f)[22:]), "not a readable audio file"),
    "truncated header": (lambda f: (f / "inputs" / "bad.wav").write_bytes(_wav_bytes(f)[:20]),
                         "not a readable audio file"),
    "non-audio file": (lambda f: (f / "inputs" / "bad.wav").write_text("<html>not audio</html>"
                                                                       * 50),
                       "not an audio file (its format is not recognised)"),
    "NaN in a float WAV": (lambda f: sf.write(f / "inputs" / "bad.wav", _with(np.nan), SR,
                                              subtype="FLOAT"),
                           "NaN or infinite samples (first at channel 2, 0.005 s)"),
    "Inf in a float WAV": (lambda f: sf.write(f / "inputs" / "bad.wav", _with(np.inf), SR,
                                              subtype="FLOAT"), "NaN or infinite samples"),
    "a single sample": (lambda f: sf.write(f / "inputs" / "bad.wav", np.full(1, 0.5), SR),
                        "too short for the shallow extractor: 0.000 s (1 sample at 22050 Hz)"),
    "unsupported rate": (lambda f: sf.write(f / "inputs" / "bad.wav", np.full(4000, 0.1), 4000),
                         "sample rate 4000 Hz is not supported; use 8000–192000 Hz"),
}


def _with(value: float) -> np.ndarray:
    x = np.full((SR, 2), 0.1)
    x[SR // 200, 1] = value
    return x


@pytest.mark.parametrize("role", ["content", "style"])
@pytest.mark.parametrize("case", list(BAD_CONTENT))
def test_bad_input_file_is_refused_in_one_line(cli, files, case, role):
    make, message = BAD_CONTENT[case]
    make(files)
    names = {"content": "content.wav", "style": "style.wav", role: "bad.wav"}
    run = _transfer(cli, files, names["content"], names["style"], out="out/new/r.wav")
    _refused(run, 2, f"{files / 'inputs' / 'bad.wav'}: ", message)
    _nothing_written(files)  # not even the missing output folder


def test_truncated_data_warns_and_uses_what_is_there(cli, files):
    data = _wav_bytes(files)
    (files / "inputs" / "cut.wav").write_bytes(data[: len(data) * 3 // 4])
    run = _transfer(cli, files, content="cut.wav")
    assert run.status == 0, run.stderr
    assert "cut.wav: file is truncated" in run.stderr and "Traceback" not in run.stderr
    assert sf.info(files / "out" / "r.wav").frames == (len(data) * 3 // 4 - 44) // 2


def test_silent_content_warns_and_gives_a_texture(cli, files):
    sf.write(files / "inputs" / "silence.wav", np.zeros(SR), SR)
    run = _transfer(cli, files, content="silence.wav")
    assert run.status == 0, run.stderr
    assert ("silence.wav: is silent (all samples are zero): the result will be a texture"
            in run.stderr)
    out, _ = sf.read(files / "out" / "r.wav")
    assert out.shape == (SR,) and np.sqrt(np.mean(out**2)) > 1e-3


def test_silent_style_is_refused(cli, files):
    sf.write(files / "inputs" / "silence.wav", np.zeros(SR), SR)
    run = _transfer(cli, files, style="silence.wav")
    _refused(run, 2, "silence.wav: is silent (all samples are zero): a silent style has no "
                     "texture")
    _nothing_written(files)


def test_eight_channels_are_kept_and_checked_against_the_format(cli, files, melody):
    eight = np.stack([np.roll(melody[:SR], 100 * k) * (k + 1) / 8 for k in range(8)], axis=1)
    sf.write(files / "inputs" / "eight.wav", eight, SR)
    run = _transfer(cli, files, content="eight.wav", out="out/r.mp3")
    _refused(run, 2, "r.mp3: MP3 holds at most 2 channels, the result has 8")
    _nothing_written(files)
    run = _transfer(cli, files, content="eight.wav", out="out/r.wav")
    assert run.status == 0, run.stderr
    out, _ = sf.read(files / "out" / "r.wav")
    assert out.shape == (SR, 8) and np.all(np.isfinite(out))


# --- output paths ------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["same", "other spelling", "symlink"])
def test_output_equal_to_an_input_is_refused(cli, files, spelling):
    inputs = files / "inputs"
    out = {"same": inputs / "style.wav",
           "other spelling": inputs / ".." / "inputs" / "." / "style.wav",
           "symlink": files / "out" / "link.wav"}[spelling]
    if spelling == "symlink":
        out.symlink_to(inputs / "style.wav")
    run = _transfer(cli, files, out=out)
    _refused(run, 2, "output would overwrite an input file")
    assert list((files / "out").iterdir()) == ([out] if spelling == "symlink" else [])


def test_missing_output_folder_is_created(cli, files):
    run = _transfer(cli, files, out="out/new/deeper/r.flac")
    assert run.status == 0, run.stderr
    assert sf.info(files / "out" / "new" / "deeper" / "r.flac").frames == SR


def test_output_under_a_file_is_refused(cli, files):
    (files / "out" / "taken").write_text("a file, not a folder")
    run = _transfer(cli, files, out="out/taken/new/r.wav")
    _refused(run, 2, f"{files / 'out' / 'taken' / 'new' / 'r.wav'}: "
                     f"{files / 'out' / 'taken'} is not a folder")
    assert [p.name for p in (files / "out").iterdir()] == ["taken"]


def test_unwritable_output_folder_is_refused_before_any_work(cli, melody, bongos):
    # permissions do not bind root: run the child as an unprivileged user then
    user = 65534 if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="audiostyle-ro-"))
    try:
        base.chmod(0o755)
        sf.write(base / "content.wav", melody[:SR], SR)
        sf.write(base / "style.wav", bongos[:SR], SR)
        locked = base / "locked"
        locked.mkdir(mode=0o555)
        locked.chmod(0o555)
        before = [(base / name).read_bytes() for name in ("content.wav", "style.wav")]
        run = cli.run(["transfer", base / "content.wav", base / "style.wav", "-o",
                       locked / "sub" / "r.wav", *FAST], base, user=user)
        _refused(run, 2, f"{locked / 'sub' / 'r.wav'}: cannot write in", "Permission denied")
        assert list(locked.iterdir()) == []
        assert [(base / name).read_bytes() for name in ("content.wav", "style.wav")] == before
    finally:
        shutil.rmtree(base)


def test_disk_full_while_writing_leaves_nothing(cli, files):
    # the file size limit makes every write past 8 KiB fail, as a full disk would
    run = cli.run(["transfer", files / "inputs" / "content.wav", files / "inputs" / "style.wav",
                   "-o", files / "out" / "r.wav", *FAST], files, fsize=8192)
    _refused(run, 1, f"{files / 'out' / 'r.wav'}: could not write the result (File too large);"
                     " nothing was written")
    _nothing_written(files)


# --- names and values --------------------------------------------------------------------------


@pytest.mark.parametrize("extra,message", [
    (["-e", "shalow"], "Unknown extractor 'shalow'. Did you mean 'shallow'?"),
    (["-X", "filter=8"], "Extractor 'shallow' has no option 'filter'. Did you mean 'filters'?"),
    (["-X", "filters=many"], "option filters='many' is not a valid int"),
    (["-X", "form=drawn", "-X", "filters=0"], "option filters=0 must be at least 1"),
    (["-X", "filters=256"], "Extractor 'shallow': option filters acts on drawn nets only; add "
                            "form=drawn to use it (form=infinite, the default, has infinitely "
                            "many filters)"),
    (["-e", "shallow-multi", "-X", "seed=3", "-X", "precision=float32"],
     "Extractor 'shallow-multi': options seed, precision act on drawn nets only; add form=drawn "
     "to use them"),
    (["-X", "hop_length=2048"], "hop_length=2048 must be at most n_fft / 2 = 1024"),
    (["-X", "sample_rate=1000"], "working rate: sample rate 1000 Hz is not supported"),
    (["--optimizer", "newton"], "argument --optimizer: invalid choice: 'newton'"),
    (["--chunk-seconds", "-3"], "argument --chunk-seconds: must be a positive number"),
    (["--output-sr", "500"], "argument --output-sr: must be between 8000 and 192000, got 500"),
    (["--device", "tpu"], "Unknown device 'tpu'"),
])
def test_unknown_names_and_bad_values_are_refused(cli, files, extra, message):
    run = _transfer(cli, files, extra=extra)
    _refused(run, 2, message)
    _nothing_written(files)


# --- weights -----------------------------------------------------------------------------------


def test_unknown_weights_name_is_refused(cli, files):
    run = cli.run(["weights", "install", "soundnt"], files,
                  env={"AUDIOSTYLE_CACHE": str(files / "cache")})
    _refused(run, 2, "Unknown weights 'soundnt'. Did you mean 'soundnet'?")
    assert not (files / "cache").exists()


def test_missing_and_tampered_weights_are_refused(cli, files):
    env = {"AUDIOSTYLE_CACHE": str(files / "cache")}
    before = _hashes(files / "inputs")

    def toy_transfer():
        return _transfer_with(cli, files, ["-e", "toy", "-n", "2", "--refine", "1",
                                           "--gl-iterations", "4", "-q"],
                              env=env, prelude="helpers.cli_toy")

    _refused(toy_transfer(), 2, "weights for 'toy' are not installed: run `audiostyle weights "
                                "install toy`")
    _nothing_written(files)
    install = cli.run(["weights", "install", "toy"], files, env=env, prelude="helpers.cli_toy")
    assert install.status == 0, install.stderr
    assert toy_transfer().status == 0
    (files / "out" / "r.wav").unlink()
    stored = files / "cache" / "weights" / "toy.safetensors"
    data = bytearray(stored.read_bytes())
    data[-3] ^= 0x01
    stored.write_bytes(bytes(data))
    _refused(toy_transfer(), 2, "weights for 'toy'", "do not match their recorded SHA-256",
             "audiostyle weights install toy --force")
    _nothing_written(files)
    assert _hashes(files / "inputs") == before


def _transfer_with(cli, files, extra, **options):
    inputs = files / "inputs"
    return cli.run(["transfer", inputs / "content.wav", inputs / "style.wav", "-o",
                    files / "out" / "r.wav", *extra], files, **options)


def test_harness_matches_the_real_command(files):
    """The same fault through `python -m audiostyle.cli`: same status, same line."""
    proc = subprocess.run(
        [sys.executable, "-m", "audiostyle.cli", "transfer", str(files / "inputs" / "nope.wav"),
         str(files / "inputs" / "style.wav"), "-o", str(files / "out" / "r.wav"), "-q"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 2
    assert proc.stderr == f"audiostyle: error: {files / 'inputs' / 'nope.wav'}: no such file\n"


SMALL = ["-e", "shallow", "--iterations", "2", "--refine", "0", "-q"]


def _batch(cli, files, manifest="m.csv"):
    run = cli.run(["batch", files / manifest, "-o", files / "out", *SMALL], files)
    assert "Traceback" not in run.stderr, run.stderr
    return run


@pytest.mark.parametrize("damage", ["truncated", "one byte changed", "not audio"])
def test_resume_reruns_a_damaged_output(cli, files, damage):
    (files / "m.csv").write_text("content,style\ninputs/content.wav,inputs/style.wav\n")
    assert _batch(cli, files).status == 0
    [output] = (files / "out").glob("*.wav")
    data = bytearray(output.read_bytes())
    if damage == "truncated":
        output.write_bytes(data[:1000])
    elif damage == "one byte changed":
        data[-7] ^= 0x10
        output.write_bytes(bytes(data))
    else:
        output.write_bytes(b"<html>gone</html>" * 100)
    run = _batch(cli, files)
    assert run.status == 0, run.stderr
    assert "done         1" in run.stdout and "skipped      0" in run.stdout, run.stdout
    restored, sr = sf.read(output)
    assert sr == SR and restored.shape == (SR,) and np.all(np.isfinite(restored))
    again = _batch(cli, files)  # now intact: skipped
    assert "skipped      1" in again.stdout, again.stdout


@pytest.mark.parametrize("text,line,problem", [
    ('content,style\n"inputs/content.wav,inputs/style.wav\ninputs/content.wav,inputs/style.wav\n',
     2, "a quote opened in this row is never closed"),
    ('content,style\ninputs/content.wav,inputs/style.wav\n"inputs/content.wav"x,inputs/s.wav\n',
     3, "malformed CSV"),
])
def test_malformed_csv_is_refused_naming_the_line(cli, files, text, line, problem):
    (files / "m.csv").write_text(text)
    run = _batch(cli, files)
    _refused(run, 2, f"{files / 'm.csv'}:{line}: {problem}")
    assert list((files / "out").iterdir()) == []


def test_file_names_that_are_not_utf8_are_read_and_named(cli, files):
    folder = os.fsencode(files / "inputs")
    name = os.fsdecode(folder + b"/bad\xff.wav")  # how such a name comes in argv
    shutil.copy(files / "inputs" / "content.wav", name)
    child = cli.start(["stats", name, "-e", "shallow", "-X", "filters=32", "-X", "form=drawn"],
                      files)
    run = child.wait()
    assert run.status == 0, run.stderr
    assert child.stdout_path.read_bytes().startswith(folder + b"/bad\xff.wav: shallow")
    out = os.fsdecode(os.fsencode(files / "out") + b"/r\xfe.wav")
    run = cli.run(["transfer", name, files / "inputs" / "style.wav", "-o", out, *SMALL], files)
    assert run.status == 0, run.stderr
    assert sf.info(os.fsencode(out)).frames == SR
    child = cli.start(["stats", os.fsdecode(folder + b"/gone\xff.wav")], files)
    assert child.wait().status == 2
    assert child.stderr_path.read_bytes() == (
        b"audiostyle: error: " + folder + b"/gone\xff.wav: no such file\n")


def test_grid_page_links_records_that_exist_when_two_styles_have_equal_bytes(cli, files):
    inputs = files / "inputs"
    shutil.copy(inputs / "style.wav", inputs / "same.wav")
    run = cli.run(["grid", "-c", inputs / "content.wav", "-s", inputs / "style.wav",
                   inputs / "same.wav", "-o", files / "out", *SMALL], files)
    assert run.status == 0, run.stderr
    page = (files / "out" / "index.html")
    links = re.findall(r'href="([^"]+\.json)"', page.read_text())
    assert len(links) == 2, links
    for link in links:
        assert json.loads((files / "out" / link).read_text())["audio"]


def test_weights_list_shows_every_entry_with_real_paths(cli, files):
    old, cache = files / "old-cache", files / "cache"
    install = cli.run(["weights", "install", "toy"], files, env={"AUDIOSTYLE_CACHE": str(old)},
                      prelude="helpers.cli_toy")
    assert install.status == 0, install.stderr
    old.rename(cache)  # the cache moved: the record still names the old place
    env = {"AUDIOSTYLE_CACHE": str(cache)}
    run = cli.run(["weights", "list"], files, env=env, prelude="helpers.cli_toy")
    assert run.status == 0, run.stderr
    assert f"toy          verified   {cache / 'weights' / 'toy.safetensors'}" in run.stdout
    (cache / "weights" / "toy.json").write_text("{not json")
    run = cli.run(["weights", "list"], files, env=env, prelude="helpers.cli_toy")
    assert run.status == 0 and run.stderr == "", run.stderr
    lines = run.stdout.splitlines()
    assert any(line.startswith("soundnet     missing") for line in lines), run.stdout
    assert any(line.startswith("toy          have no readable record") for line in lines)


def test_a_reader_that_stops_early_is_no_error(cli, files):
    fifo = files / "pipe"
    os.mkfifo(fifo)
    child = cli.start(["weights", "list"], files, env={"AUDIOSTYLE_CACHE": str(files / "c")},
                      stdout=str(fifo))
    os.close(os.open(fifo, os.O_RDONLY))  # `| head -0`: the reader is gone before any output
    status = json.loads(cli._line(60))["status"]  # (Child.wait would read the pipe)
    cli.running = None
    assert status == 141 and child.stderr() == "", child.stderr()


@pytest.mark.parametrize("argv,message", [
    (["batch", "m.csv", "-o", "out", "--workers", "two"],
     "argument --workers/-j: must be a whole number, got 'two'"),
    (["texture", "inputs/style.wav", "-o", "out/t.wav", "--seconds", "abc"],
     "argument --seconds/-s: must be a positive number, got 'abc'"),
])
def test_a_flag_that_is_not_a_number_names_itself(cli, files, argv, message):
    (files / "m.csv").write_text("content,style\ninputs/content.wav,inputs/style.wav\n")
    run = cli.run(argv, files)
    _refused(run, 2, message)
    assert list((files / "out").iterdir()) == []


@pytest.mark.parametrize("command", ["batch", "grid"])
def test_an_output_folder_that_is_a_file_is_refused_before_any_work(cli, files, command):
    (files / "m.csv").write_text("content,style\ninputs/content.wav,inputs/style.wav\n")
    taken = files / "out" / "c.wav"
    taken.write_bytes(b"a file")
    argv = (["batch", "m.csv"] if command == "batch" else
            ["grid", "-c", "inputs/content.wav", "-s", "inputs/style.wav"])
    run = cli.run([*argv, "-o", taken, *SMALL], files)
    _refused(run, 2, f"{taken}: {taken} is not a folder; choose another path")
    assert taken.read_bytes() == b"a file" and list((files / "out").iterdir()) == [taken]


def test_the_time_reported_includes_the_phase_recovery(cli, files):
    run = _transfer(cli, files, extra=["--gl-iterations", "3000"])
    assert run.status == 0, run.stderr
    total, optimising = map(float, re.search(
        r"wrote .* in ([\d.]+) s \(([\d.]+) s of optimisation\)", run.stdout).groups())
    assert optimising < total <= run.seconds + 0.05, run.stdout
