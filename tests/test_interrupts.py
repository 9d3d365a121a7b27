"""Ctrl-C at every moment of a synthesis, through the CLI in its own process.

A moment is a function of the pipeline held at its start (tests/helpers/cli_moments.py) while
the test presses Ctrl-C, so that each lands where it is meant to. The rule: before the first
iteration is done nothing exists yet, and the CLI says so and writes nothing; from then on the
best result so far is written (decodable, the content's length at the output rate) and the CLI
says what it saved; a second Ctrl-C quits at once and leaves no file. Inputs never change.
"""

from __future__ import annotations

import csv
import fcntl
import os
import re
import signal
import time

import numpy as np
import pytest
import soundfile as sf

from audiostyle.synthesis.chunking import plan_chunks
from conftest import SR
from helpers.cli_harness import Run
from test_faults import _hashes

#: A tiny transfer: two iterations in the spectrogram domain, no refinement.
SMALL = ["-e", "shallow", "--iterations", "2", "--refine", "0", "-q"]
NOTHING_YET = "interrupted before any result existed; nothing was written"
SAVED = "saved the best result so far to"
AFTER = "interrupted after the synthesis; the result was saved to"
SECOND = "second Ctrl-C: exiting now, without saving"


def _press(cli, files, at, *, call=1, holds=1, presses=1, argv=None, extra=SMALL,
           signum=signal.SIGINT) -> Run:
    """Run ``argv`` (default: a transfer to out/r.wav with ``extra``), hold ``at`` from its
    ``call``-th call for ``holds`` calls, press Ctrl-C (or send ``signum``) ``presses`` times
    there (each after the CLI answered the one before), then let it go on."""
    inputs, release = files / "inputs", files / "release"
    argv = argv or ["transfer", inputs / "content.wav", inputs / "style.wav", "-o",
                    files / "out" / "r.wav", *extra]
    env = {"AUDIOSTYLE_TEST_AT": at, "AUDIOSTYLE_TEST_CALL": str(call),
           "AUDIOSTYLE_TEST_HOLDS": str(holds), "AUDIOSTYLE_TEST_RELEASE": str(release)}
    before = _hashes(inputs)
    child = cli.start(argv, files, env=env, prelude="helpers.cli_moments")
    for press in range(presses):
        child.wait_for(f"at {at.partition(':')[2]} (call {call + min(press, holds - 1)})")
        os.kill(child.pid, signum)
        child.wait_for(SECOND if press else "audiostyle: interrupted"
                       if signum == signal.SIGINT else "audiostyle: terminated")
    release.write_text("go on")
    run = child.wait(120)
    assert "Traceback" not in run.stderr, run.stderr
    assert _hashes(inputs) == before
    assert run.status == 128 + signum, run.stderr
    return run


def _written(files, frames: int = SR, name: str = "r.wav") -> np.ndarray:
    """The only file in out/: decodable, ``frames`` long, finite and not silent."""
    assert [p.name for p in (files / "out").iterdir()] == [name]
    out, _ = sf.read(files / "out" / name, always_2d=True)
    assert out.shape == (frames, 1) and np.all(np.isfinite(out))
    assert np.sqrt(np.mean(out**2)) > 1e-3
    return out


def _nothing_written(files) -> None:
    assert list((files / "out").iterdir()) == []


# --- one Ctrl-C --------------------------------------------------------------------------------


@pytest.mark.parametrize("at,call", [
    ("audiostyle.synthesis.pipeline:load_target", 1),  # the style's statistics
    ("audiostyle.synthesis.stages:make_domain", 1),  # the optimised tensor's set-up
    ("audiostyle.synthesis.domains:SpectrogramDomain.signal", 1),  # the first iteration
], ids=["style analysis", "domain set-up", "first iteration"])
def test_ctrl_c_before_the_first_iteration_says_nothing_exists_yet(cli, files, at, call):
    run = _press(cli, files, at, call=call)
    assert run.stderr.rstrip().endswith(NOTHING_YET), run.stderr
    _nothing_written(files)


@pytest.mark.parametrize("at,call,extra,done", [
    ("audiostyle.synthesis.domains:SpectrogramDomain.signal", 3, [], 2),
    ("audiostyle.synthesis.stages:WaveformDomain", 1, ["--refine", "4"], 5),
    ("audiostyle.synthesis.domains:WaveformDomain.signal", 2, ["--refine", "4"], 6),
    ("audiostyle.synthesis.domains:WaveformDomain.signal", 3, ["--domain", "waveform"], 2),
    ("audiostyle.synthesis.domains:SubbandDomain.signal", 3, ["--domain", "subbands"], 2),
], ids=["spectrogram", "before the refinement", "refinement", "waveform", "subbands"])
def test_ctrl_c_during_the_iterations_saves_the_best_so_far(cli, files, at, call, extra, done):
    run = _press(cli, files, at, call=call, extra=[*SMALL, "--iterations", "5", *extra])
    assert f"interrupted after {done} iterations: {SAVED} {files / 'out' / 'r.wav'}" \
        in run.stderr, run.stderr
    assert f"wrote {files / 'out' / 'r.wav'} (1.0 s, 22050 Hz)" in run.stdout
    _written(files)


@pytest.mark.parametrize("at,extra,message,frames", [
    ("audiostyle.synthesis.stages:_scores", [], SAVED, SR),  # the result's final analysis
    ("audiostyle.synthesis.pipeline:resample", ["--output-sr", "16000"], SAVED, 16000),
    ("soundfile:write", [], AFTER, SR),  # the CLI lets the write finish
    ("audiostyle.cli.commands:statistics_snr", [], AFTER, SR),  # after the write
], ids=["final analysis", "output resampling", "writing", "statistics SNR"])
def test_ctrl_c_after_the_iterations_keeps_the_whole_result(cli, files, at, extra, message,
                                                             frames):
    run = _press(cli, files, at, extra=[*SMALL, *extra])
    assert f"{message} {files / 'out' / 'r.wav'}" in run.stderr, run.stderr
    _written(files, frames)


#: A run whose phase recovery lasts long enough for a Ctrl-C to land in it.
ENDLESS_PHASE = [*SMALL, "--gl-iterations", "1000000"]  # (the most it takes)
#: Griffin-Lim's start, announced only: the Ctrl-C lands inside its iterations.
PHASE_RECOVERY = {"at": "audiostyle.synthesis.domains:griffin_lim", "holds": 0}


def test_ctrl_c_during_phase_recovery_saves_its_estimate_so_far(cli, files):
    child = cli.start(["transfer", files / "inputs" / "content.wav",
                       files / "inputs" / "style.wav", "-o", files / "out" / "r.wav",
                       *ENDLESS_PHASE], files, prelude="helpers.cli_moments",
                      env=_env(PHASE_RECOVERY))
    child.wait_for("at griffin_lim (call 1)")
    time.sleep(0.5)  # well inside its iterations
    os.kill(child.pid, signal.SIGINT)
    run = child.wait(120)
    assert run.status == 130, run.stderr
    assert f"interrupted after 2 iterations: {SAVED}" in run.stderr, run.stderr
    assert "nothing was written" not in run.stderr and "Traceback" not in run.stderr
    _written(files)


def _env(moment: dict) -> dict[str, str]:
    return {"AUDIOSTYLE_TEST_AT": moment["at"], "AUDIOSTYLE_TEST_HOLDS": str(moment["holds"])}


def test_ctrl_c_in_a_chunked_run_saves_the_chunks_done_and_says_so(cli, files, melody):
    sf.write(files / "inputs" / "long.wav", np.tile(melody, 2)[: 4 * SR], SR)
    before = _hashes(files / "inputs")
    child = cli.start(["transfer", files / "inputs" / "long.wav", files / "inputs" / "style.wav",
                       "-o", files / "out" / "r.wav", "--chunk-seconds", "1.5", "-e", "shallow",
                       "-n", "100000", "--gl-iterations", "4"], files)
    child.wait_for("1/4/spectrogram")
    child.wait_for("dB")  # an iteration is done
    os.kill(child.pid, signal.SIGINT)
    run = child.wait(120)
    assert run.status == 130, run.stderr
    assert "interrupted: keeping the best result so far" in run.stderr
    assert "saved the best result so far (the first 1.3 s of 4.0 s)" in run.stderr
    assert "Traceback" not in run.stderr
    first_chunk = plan_chunks(4 * SR, 33075, 8268)[0]  # 1.5 s chunks, 0.375 s overlap
    _written(files, first_chunk[1])
    assert _hashes(files / "inputs") == before


@pytest.mark.parametrize("at,call,chunks", [
    ("audiostyle.synthesis.stages:make_domain", 2, 1),  # before the second chunk's work
    ("audiostyle.synthesis.chunking:Stitcher.add", 1, 1),  # joining the first chunk
    ("audiostyle.synthesis.chunking:Stitcher.add", 2, 2),  # cross-fading the second
], ids=["next chunk", "joining the first", "joining the second"])
def test_ctrl_c_between_chunks_keeps_the_chunks_done(cli, files, melody, at, call, chunks):
    sf.write(files / "inputs" / "long.wav", np.tile(melody, 2)[: 4 * SR], SR)
    inputs = files / "inputs"
    run = _press(cli, files, at, call=call,
                 argv=["transfer", inputs / "long.wav", inputs / "style.wav", "-o",
                       files / "out" / "r.wav", "--chunk-seconds", "1.5", *SMALL])
    end = plan_chunks(4 * SR, 33075, 8268)[chunks - 1][1]  # 1.5 s chunks, 0.375 s overlap
    assert f"saved the best result so far (the first {end / SR:.1f} s of 4.0 s)" in run.stderr, \
        run.stderr
    _written(files, end)


# --- SIGTERM, as kill, systemd, a container stop or a batch scheduler send it -----------------

TERMINATED = "audiostyle: terminated (SIGTERM): keeping the best result so far"


def test_sigterm_during_the_iterations_saves_the_best_so_far_as_ctrl_c_does(cli, files):
    run = _press(cli, files, "audiostyle.synthesis.domains:SpectrogramDomain.signal", call=3,
                 extra=[*SMALL, "--iterations", "5"], signum=signal.SIGTERM)
    assert TERMINATED in run.stderr, run.stderr
    assert f"interrupted after 2 iterations: {SAVED} {files / 'out' / 'r.wav'}" in run.stderr
    _written(files)


def test_sigterm_before_the_first_iteration_says_nothing_exists_yet(cli, files):
    run = _press(cli, files, "audiostyle.synthesis.pipeline:load_target", signum=signal.SIGTERM)
    assert TERMINATED in run.stderr and run.stderr.rstrip().endswith(NOTHING_YET), run.stderr
    _nothing_written(files)


def test_batch_sigterm_writes_the_results_table(cli, files):
    run = _press(cli, files, "audiostyle.synthesis.domains:SpectrogramDomain.signal", call=3,
                 argv=_manifest(files), signum=signal.SIGTERM)
    assert "interrupted  1" in run.stdout and "not run      1" in run.stdout, run.stdout
    assert [row["status"] for row in _rows(files)] == ["interrupted", "not run"]


def test_a_write_killed_midway_leaves_a_part_file_the_next_write_removes(cli, files):
    out = files / "out"
    argv = ["transfer", files / "inputs" / "content.wav", files / "inputs" / "style.wav", "-o",
            out / "r.wav", *SMALL]
    child = cli.start(argv, files, prelude="helpers.cli_moments",
                      env={"AUDIOSTYLE_TEST_AT": "soundfile:write",
                           "AUDIOSTYLE_TEST_RELEASE": str(files / "release")})
    child.wait_for("at write (call 1)")  # the temporary file is open
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait(60).status == -signal.SIGKILL
    [stale] = [p.name for p in out.iterdir()]
    assert re.fullmatch(r"\.r\.wav\.[a-z0-9_]{8}\.part", stale), stale
    # not ours to remove: other names, another output's, and one a running write holds
    others = [".r.wav.part", ".r.wav.ABCDEFGH.part", ".r.wav.abcdefgh.part.keep",
              ".q.wav.abcdefgh.part", ".r.wav.zzzzzzzz.part"]
    for name in others:
        (out / name).write_bytes(b"x")
    with open(out / others[-1], "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        run = cli.run(argv, files)
    assert run.status == 0, run.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted([*others, "r.wav"])


# --- a second Ctrl-C ---------------------------------------------------------------------------


@pytest.mark.parametrize("at,holds", [
    ("audiostyle.synthesis.stages:_scores", 2),  # the analysis, then its second go
    ("audiostyle.synthesis.pipeline:resample", 2),
    ("soundfile:write", 1),  # both while the temporary file is open
], ids=["final analysis", "output resampling", "writing"])
def test_a_second_ctrl_c_quits_at_once_and_leaves_no_file(cli, files, at, holds):
    run = _press(cli, files, at, holds=holds, presses=2, extra=[*SMALL, "--output-sr", "16000"])
    assert run.stderr.rstrip().endswith(SECOND), run.stderr
    _nothing_written(files)


def test_second_ctrl_c_during_phase_recovery_exits_at_once_without_saving(cli, files):
    before = _hashes(files / "inputs")
    child = cli.start(["texture", files / "inputs" / "style.wav", "-o", files / "out" / "t.wav",
                       "--seconds", "2", "-e", "shallow", "-n", "100000",
                       "--gl-iterations", "1000000"], files)
    child.wait_for("dB")
    os.kill(child.pid, signal.SIGINT)
    child.wait_for("Ctrl-C again to quit at once")
    os.kill(child.pid, signal.SIGINT)
    run = child.wait(60)
    assert run.status == 130
    assert run.stderr.rstrip().endswith(SECOND)
    assert "Traceback" not in run.stderr
    _nothing_written(files)
    assert _hashes(files / "inputs") == before


# --- batch -------------------------------------------------------------------------------------


def _manifest(files) -> list[str]:
    """Two jobs (the same pair, two seeds); the batch command on them."""
    (files / "m.csv").write_text("content,style,seed\ninputs/content.wav,inputs/style.wav,1\n"
                                 "inputs/content.wav,inputs/style.wav,2\n")
    return ["batch", files / "m.csv", "-o", files / "out", *SMALL, "--iterations", "5"]


def _rows(files) -> list[dict[str, str]]:
    return list(csv.DictReader((files / "out" / "results.csv").read_text().splitlines()))


def test_batch_ctrl_c_saves_the_stopped_jobs_best_so_far_and_a_rerun_finishes_it(cli, files):
    argv = _manifest(files)
    run = _press(cli, files, "audiostyle.synthesis.domains:SpectrogramDomain.signal", call=3,
                 argv=argv)
    assert "interrupted  1   (best result so far saved; the next run does it again)" \
        in run.stdout and "not run      1" in run.stdout, run.stdout
    assert "the interrupted job's best result so far is saved" in run.stderr, run.stderr
    first, second = _rows(files)
    assert (first["status"], second["status"], second["output"]) == ("interrupted", "not run", "")
    saved = files / "out" / first["output"]
    assert sf.info(saved).frames == SR
    stopped = saved.read_bytes()
    again = cli.run(argv, files)
    assert again.status == 0, again.stderr
    assert "done         2" in again.stdout and "skipped      0" in again.stdout, again.stdout
    assert saved.read_bytes() != stopped and sf.info(saved).frames == SR  # the whole job now
    last = cli.run(argv, files)
    assert "skipped      2" in last.stdout, last.stdout


def test_batch_ctrl_c_before_any_result_says_so(cli, files):
    run = _press(cli, files, "audiostyle.runs.jobs:style_target", argv=_manifest(files))
    assert "not run      2" in run.stdout, run.stdout
    assert "the interrupted job was not saved" in run.stderr, run.stderr
    assert [p.name for p in (files / "out").iterdir()] == ["results.csv"]


def test_batch_ctrl_c_during_phase_recovery_saves_its_estimate_quickly(cli, files):
    (files / "m.csv").write_text("content,style\ninputs/content.wav,inputs/style.wav\n")
    child = cli.start(["batch", files / "m.csv", "-o", files / "out", *ENDLESS_PHASE], files,
                      prelude="helpers.cli_moments", env=_env(PHASE_RECOVERY))
    child.wait_for("at griffin_lim (call 1)")
    time.sleep(0.5)  # well inside its iterations
    os.kill(child.pid, signal.SIGINT)
    run = child.wait(60)
    assert run.status == 130, run.stderr
    assert run.seconds < 30, run.seconds
    assert "Traceback" not in run.stderr
    assert "the interrupted job's best result so far is saved" in run.stderr, run.stderr
    [row] = _rows(files)
    assert row["status"] == "interrupted" and sf.info(files / "out" / row["output"]).frames == SR
