"""The Ray engine: each job a Ray task, on a local Ray instance or an existing cluster.

Needs the optional extra ``pip install 'audiostyle[ray]'`` (and audiostyle installed on every
node of a cluster). The driver reads the input files and puts each sound once into Ray's object
store, so the nodes need no shared file system; each distinct style's statistics are computed
once, as a task whose result stays in the object store and is passed to all jobs towards that
style; results come back to the driver, which writes them. Each task asks for ``threads`` CPUs
and ``gpus_per_job`` GPUs (fractions share a GPU) and sets torch to ``threads`` threads, so a
job gives the same bits as on the local engine with the same thread count.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import AudioStyleError
from ..io.audio import load_audio
from .engines import Outcome, by_style, job_task, outcome, target_task
from .jobs import Job


class RayEngine:
    """Jobs as Ray tasks.

    Args:
        address: a running cluster's address (``ray://HOST:10001`` or ``HOST:6379``, or
            ``auto``); None starts a local instance for the run (and stops it after).
        num_cpus: CPUs of that local instance (default: all).
        threads: CPUs (and torch threads) per task.
        gpus_per_job: GPUs per task (e.g. 1, or 0.5 to run two jobs per GPU).
    """

    def __init__(
        self,
        *,
        address: str | None = None,
        num_cpus: int | None = None,
        threads: int = 1,
        gpus_per_job: float = 0.0,
    ) -> None:
        if threads < 1 or gpus_per_job < 0:
            raise AudioStyleError(f"threads must be at least 1 and gpus per job at least 0, "
                                  f"got {threads} and {gpus_per_job}")
        self.address = address
        self.num_cpus = num_cpus
        self.threads = threads
        self.gpus_per_job = gpus_per_job

    def describe(self) -> str:
        where = f"cluster at {self.address}" if self.address else "local instance"
        gpus = f", {self.gpus_per_job:g} GPU" if self.gpus_per_job else ""
        return f"ray ({where}), {self.threads} CPU{gpus} per job"

    def run(self, jobs: Sequence[Job], *, device: str | None = None) -> Iterator[Outcome]:
        ray = import_ray()
        started = not ray.is_initialized()
        if started:
            ray.init(address=self.address, num_cpus=None if self.address else self.num_cpus,
                     include_dashboard=False, logging_level="WARNING")
        resources = {"num_cpus": self.threads, "num_gpus": self.gpus_per_job}
        target_remote = ray.remote(target_task).options(**resources)
        job_remote = ray.remote(job_task).options(**resources)
        sounds: dict[str, Any] = {}
        running: dict[Any, Job] = {}
        try:
            for group in by_style(jobs).values():
                style = _put(ray, sounds, group[0].style)
                if isinstance(style, Exception):
                    yield from (Outcome(job, None, style) for job in group)
                    continue
                target = target_remote.remote(group[0], style, device, self.threads)
                for job in group:
                    content = _put(ray, sounds, job.content)
                    if isinstance(content, Exception):
                        yield Outcome(job, None, content)
                        continue
                    running[job_remote.remote(job, content, target, device, self.threads)] = job
            while running:
                ready, _ = ray.wait(list(running), num_returns=1)
                yield outcome(running.pop(ready[0]), ray.get(ready[0]))
        finally:
            for ref in running:
                ray.cancel(ref, force=True)
            if started:
                ray.shutdown()


def import_ray() -> Any:
    """The ``ray`` module, or a user error saying how to install it."""
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise AudioStyleError("the ray engine needs Ray: pip install 'audiostyle[ray]' (or use "
                              "the local engine: `engine` local)") from None


def _put(ray: Any, sounds: dict[str, Any], path: str) -> Any:
    """The object reference of the sound at ``path`` (read and put once), or the error."""
    if path not in sounds:
        try:
            sounds[path] = ray.put(load_audio(path))
        except AudioStyleError as exc:
            sounds[path] = exc
    return sounds[path]
