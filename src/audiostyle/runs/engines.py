"""Running many jobs: in this process, on local worker processes, or on a Ray cluster.

An engine takes :class:`~audiostyle.runs.jobs.Job` s and yields one :class:`Outcome` per job as it
finishes (in any order); it writes nothing. The statistics of each distinct style (style file ×
extractor × options × rate, :attr:`Job.style_key`) are computed once, as a task of their own,
and handed to every job towards that style. A job that fails (bad input, failed optimisation,
a dying worker) gives an outcome with its error; the others go on. An engine that can run no
more jobs (a Ray cluster's head lost) raises :class:`EngineLost` once the outcomes it has are
given.

:func:`completed` saves results into a folder as they arrive; :func:`run_jobs` is the resumable
run (finished jobs are skipped) that ``audiostyle grid`` uses. The Ray engine lives in
:mod:`audiostyle.runs.ray_engine` (optional extra ``audiostyle[ray]``).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from tqdm.auto import tqdm

from ..errors import AudioStyleError, Interrupted, WriteError
from ..io.audio import AudioLike
from ..synthesis.pipeline import Result
from ..synthesis.targets import StyleTarget
from .jobs import Job, compute_result, compute_style_target, read_record, save_result, write_record
from .workers import WorkerPool

log = logging.getLogger(__name__)

#: ``measure(job, audio_path) -> dict``: metrics stored in a record under ``"metrics"``.
Measure = Callable[[Job, Path], dict]


class EngineLost(RuntimeError):
    """The engine can run no more jobs (a Ray cluster's head was lost): the jobs that finished
    are kept, the others did not run."""


@dataclass
class Outcome:
    """A finished job: its result, or the error that stopped it (exactly one is None), and
    where it ran (:func:`ran_on`)."""

    job: Job
    result: Result | None
    error: Exception | None
    wall_seconds: float = 0.0
    ran_on: dict[str, str] = field(default_factory=dict)


class Engine(Protocol):
    """Runs jobs (unique keys) and yields their outcomes as they finish."""

    def describe(self) -> str:
        """One line for summaries, e.g. ``local, 2 workers × 1 thread``."""

    def run(self, jobs: Sequence[Job], *, device: str | None = None) -> Iterator[Outcome]:
        """One outcome per job; stops the work still running when closed early."""


class LocalEngine:
    """Jobs on this machine: in this process (``workers=1``) or in worker processes.

    Args:
        workers: jobs run at once (1: in this process, which keeps Ctrl-C's "stop and keep
            the best result so far" behaviour of a single transfer).
        threads: torch threads per job (default: the usable cores divided by ``workers``, at
            least 1). The result of a job depends on it in the last bits (summation order).
    """

    def __init__(self, workers: int = 1, threads: int | None = None) -> None:
        if workers < 1 or (threads is not None and threads < 1):
            raise AudioStyleError(f"workers and threads must be at least 1, got {workers} and "
                                  f"{threads}")
        self.workers = workers
        self.threads = threads or max(1, len(os.sched_getaffinity(0)) // workers)

    def describe(self) -> str:
        return (f"local, {self.workers} worker{'s' * (self.workers > 1)} × {self.threads} "
                f"thread{'s' * (self.threads > 1)}")

    def run(self, jobs: Sequence[Job], *, device: str | None = None) -> Iterator[Outcome]:
        groups = by_style(jobs)
        if self.workers == 1:
            for group in groups.values():
                target = target_task(group[0], None, device, self.threads)
                for job in group:
                    yield outcome(job, job_task(job, None, target, device, self.threads))
            return
        unique = jobs_by_key(jobs)
        with WorkerPool(min(self.workers, len(unique)), self.threads) as pool:
            for key, group in groups.items():
                pool.submit(("target", key), target_task, group[0], None, device, None)
            for (kind, key), value in pool.results():
                if kind == "job":
                    yield outcome(unique[key], value)
                    continue
                for job in groups[key]:
                    if isinstance(value, Exception):
                        yield Outcome(job, None, value)
                    else:
                        pool.submit(("job", job.key), job_task, job, None, value, device, None)


def target_task(
    job: Job, style: AudioLike | None, device: str | None, threads: int | None
) -> StyleTarget | Exception:
    """The statistics of ``job``'s style, or the exception that stopped them (any process)."""
    try:
        with torch_threads(threads):
            return compute_style_target(job, style, device=device)
    except Exception as exc:
        return _failure(exc)


def job_task(
    job: Job,
    content: AudioLike | None,
    target: StyleTarget | Exception,
    device: str | None,
    threads: int | None,
) -> tuple[Result, float, dict[str, str]] | Exception:
    """``(result, wall seconds, where it ran)`` of ``job`` towards ``target``, or the
    exception."""
    if isinstance(target, Exception):
        return target
    began = time.perf_counter()
    try:
        with torch_threads(threads):
            result = compute_result(job, content, target, device=device)
    except Exception as exc:
        return _failure(exc)
    return result, time.perf_counter() - began, ran_on()


def ran_on() -> dict[str, str]:
    """Where this process runs, for a job's record: ``{"host": its name}``, and in a Ray task
    also ``{"ray_node": the node's id}`` (nodes may share a host)."""
    where = {"host": socket.gethostname()}
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        with contextlib.suppress(Exception):  # (outside a task: the driver has none)
            where["ray_node"] = ray.get_runtime_context().get_node_id()
    return where


def outcome(job: Job, value: tuple[Result, float, dict[str, str]] | Exception) -> Outcome:
    """The :class:`Outcome` of a :func:`job_task` value."""
    if isinstance(value, Exception):
        return Outcome(job, None, value)
    result, wall_seconds, where = value
    return Outcome(job, result, None, wall_seconds, where)


def by_style(jobs: Iterable[Job]) -> dict[str, list[Job]]:
    """Jobs (unique keys) grouped by :attr:`Job.style_key`, in first-seen order."""
    groups: dict[str, list[Job]] = {}
    for job in jobs_by_key(jobs).values():
        groups.setdefault(job.style_key, []).append(job)
    return groups


def jobs_by_key(jobs: Iterable[Job]) -> dict[str, Job]:
    return {job.key: job for job in jobs}


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` torch threads (None: as it is)."""
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def completed(
    jobs: Sequence[Job], folder: Path, *, engine: Engine, device: str | None = None
) -> Iterator[tuple[Job, dict[str, Any] | Exception]]:
    """Run ``jobs`` on ``engine``, saving each result into ``folder`` as it arrives.

    Yields ``(job, record)`` or ``(job, the exception that failed it)``. When Ctrl-C stopped
    a job, its best result so far is saved (an unfinished record, :func:`save_result`) and
    :class:`~audiostyle.errors.Interrupted` is raised with ``partial = (job, record)``; before
    any result existed, KeyboardInterrupt. Either stops the engine's work.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for done in engine.run(jobs, device=device):
        if done.error is not None:
            yield done.job, done.error
            continue
        try:
            record = save_result(done.job, folder, done.result, wall_seconds=done.wall_seconds,
                                 ran_on=done.ran_on)
        except (AudioStyleError, WriteError) as exc:  # (a read-only old file, a full disk)
            yield done.job, exc
            continue
        if record.get("interrupted"):
            raise Interrupted((done.job, record))
        yield done.job, record


def run_jobs(
    jobs: Iterable[Job],
    folder: str | os.PathLike,
    *,
    measure: Measure | None = None,
    device: str | None = None,
    engine: Engine | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Run ``jobs`` into ``folder``, skipping finished ones; records in the order of ``jobs``.

    Jobs with the same key run once. With ``measure``, every record also gets ``"metrics"``
    (computed here, once, for old records too). The first failed job's error is raised once
    the jobs already running have finished. One progress bar counts jobs.
    """
    jobs = list(jobs)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    unique = jobs_by_key(jobs)
    records = {key: read_record(job, folder) for key, job in unique.items()}
    todo = [job for key, job in unique.items() if records[key] is None]
    unmeasured = [job for key, job in unique.items() if records[key] is not None
                  and measure is not None and "metrics" not in records[key]]
    failures: list[Exception] = []
    with tqdm(total=len(unique), initial=len(unique) - len(todo) - len(unmeasured), unit="run",
              disable=not progress, dynamic_ncols=True) as bar:
        finished = ((job, records[job.key]) for job in unmeasured)
        running = completed(todo, folder, engine=engine or LocalEngine(), device=device)
        for job, record in itertools.chain(finished, running):
            if isinstance(record, Exception):
                failures.append(record)
                continue
            if measure is not None and "metrics" not in record:
                record["metrics"] = measure(job, folder / record["audio"])
                write_record(folder, job, record)
            records[job.key] = record
            bar.set_postfix_str(job.label, refresh=False)
            bar.update(1)
    if failures:
        raise failures[0]
    return [records[job.key] for job in jobs]


def _failure(exc: Exception) -> Exception:
    """``exc`` as a task's result (its traceback logged at debug level)."""
    log.debug("task failed", exc_info=exc)
    return exc
