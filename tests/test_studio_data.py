"""The studio's data folder: claimed (marked, locked) before anything in it is touched, so a
studio never deletes what is not its own. Through the command (`audiostyle studio`) in
processes of its own, as a user starts it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the studio extra is missing: pip install -e '.[studio]'")

from audiostyle.studio.store import MARKER, Store

#: A work folder as a running job has it (the studio's own naming: 16 hex digits).
JOB = "0123456789abcdef"


def _tree(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with its bytes (None: a folder)."""
    return {str(p.relative_to(folder)): None if p.is_dir() else p.read_bytes()
            for p in sorted(folder.rglob("*"))}


def _refused(cli, data: Path, folder: Path, *extra: str) -> str:
    """Start a studio on ``data`` that must refuse: its one line."""
    run = cli.run(["studio", "--no-browser", "--port", "0", "--data", data, *extra], folder,
                  timeout=120)
    assert run.status == 2, run.stderr
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("audiostyle: error: "), \
        run.stderr
    assert run.stdout == ""
    return run.stderr


def test_a_folder_that_is_not_a_studios_is_refused_not_cleaned(cli, tmp_path):
    mine = tmp_path / "mine"
    (mine / "work" / "proj").mkdir(parents=True)
    (mine / "work" / "proj" / "f").write_text("hi\n")
    (mine / "inputs").mkdir()
    (mine / "inputs" / ".notes.part").write_text("mine too\n")
    before = _tree(mine)
    line = _refused(cli, mine, tmp_path)
    assert line == (f"audiostyle: error: {mine}: not a studio data folder (it holds 'inputs', "
                    "which the studio did not make); give --data a new or empty folder\n")
    assert _tree(mine) == before


def _start(data: Path) -> tuple[subprocess.Popen, str]:
    """A studio on ``data`` in a process of its own, once it listens; and its port."""
    studio = subprocess.Popen(
        [sys.executable, "-m", "audiostyle.cli", "studio", "--no-browser", "--port", "0",
         "--data", str(data), "--threads", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = studio.stdout.readline()
    assert line.startswith("audiostyle studio: http://127.0.0.1:"), studio.stderr.read()
    return studio, line.split(":")[3].split("/")[0]


def _worker(server: int) -> int:
    """The pid of the studio worker that ``server`` started (not multiprocessing's resource
    tracker), once it runs."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            with contextlib.suppress(OSError, IndexError):
                parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
                command = (entry / "cmdline").read_bytes()
                if parent == server and b"spawn_main" in command:
                    return int(entry.name)
        time.sleep(0.1)
    raise TimeoutError("no worker process")


def test_the_worker_ends_with_its_server(tmp_path):
    studio, _ = _start(tmp_path / "data")
    worker = _worker(studio.pid)
    studio.kill()  # no shutdown: the worker must see it alone
    studio.communicate(timeout=60)
    deadline = time.monotonic() + 30
    try:
        while _running(worker):
            assert time.monotonic() < deadline, "the worker outlived its server"
            time.sleep(0.1)
    finally:
        if _running(worker):  # (it outlived its server: no orphan left behind)
            os.kill(worker, signal.SIGKILL)


def _running(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def _peak_mb(pid: int) -> float:
    """The most memory process ``pid`` has held (VmHWM), in MiB."""
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines()
                if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def test_checking_a_job_does_not_allocate_its_extractor_in_the_server(tmp_path):
    """20000 drawn random filters would take 0.9 GB: the check answers from their sizes."""
    studio, port = _start(tmp_path / "data")
    try:
        ask = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/jobs", method="POST",
            data=json.dumps({"extractor": "shallow", "options": {"form": "drawn",
                                                                 "filters": "20000"}}).encode(),
            headers={"Content-Type": "application/json"})
        before = _peak_mb(studio.pid)
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(ask, timeout=120)
        assert answer.value.code == 400
        assert set(json.loads(answer.value.read())["errors"]) == {"content", "styles"}
        assert _peak_mb(studio.pid) - before < 300
    finally:
        studio.send_signal(signal.SIGTERM)
        _, errors = studio.communicate(timeout=60)
    assert studio.returncode == 0 and errors.endswith("audiostyle studio: stopped\n"), errors


def test_a_second_studio_on_the_same_folder_refuses_before_touching_it(cli, tmp_path):
    data = tmp_path / "data"
    first, port = _start(data)
    try:
        assert (data / MARKER).read_text() == (f"audiostyle studio data folder, claimed by "
                                               f"process {first.pid}\n")
        # a job of the first studio is running: its snapshots must survive the second
        snapshot = data / "work" / JOB / "snapshots" / "0.wav"
        snapshot.parent.mkdir(parents=True)
        snapshot.write_bytes(b"RIFF")
        before = _tree(data)
        assert _refused(cli, data, tmp_path) == (
            f"audiostyle: error: {data}: in use by another studio (process {first.pid}); stop "
            "it, or give this one another --data folder\n")
        taken = _refused(cli, tmp_path / "other", tmp_path, "--port", port)
        assert taken.startswith(f"audiostyle: error: --host 127.0.0.1 --port {port}: cannot "
                                "listen there (another program (or studio) listens there")
        assert not (tmp_path / "other").exists()
        assert _tree(data) == before
    finally:
        first.send_signal(signal.SIGINT)
        _, errors = first.communicate(timeout=60)
    assert first.returncode == 0 and errors.endswith("audiostyle studio: stopped\n"), errors
    # stopped: the next studio takes the folder over, and its crash leftovers with it
    store = Store.claim(data)
    store.release()
    assert not (data / "work" / JOB).exists()


def test_only_leftovers_of_the_studios_own_naming_are_removed(tmp_path):
    Store.claim(tmp_path).release()  # an empty folder: marked as a studio's
    own = [tmp_path / "work" / JOB, tmp_path / "inputs" / f".{JOB}.part",
           tmp_path / "results" / f".{JOB}.part", tmp_path / "models" / f".{JOB}.part"]
    others = [tmp_path / "work" / "proj", tmp_path / "inputs" / ".notes.part",
              tmp_path / "results" / f".{JOB}0.part", tmp_path / "exports" / f".{JOB}.part",
              tmp_path / "models" / "mine", tmp_path / "mine.txt"]
    for path in own + others:
        path.mkdir() if path.suffix != ".txt" else path.write_text("x")
    store = Store.claim(tmp_path)
    store.release()
    assert [p.exists() for p in own] == [False] * 4
    assert all(p.exists() for p in others)


def test_an_earlier_studios_folder_is_adopted_and_a_lock_is_per_folder(tmp_path):
    for name in ("inputs", "work", "results", "exports"):
        (tmp_path / name).mkdir()
    (tmp_path / "speed.json").write_text("{}")
    (tmp_path / "work" / JOB).mkdir()
    store = Store.claim(tmp_path)
    try:
        assert (tmp_path / MARKER).is_file() and not (tmp_path / "work" / JOB).exists()
        assert (tmp_path / "models").is_dir()  # (an earlier studio had none)
        with pytest.raises(ValueError, match="in use by another studio"):
            Store.claim(tmp_path)
        other = Store.claim(tmp_path / "new")
        other.release()
    finally:
        store.release()
    Store.claim(tmp_path).release()  # released: free again
    (tmp_path / "note.txt").write_text("x")  # a marked folder may hold other files: kept
    Store.claim(tmp_path).release()
    assert (tmp_path / "note.txt").exists()
    assert os.listdir(tmp_path / "work") == []
