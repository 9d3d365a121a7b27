"""The Ray engine: each job a Ray task, on a local Ray instance or an existing cluster.

Needs the optional extra ``pip install 'audiostyle[ray]'`` (and audiostyle installed on every
node of a cluster; how to start one: docs/guide.md, "A Ray cluster"). The driver reads the input
files and puts each sound once into Ray's object store, so the nodes need no shared file
system; each distinct style's statistics are computed once, as a task whose result stays in the
object store and is passed to all jobs towards that style; results come back to the driver,
which writes them. Each task asks for ``threads`` CPUs and ``gpus_per_job`` GPUs (fractions
share a GPU) and sets torch to ``threads`` threads, so a job gives the same bits as on the
local engine with the same thread count. Ray retries the tasks of a node that dies; when the
cluster's head stops answering, the engine raises :class:`~.engines.EngineLost` after the
outcomes it has, before Ray's own timeout would end the process.
"""

from __future__ import annotations

import importlib
import socket
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import AudioStyleError
from ..io.audio import Audio, load_audio
from .engines import EngineLost, Outcome, by_style, job_task, outcome, target_task
from .jobs import Job

#: Seconds between checks that the cluster's head answers while no job finishes.
POLL_SECONDS = 1.0
#: Seconds the head may not answer before the run stops (Ray ends a driver after 60).
HEAD_GRACE_SECONDS = 10.0


class RayEngine:
    """Jobs as Ray tasks.

    Args:
        address: a running cluster's address (``HOST:6379``, ``auto``, or
            ``ray://HOST:10001`` with Ray Client installed); None starts a local instance for
            the run (and stops it after).
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
            self._connect(ray)
        try:
            self._check_fits(ray)
        except BaseException:
            if started:
                ray.shutdown()
            raise
        head = _head_address(ray)
        resources = {"num_cpus": self.threads, "num_gpus": self.gpus_per_job}
        target_remote = ray.remote(_target_task).options(**resources)
        job_remote = ray.remote(_job_task).options(**resources)
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
            silent_since = None
            while running:
                ready, _ = ray.wait(list(running), num_returns=1, timeout=POLL_SECONDS)
                if ready:
                    job = running.pop(ready[0])
                    try:
                        value = ray.get(ready[0])
                    except ray.exceptions.RayError as exc:  # (its node died, Ray gave up)
                        value = exc
                    yield outcome(job, value)
                    continue
                if head is None or _answers(head):
                    silent_since = None
                elif silent_since is None:
                    silent_since = time.monotonic()
                elif time.monotonic() - silent_since > HEAD_GRACE_SECONDS:
                    raise EngineLost(
                        f"the Ray cluster's head at {head[0]}:{head[1]} stopped answering; "
                        f"{len(running)} job{'s' * (len(running) != 1)} did not finish")
        finally:
            for ref in running:
                ray.cancel(ref, force=True)
            if started:
                ray.shutdown()

    def _check_fits(self, ray: Any) -> None:
        """Refuse (one line) a task size no node has (Ray would wait for it forever)."""
        nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
        if not any(n.get("CPU", 0) >= self.threads and n.get("GPU", 0) >= self.gpus_per_job
                   for n in nodes):
            most = max(((n.get("CPU", 0), n.get("GPU", 0)) for n in nodes), default=(0, 0))
            raise AudioStyleError(
                f"no Ray node has {self.threads} CPU{'s' * (self.threads != 1)} and "
                f"{self.gpus_per_job:g} GPU{'s' * (self.gpus_per_job != 1)} for a job (the "
                f"largest has {most[0]:g} and {most[1]:g}); lower `threads` or `gpus_per_job`")

    def _connect(self, ray: Any) -> None:
        """Start a local instance, or connect to the cluster at :attr:`address` (a one-line
        :class:`AudioStyleError` when that fails: nothing there, or token authentication)."""
        head = _host_port(self.address)
        if head is not None and not _answers(head):  # (Ray would retry for minutes)
            raise AudioStyleError(f"cannot connect to the Ray cluster at {self.address}: "
                                  "nothing answers there; is its head running (`ray start "
                                  "--head`), and is the port its --port?")
        try:
            ray.init(address=self.address, num_cpus=None if self.address else self.num_cpus,
                     include_dashboard=False, logging_level="WARNING")
        except Exception as exc:  # Ray's own types vary with how it fails
            if self.address is None:
                raise
            detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise AudioStyleError(
                f"cannot connect to the Ray cluster at {self.address} ({detail}); is its head "
                "running there? A cluster with token authentication (Ray turns it on for "
                "`ray start --head`) needs RAY_AUTH_MODE=token and its token (~/.ray/auth_token "
                "or RAY_AUTH_TOKEN) here too, as on its nodes") from None


def import_ray() -> Any:
    """The ``ray`` module, or a user error saying how to install it."""
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise AudioStyleError("the ray engine needs Ray: pip install 'audiostyle[ray]' (or use "
                              "the local engine: `engine` local)") from None


def _target_task(job: Job, style: Audio, device: str | None, threads: int) -> Any:
    """:func:`~.engines.target_task` on a sound from the object store (read-only there)."""
    return target_task(job, _writable(style), device, threads)


def _job_task(job: Job, content: Audio, target: Any, device: str | None, threads: int) -> Any:
    """:func:`~.engines.job_task` on a sound from the object store (read-only there)."""
    return job_task(job, _writable(content), target, device, threads)


def _writable(audio: Audio) -> Audio:
    """``audio`` with samples torch may take without a warning (a copy of read-only ones)."""
    if audio.samples.flags.writeable:
        return audio
    return Audio(np.array(audio.samples), audio.sr, audio.name)


def _head_address(ray: Any) -> tuple[str, int] | None:
    """``(host, port)`` of the cluster's head (its GCS), or None when unknown (Ray Client)."""
    try:
        return _host_port(ray.get_runtime_context().gcs_address)
    except Exception:  # (no such attribute: Ray Client)
        return None


def _host_port(address: str | None) -> tuple[str, int] | None:
    """``(host, port)`` of an address ``HOST:PORT`` (None for ``auto``, ``ray://…``, none)."""
    host, _, port = (address or "").rpartition(":")
    if not host or "/" in address or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def _answers(head: tuple[str, int], timeout: float = 1.0) -> bool:
    """Whether ``head`` takes a TCP connection within ``timeout`` seconds."""
    try:
        socket.create_connection(head, timeout=timeout).close()
    except OSError:
        return False
    return True


def _put(ray: Any, sounds: dict[str, Any], path: str) -> Any:
    """The object reference of the sound at ``path`` (read and put once), or the error."""
    if path not in sounds:
        try:
            sounds[path] = ray.put(load_audio(path))
        except AudioStyleError as exc:
            sounds[path] = exc
    return sounds[path]
