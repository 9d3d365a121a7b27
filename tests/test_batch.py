"""Batch runs: manifests, resuming after a kill, bad rows, shared style statistics, engines."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from audiostyle.cli import main
from audiostyle.errors import AudioStyleError
from audiostyle.runs import engines, jobs
from audiostyle.runs.batch import batch, plan, read_manifest
from audiostyle.runs.workers import WorkerDied, WorkerPool
from audiostyle.synthesis.pipeline import texture, transfer
from audiostyle.synthesis.settings import Settings
from audiostyle.synthesis.targets import style_target
from conftest import SR

#: A transfer in well under a second: the tests are about what surrounds it.
TINY = ["-e", "shallow", "-n", "3", "--refine", "1", "--gl-iterations", "4", "-q"]
TINY_SETTINGS = {"iterations": 3, "refine_iterations": 1, "griffin_lim_iterations": 4}


@pytest.fixture
def sounds(tmp_path, melody, bongos) -> Path:
    """tune.wav, drums.wav, noise.wav (0.5 s each) in ``tmp_path/in``."""
    folder = tmp_path / "in"
    folder.mkdir()
    sf.write(folder / "tune.wav", melody[: SR // 2], SR)
    sf.write(folder / "drums.wav", bongos[: SR // 2], SR)
    sf.write(folder / "noise.wav", 0.1 * np.random.default_rng(0).standard_normal(SR // 2), SR)
    return folder


def write_manifest(path: Path, rows: list[dict]) -> Path:
    columns = sorted({key for row in rows for key in row})
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def results(folder: Path) -> list[dict]:
    with (folder / "results.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_manifest_runs_reports_bad_rows_and_skips_finished_jobs(sounds, tmp_path, monkeypatch,
                                                                capsys):
    manifest = write_manifest(sounds / "jobs.csv", [
        {"content": "tune.wav", "style": "drums.wav"},
        {"content": "tune.wav", "style": "noise.wav", "seed": "1"},
        {"content": "drums.wav", "style": "noise.wav", "options": "form=drawn;filters=32"},
        {"content": "tune.wav", "style": "missing.wav"},
        {"content": "tune.wav", "style": "drums.wav", "options": "filterz=3"},
        {"content": str(sounds / "tune.wav"), "style": "drums.wav"},  # same job as row 1
    ])
    out = tmp_path / "out"
    assert main(["batch", str(manifest), "-o", str(out), *TINY]) == 2  # rows refused: user mistakes
    printed = capsys.readouterr().out
    assert "done         4" in printed and "failed       2" in printed  # rows, not jobs
    rows = results(out)
    assert [r["status"] for r in rows] == ["done", "done", "done", "failed", "failed", "done"]
    assert rows[3]["error"] == f"{sounds / 'missing.wav'}: no such file"
    assert "has no option 'filterz'" in rows[4]["error"]
    assert rows[5]["output"] == rows[0]["output"]
    for row in rows[:3]:
        written, _ = sf.read(out / row["output"])
        assert len(written) == SR // 2 and np.all(np.isfinite(written))
        assert float(row["loss_db"]) < 0  # the optimisation moved towards the style
        record = json.loads((out / row["output"]).with_suffix(".json").read_text())
        assert record["iterations"] == 4 and record["job"]["settings"]["iterations"] == 3
    assert json.loads((out / rows[2]["output"]).with_suffix(".json").read_text())[
        "job"]["options"] == {"form": "drawn", "filters": "32"}

    def fail(*args, **kwargs):
        raise AssertionError("a finished job ran again")

    monkeypatch.setattr(jobs, "transfer", fail)
    assert main(["batch", str(manifest), "-o", str(out), *TINY]) == 2
    assert [r["status"] for r in results(out)] == ["skipped"] * 3 + ["failed"] * 2 + ["skipped"]


def test_option_values_of_every_row_are_checked_before_any_job_runs(sounds):
    rows = [(2, {"content": "tune.wav", "style": "drums.wav", "options": "filters=abc"}),
            (3, {"content": "tune.wav", "style": "drums.wav", "extractor": "mcdermott",
                 "options": "bands=100000"}),
            (4, {"content": "tune.wav", "style": "drums.wav"})]
    entries = plan(rows, sounds, extractor="shallow", options={}, settings=Settings())
    assert [e.status for e in entries] == ["failed", "failed", "not run"]
    assert entries[0].error == "Extractor 'shallow': option filters='abc' is not a valid int"
    assert "option bands=100000 must be between 1 and 256" in entries[1].error
    assert entries[0].job is None and entries[2].job is not None


def test_manifest_formats_and_mistakes(sounds, tmp_path):
    jsonl = sounds / "jobs.jsonl"
    jsonl.write_text('{"content": "tune.wav", "style": "drums.wav", "options": {"kernel_width": 5},'
                     ' "iterations": 2}\n\n{"content": "tune.wav", "style": "drums.wav", '
                     '"iterations": "two"}\n')
    rows = read_manifest(jsonl)
    assert [line for line, _ in rows] == [1, 3]
    summary = batch(jsonl, tmp_path / "out", extractor="shallow",
                    settings={"refine_iterations": 0}, progress=False)
    done, bad = summary.entries
    assert done.status == "done" and done.record["iterations"] == 2
    assert done.job.options == (("kernel_width", "5"),)
    assert bad.status == "failed" and bad.error == "iterations = 'two': expected an integer"
    write_manifest(tmp_path / "typo.csv", [{"content": "a.wav", "stlye": "b.wav"}])
    with pytest.raises(AudioStyleError, match=r"typo.csv:2: unknown column 'stlye'"):
        read_manifest(tmp_path / "typo.csv")
    assert main(["batch", str(tmp_path / "none.csv"), "-o", str(tmp_path / "o")]) == 2


def test_style_statistics_are_computed_once_and_give_the_same_bits(sounds, tmp_path,
                                                                   monkeypatch):
    options = {"kernel_width": 9}
    net = {"extractor": "shallow", "options": options}
    target = style_target(sounds / "drums.wav", **net)
    shared = transfer(sounds / "tune.wav", target, **net, **TINY_SETTINGS, progress=False)
    direct = transfer(sounds / "tune.wav", sounds / "drums.wav", **net, **TINY_SETTINGS,
                      progress=False)
    assert np.array_equal(shared.audio.samples, direct.audio.samples)
    textures = [texture(style, seconds=0.5, **net, **TINY_SETTINGS, progress=False)
                for style in (target, sounds / "drums.wav")]
    assert np.array_equal(textures[0].audio.samples, textures[1].audio.samples)
    with pytest.raises(AudioStyleError, match=r"computed for shallow \(kernel_width=9\), not "
                                              r"shallow \(kernel_width=5\)"):
        transfer(sounds / "tune.wav", target, extractor="shallow", options={"kernel_width": 5},
                 progress=False)

    calls = []
    real = engines.compute_style_target
    monkeypatch.setattr(engines, "compute_style_target",
                        lambda job, *a, **k: calls.append(job.style) or real(job, *a, **k))
    todo = jobs.make_jobs([sounds / "tune.wav", sounds / "noise.wav"],
                          [sounds / "drums.wav"], ["shallow"], options={"shallow": options},
                          settings=TINY_SETTINGS)
    engines.run_jobs(todo, tmp_path / "out", progress=False)
    assert calls == [str(sounds / "drums.wav")]


def test_killed_run_resumes_with_only_the_missing_jobs(sounds, tmp_path):
    rows = [{"content": c, "style": s, "seed": str(seed)} for seed in range(1)
            for c in ("tune.wav", "drums.wav", "noise.wav") for s in ("drums.wav", "noise.wav")]
    manifest = write_manifest(sounds / "jobs.csv", rows)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "audiostyle.cli", "batch", str(manifest), "-o", str(out),
               *TINY]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    try:
        while not list(out.glob("*.json")) and time.monotonic() < deadline:
            assert process.poll() is None, "the batch ended before it could be killed"
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    before = {path.name: path.stat().st_mtime_ns for path in out.glob("*.wav")
              if path.with_suffix(".json").exists()}
    assert 1 <= len(before) < len(rows)
    assert not (out / "results.csv").exists()

    assert main(["batch", str(manifest), "-o", str(out), "--threads-per-job", "1", *TINY]) == 0
    statuses = {r["output"]: r["status"] for r in results(out)}
    assert len(statuses) == len(rows)
    assert sorted(o for o, s in statuses.items() if s == "skipped") == sorted(before)
    assert all(s == "done" for o, s in statuses.items() if o not in before)
    assert {name: (out / name).stat().st_mtime_ns for name in before} == before


def _exit_in_task(code: int) -> int:
    if code:
        os._exit(code)
    return torch.get_num_threads()


def test_a_dying_worker_fails_its_task_only():
    with WorkerPool(1, threads=1) as pool:
        for tag, code in (("dies", 3), ("lives", 0), ("raises", "x")):
            pool.submit(tag, _exit_in_task, code)
        got = dict(pool.results())
    assert isinstance(got["dies"], WorkerDied) and "exit code 3" in str(got["dies"])
    assert got["lives"] == 1  # the replacement worker has the thread count too
    assert isinstance(got["raises"], TypeError)


def test_ray_engine_gives_the_local_engine_bits(sounds, tmp_path):
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install "
                                            "'audiostyle[ray]'; ./run test installs it)")
    from audiostyle.runs.ray_engine import RayEngine

    manifest = write_manifest(sounds / "jobs.csv", [
        {"content": "tune.wav", "style": "drums.wav"},
        {"content": "noise.wav", "style": "drums.wav", "seed": "3"},
        {"content": "tune.wav", "style": "noise.wav"},
        {"content": "tune.wav", "style": "gone.wav"},
    ])
    settings = {**TINY_SETTINGS, "seed": 0}
    options = {"shallow": {"kernel_width": 9}}
    local = batch(manifest, tmp_path / "local", extractor="shallow", options=options,
                  settings=settings, engine=engines.LocalEngine(1, threads=1), progress=False)
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    try:
        remote = batch(manifest, tmp_path / "ray", extractor="shallow", options=options,
                       settings=settings, engine=RayEngine(threads=1), progress=False)
        # a task size no node has is refused, not left waiting forever
        with pytest.raises(AudioStyleError, match=r"no Ray node has 3 CPUs and 0\.5 GPUs"):
            batch(manifest, tmp_path / "big", settings=settings, progress=False,
                  engine=RayEngine(threads=3, gpus_per_job=0.5))
    finally:
        ray.shutdown()
    assert [e.status for e in remote.entries] == ["done"] * 3 + ["failed"]
    assert remote.entries[3].error == local.entries[3].error
    for mine, theirs in zip(local.entries[:3], remote.entries[:3], strict=True):
        name = mine.record["audio"]
        assert theirs.record["audio"] == name
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()


def test_ray_options_choose_the_ray_engine(sounds, tmp_path, capsys):
    """--ray-address (or --gpus-per-job) without --engine means Ray; with --engine local it
    is refused; an address where nothing answers is said at once."""
    manifest = write_manifest(sounds / "jobs.csv", [{"content": "tune.wav", "style": "drums.wav"}])
    argv = ["batch", str(manifest), "-o", str(tmp_path / "out"), *TINY]
    assert main([*argv, "--engine", "local", "--ray-address", "127.0.0.1:1"]) == 2
    assert capsys.readouterr().err == ("audiostyle: error: --ray-address: only the Ray engine "
                                       "takes them; leave out --engine local\n")
    assert main([*argv, "--engine", "local", "--gpus-per-job", "-1"]) == 2
    assert "argument --gpus-per-job: must be 0 or more" in capsys.readouterr().err
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'audiostyle[ray]')")
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main([*argv, "--ray-address", f"127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    assert err == (f"audiostyle: error: cannot connect to the Ray cluster at 127.0.0.1:{port}: "
                   "nothing answers there; is its head running (`ray start --head`), and is "
                   "the port its --port?\n")


def test_manifests_carry_strength_and_the_rhythm_term(sounds, tmp_path):
    manifest = write_manifest(sounds / "jobs.csv", [
        {"content": "tune.wav", "style": "drums.wav", "rhythm_weight": "1",
         "rhythm_seconds": "0.1"},
        {"content": "tune.wav", "style": "drums.wav", "strength": "0.5"},
    ])
    out = tmp_path / "out"
    assert main(["batch", str(manifest), "-o", str(out), *TINY]) == 0
    rows = results(out)
    assert [r["status"] for r in rows] == ["done", "done"]
    assert rows[0]["output"] != rows[1]["output"]
    # the shared style statistics (with the rhythm term's targets) give the direct result
    settings = {**TINY_SETTINGS, "rhythm_weight": 1.0, "rhythm_seconds": 0.1}
    job = jobs.Job.make(sounds / "tune.wav", sounds / "drums.wav", "shallow", {},
                        settings)
    shared = jobs.compute_result(job, target=jobs.compute_style_target(job))
    direct = transfer(sounds / "tune.wav", sounds / "drums.wav", extractor="shallow",
                      progress=False, **settings)
    np.testing.assert_array_equal(shared.audio.samples, direct.audio.samples)
    plain = jobs.Job.make(sounds / "tune.wav", sounds / "drums.wav", "shallow", {},
                          TINY_SETTINGS)
    assert plain.style_key != job.style_key
    with pytest.raises(AudioStyleError, match="without a rhythm term"):
        jobs.compute_result(job, target=jobs.compute_style_target(plain))
