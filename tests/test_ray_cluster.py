"""Batch runs on a real two-node Ray cluster on this machine, started as an operator starts
one (``ray start --head``, then ``ray start --address=…``, token authentication on), driven
through the command line: jobs spread over both nodes and say where they ran, give the local
engine's bits, and a head lost mid-run still ends with the summary and results.csv."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("ray", reason="Ray is not installed (pip install 'audiostyle[ray]'; "
                                  "./run test installs it)")

from conftest import SR, TINY_CLI

RAY = Path(sys.executable).with_name("ray")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """A head and one more node on loopback, each with ``cpus`` CPUs; every process of it
    names :attr:`temp` (its own temp folder, short: Ray's socket paths must fit 107 bytes),
    which is how it is stopped: by the ids of those processes, never by ``ray stop``, which
    would stop every Ray on the machine."""

    def __init__(self, cpus: int = 1) -> None:
        self.temp = tempfile.mkdtemp(prefix="asray", dir="/tmp")
        self.port = _free_port()
        # the token in the environment, not ~/.ray/auth_token (another user's cluster's)
        self.env = {**os.environ, "RAY_AUTH_MODE": "token",
                    "RAY_AUTH_TOKEN": secrets.token_hex(16), "RAY_USAGE_STATS_ENABLED": "0"}
        common = [f"--num-cpus={cpus}", "--disable-usage-stats",
                  f"--dashboard-agent-listen-port={_free_port()}"]
        self._ray("start", "--head", f"--port={self.port}", "--node-ip-address=127.0.0.1",
                  "--include-dashboard=false", f"--dashboard-port={_free_port()}",
                  f"--temp-dir={self.temp}", *common)
        self.head = self.processes()
        self._ray("start", f"--address=127.0.0.1:{self.port}", *common)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _ray(self, *argv: str) -> None:
        done = subprocess.run([str(RAY), *argv], env=self.env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]

    def processes(self) -> set[int]:
        """Every process of the cluster (and those they started)."""
        mine = set()
        for entry in Path("/proc").iterdir():
            try:
                if self.temp.encode() in (entry / "cmdline").read_bytes():
                    mine.add(int(entry.name))
            except (OSError, ValueError):
                continue
        return mine | {child for pid in mine for child in _children(pid)}

    def kill(self, pids: set[int]) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        for _ in range(3):  # (raylets start workers until they are gone)
            self.kill(self.processes())
            time.sleep(0.5)
        shutil.rmtree(self.temp, ignore_errors=True)


def _children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(child) for child in found]


@pytest.fixture(scope="module")
def cluster():
    started = Cluster()
    yield started
    started.stop()


def _rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "results.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def _batch(manifest: Path, out: Path, *extra: str, env: dict | None = None,
           until=None) -> subprocess.CompletedProcess:
    """``audiostyle batch`` in a process of its own; ``until(process)`` runs while it does."""
    child = subprocess.Popen([sys.executable, "-m", "audiostyle.cli", "batch", str(manifest),
                              "-o", str(out), *TINY_CLI, *extra], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        if until is not None:
            until(child)
        stdout, stderr = child.communicate(timeout=300)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    return subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, melody, bongos) -> Path:
    folder = tmp_path_factory.mktemp("ray-inputs")
    sf.write(folder / "tune.wav", melody[:SR], SR)
    sf.write(folder / "drums.wav", bongos[:SR], SR)
    sf.write(folder / "noise.wav", 0.1 * np.random.default_rng(0).standard_normal(SR), SR)
    return folder


def _manifest(folder: Path, name: str, seeds, iterations: int) -> Path:
    path = folder / name
    path.write_text("content,style,seed,iterations\n" + "".join(
        f"tune.wav,{'drums' if seed % 2 else 'noise'}.wav,{seed},{iterations}\n"
        for seed in seeds))
    return path


def test_jobs_spread_over_the_nodes_say_where_and_give_the_local_bits(cluster, inputs,
                                                                       tmp_path):
    manifest = _manifest(inputs, "quick.csv", range(4), 3)
    # --ray-address alone chooses the Ray engine
    run = _batch(manifest, tmp_path / "ray", "--ray-address", cluster.address, env=cluster.env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"ray (cluster at {cluster.address})" in run.stdout
    rows = _rows(tmp_path / "ray")
    assert [r["status"] for r in rows] == ["done"] * 4
    records = [json.loads((tmp_path / "ray" / r["output"]).with_suffix(".json").read_text())
               for r in rows]
    nodes = {r["ran_on"]["ray_node"] for r in records}
    assert len(nodes) == 2, nodes  # both nodes ran jobs
    assert all(r["ran_on"]["host"] == socket.gethostname() for r in records)
    assert all("(ray node " in r["ran_on"] for r in rows)
    local = _batch(manifest, tmp_path / "local", "--threads-per-job", "1")
    assert local.returncode == 0, local.stderr[-3000:]
    for row in rows:
        ours = (tmp_path / "ray" / row["output"]).read_bytes()
        assert ours == (tmp_path / "local" / row["output"]).read_bytes()


def test_a_driver_without_the_clusters_token_is_told_what_it_needs(cluster, inputs,
                                                                     tmp_path):
    # no RAY_AUTH_* and no ~/.ray/auth_token: as on a machine where nobody set them up
    env = {k: v for k, v in cluster.env.items() if not k.startswith("RAY_AUTH")}
    run = _batch(_manifest(inputs, "one.csv", range(1), 3), tmp_path / "out", "--ray-address",
                 cluster.address, env={**env, "HOME": str(tmp_path)})
    assert run.returncode == 2, run.stderr[-3000:]
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith(f"audiostyle: error: cannot connect to the Ray cluster at "
                           f"{cluster.address} (")
    assert last.endswith("needs RAY_AUTH_MODE=token and its token (~/.ray/auth_token or "
                         "RAY_AUTH_TOKEN) here too, as on its nodes")


def test_a_head_lost_mid_run_still_gives_the_summary_and_results(cluster, inputs, tmp_path):
    """(Last: it kills the cluster's head.)"""
    manifest = _manifest(inputs, "slow.csv", range(10, 16), 300)
    out = tmp_path / "out"

    def kill_the_head_after_the_first_result(child: subprocess.Popen) -> None:
        deadline = time.monotonic() + 240
        while not list(out.glob("*.json")):
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        cluster.kill(cluster.head | {c for pid in cluster.head for c in _children(pid)})

    run = _batch(manifest, out, "--ray-address", cluster.address, env=cluster.env,
                 until=kill_the_head_after_the_first_result)
    assert run.returncode == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert "audiostyle: failed: the Ray cluster's head at" in run.stderr
    assert "stopped answering" in run.stderr and "run the same command again" in run.stderr
    rows = _rows(out)
    done = [r for r in rows if r["status"] == "done"]
    assert done and len(done) < 6 and {r["status"] for r in rows} <= {"done", "not run"}
    assert f"done     {len(done):5d}" in run.stdout and "not run" in run.stdout
    assert "lost: the Ray cluster's head" in run.stdout
    # what finished is whole: a rerun of those rows (here, on this machine) skips them all
    seeds = [json.loads((out / r["output"]).with_suffix(".json").read_text())["job"][
        "settings"]["seed"] for r in done]
    finished = _manifest(inputs, "finished.csv", seeds, 300)
    again = _batch(finished, out, "--engine", "local")
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"skipped  {len(done):5d}" in again.stdout and "done         0" in again.stdout
