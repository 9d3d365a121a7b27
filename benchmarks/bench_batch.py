"""Batch throughput: jobs per minute with 1 vs 2 local workers, and the Ray engine's overhead.

The same manifest runs on each engine in a fresh process: N transfers of 2 s of the demo
melody (and of noise) towards 2 s styles (bongo loop, noise), shallow extractor with 512
drawn filters, 20 spectrogram-domain L-BFGS iterations then 10 waveform ones. Wall time includes the
engine's start-up (spawning workers, which import torch; starting Ray), which is also measured
alone: a pool (or a Ray instance) running one trivial task per worker that imports audiostyle.
Ray's overhead per job is its time per job after start-up minus the local engine's at the same
parallelism (2 jobs at once, 1 thread each).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from common import Section, machine, measure, table

SR = 22050
ITERATIONS = 20


def _manifest(folder: Path, jobs: int) -> Path:
    import numpy as np
    import soundfile as sf

    from audiostyle.demo import bongo_loop, canon_melody

    noise = 0.1 * np.random.default_rng(0).standard_normal(2 * SR)
    sf.write(folder / "tune.wav", canon_melody(SR)[: 2 * SR], SR)
    sf.write(folder / "drums.wav", bongo_loop(SR, seconds=2.0), SR)
    sf.write(folder / "noise.wav", noise, SR)
    pairs = [("tune.wav", "drums.wav"), ("noise.wav", "drums.wav"), ("tune.wav", "noise.wav")]
    rows = [f"{c},{s},{seed}" for seed in range(jobs) for c, s in pairs][:jobs]
    (folder / "jobs.csv").write_text("content,style,seed\n" + "\n".join(rows) + "\n")
    return folder / "jobs.csv"


def throughput(engine: str, workers: int, threads: int, jobs: int) -> dict:
    """Seconds to run the manifest on an engine, and the engine's start-up alone."""
    from audiostyle.runs.batch import batch
    from audiostyle.runs.engines import LocalEngine
    from audiostyle.runs.jobs import slug  # a trivial task that imports audiostyle (and torch)
    from audiostyle.runs.workers import WorkerPool

    settings = {"iterations": ITERATIONS, "refine_iterations": 10, "seed": 0}
    options = {"shallow": {"form": "drawn", "filters": 512}}
    with tempfile.TemporaryDirectory() as tmp:
        manifest = _manifest(Path(tmp), jobs)
        began = time.perf_counter()
        if engine == "ray":
            import ray

            from audiostyle.runs.ray_engine import RayEngine

            ray.init(num_cpus=workers * threads, include_dashboard=False,
                     logging_level="ERROR", log_to_driver=False)
            ray.get([ray.remote(slug).options(num_cpus=threads).remote("warm")
                     for _ in range(workers)])
            startup = time.perf_counter() - began
            runner = RayEngine(threads=threads)
        else:
            if workers > 1:
                with WorkerPool(workers, threads) as pool:
                    for index in range(workers):
                        pool.submit(index, slug, "warm")
                    list(pool.results())
            startup = time.perf_counter() - began
            runner = LocalEngine(workers, threads)
        began = time.perf_counter()
        summary = batch(manifest, Path(tmp) / "out", extractor="shallow", options=options,
                        settings=settings, engine=runner, progress=False)
        seconds = time.perf_counter() - began
        if engine == "ray":
            ray.shutdown()
    done = summary.counts["done"]
    synthesis = sum(entry.record["seconds"] for entry in summary.entries)
    return {"seconds": seconds, "startup": startup, "jobs": done, "synthesis": synthesis}


def run(quick: bool) -> Section:
    jobs = 2 if quick else 8
    configs = [("local", 1, 2), ("local", 2, 1), ("ray", 2, 1)]
    rows, steady = [], {}
    for engine, workers, threads in configs:
        got = measure("bench_batch:throughput", engine=engine, workers=workers,
                      threads=threads, jobs=jobs)
        # A local pool starts with the run (its start-up is in "seconds"); Ray was up before.
        running = got["seconds"] - (got["startup"] if engine == "local" else 0.0)
        steady[(engine, workers)] = running / got["jobs"]
        total = got["seconds"] + (got["startup"] if engine == "ray" else 0.0)
        rows.append([engine, f"{workers} × {threads}", got["jobs"], total, got["startup"],
                     60 * got["jobs"] / total, 60 / steady[(engine, workers)],
                     got["synthesis"] / got["jobs"], got["peak_mib"]])
    overhead = steady[("ray", 2)] - steady[("local", 2)]
    speedup = steady[("local", 1)] / steady[("local", 2)]
    markdown = (
        f"{__doc__.strip()}\n\nMachine: {machine()}. {jobs} jobs, shallow (512 filters), 2 s "
        f"clips, {ITERATIONS} + 10 iterations.\n\n"
        + table(["engine", "workers × threads", "jobs", "wall s", "start-up s",
                 "jobs/min (with start-up)", "jobs/min (after start-up)",
                 "synthesis s/job (in the job)", "driver peak MiB"], rows)
        + f"\n\n2 local workers × 1 thread vs 1 × 2 threads, after start-up: {speedup:.2f}× "
        f"the throughput. Ray's overhead per job over the local pool: {overhead:+.2f} s "
        f"({overhead / steady[('local', 2)]:+.0%}).\n"
    )
    return Section("batch", "Batch throughput (local workers, Ray)", markdown)
