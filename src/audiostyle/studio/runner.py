"""The server's side of the job queue: jobs in memory, worker processes, events.

Jobs wait in a queue (at most ``max_queue`` in all) and run one at a time per *lane*, each lane
a worker process (:mod:`audiostyle.studio.worker`) started with its first job and started
again when it dies (the job it held fails with a message, the next one runs): the ``main``
lane runs the long jobs (transfers, learning a style model, speed measurements), the
``quick`` lane those that take about a page refresh (applying a style model, keeping a
snapshot), so that they never wait behind a long one. Every job keeps the list of its events
(``queued``, ``running``, ``progress``, ``snapshot``, ``evaluating``, then ``done``, ``failed``
or ``cancelled``), numbered from 0, which the server streams (server-sent events) to any number
of readers; :meth:`Runner.wait` wakes them when anything happens. All state is touched from the
event loop only; the workers' messages are read by a thread and handed to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import queue
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .._util import write_text
from ..errors import AudioStyleError
from . import worker
from .store import Store, new_id

log = logging.getLogger(__name__)

#: Events after which a job is over.
FINAL = ("done", "failed", "cancelled")


#: Measurements (for the expected time) that may wait at once.
MAX_MEASUREMENTS = 2
#: A finished job's share in its extractor's rates (:meth:`Runner._observed`).
OBSERVED_SHARE = 0.75


class QueueFull(AudioStyleError):
    """The queue holds as many jobs as it may."""


@dataclass(frozen=True)
class Estimate:
    """A job's expected seconds (None until its extractor is measured), whether a
    measurement for it is under way, and why there is no number (``""`` when there is)."""

    seconds: float | None
    measuring: bool
    note: str


#: The lane of each kind of job (see the module).
LANES = {"job": "main", "learn": "main", "apply": "quick", "keep": "quick"}


@dataclass
class Job:
    """A transfer (``kind="job"``, ``spec`` the checked job), a style model to learn
    (``"learn"``) or to apply (``"apply"``), or a snapshot to keep as a result (``"keep"``,
    ``spec`` what :mod:`.worker` needs for it)."""

    id: str
    spec: dict[str, Any]
    estimate: float | None = None
    kind: str = "job"
    state: str = "queued"
    events: list[dict[str, Any]] = field(default_factory=list)
    created: float = field(default_factory=time.time)

    def summary(self) -> dict[str, Any]:
        last = next((e for e in reversed(self.events) if e["event"] in ("progress", "snapshot")),
                    None)
        return {"id": self.id, "kind": self.kind, "state": self.state, "job": self.spec,
                "estimate": self.estimate,
                "created": self.created, "progress": last, "events": len(self.events)}


class _Lane:
    """A worker process and the jobs waiting for it; the process starts with the first task
    (:meth:`put`)."""

    def __init__(self, name: str, start: Any) -> None:
        self.name = name
        self._start = start
        self.process: Any = None
        self.waiting: deque[str] = deque()
        self.running: str | None = None

    def put(self, task: tuple) -> None:
        self.ready()
        self.inbox.put(task)

    def ready(self) -> None:
        """Start the worker unless it runs."""
        if self.process is None:
            self.start()

    def start(self) -> None:
        self.inbox, self.cancel, self.process = self._start(self.name)

    def died(self) -> bool:
        return self.process is not None and not self.process.is_alive()

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(OSError, ValueError):
            self.inbox.put(None)
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


class Runner:
    """The queue and its workers, for one data folder."""

    def __init__(self, store: Store, *, threads: int, max_queue: int) -> None:
        self.store = store
        self.threads = threads
        self.max_queue = max_queue
        self.jobs: dict[str, Job] = {}
        self.lanes = {name: _Lane(name, self._start_worker) for name in ("main", "quick")}
        self.rates: dict[str, dict[str, float]] = self._read_rates()
        self._measuring: set[str] = set()
        self._failed: dict[str, str] = {}
        self._context = multiprocessing.get_context("spawn")
        self._outbox = self._context.Queue()
        self._changed = asyncio.Event()
        self._stopping = False
        self._pump: asyncio.Task | None = None

    # --- life ----------------------------------------------------------------------------

    async def start(self) -> None:
        self.lanes["main"].start()  # (ready when the first job comes)
        if self.store.models():  # the quick lane too, so a first apply waits for no start-up
            self.lanes["quick"].start()
        self._pump = asyncio.get_running_loop().create_task(self._read_outbox())

    async def stop(self) -> None:
        self._stopping = True
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        for lane in self.lanes.values():
            lane.stop()
            if lane.running:
                self.store.discard_work(lane.running)

    def _start_worker(self, name: str) -> tuple[Any, Any, Any]:
        """A new worker process for lane ``name``: its inbox, cancel event and process."""
        inbox, cancel = self._context.Queue(), self._context.Event()
        process = self._context.Process(
            target=worker.main, name=f"audiostyle-studio-{name}", daemon=True,
            args=(inbox, self._outbox, cancel, str(self.store.root), self.threads))
        process.start()
        return inbox, cancel, process

    @property
    def worker_pid(self) -> int | None:
        """The main lane's worker process."""
        return self.lanes["main"].process.pid

    def _lane(self, job: Job) -> _Lane:
        """The lane that runs ``job``'s kind (:data:`LANES`)."""
        return self.lanes[LANES[job.kind]]

    @property
    def waiting(self) -> int:
        return sum(len(lane.waiting) for lane in self.lanes.values())

    # --- jobs ----------------------------------------------------------------------------

    def submit(self, spec: dict[str, Any], seconds: float, channels: int) -> Job:
        """Queue a checked job (:func:`.jobspec.check_job`) for ``seconds`` of ``channels``
        content."""
        return self._queue(Job(new_id(), spec, self.estimate(spec, seconds, channels).seconds))

    def keep(self, record: dict[str, Any], index: int) -> Job:
        """Queue making snapshot ``index`` of the result ``record`` a result of its own."""
        snapshot = next((s for s in record["snapshots"] if s["index"] == index), None)
        if snapshot is None:
            raise AudioStyleError(f"result {record['id']} has no snapshot {index}")
        spec = {"source": record["id"], "index": index, "job": record["job"],
                "snapshot": snapshot}
        return self._queue(Job(new_id(), spec, kind="keep"))

    def learn(self, spec: dict[str, Any]) -> Job:
        """Queue learning a style model (:func:`.jobspec.check_learn`)."""
        return self._queue(Job(new_id(), spec, 60 * spec["minutes"], kind="learn"))

    def apply(self, spec: dict[str, Any]) -> Job:
        """Queue applying a style model (:func:`.jobspec.check_apply`)."""
        return self._queue(Job(new_id(), spec, kind="apply"))

    def _queue(self, job: Job) -> Job:
        if self.waiting >= self.max_queue:
            raise QueueFull(f"the queue is full ({self.max_queue} jobs waiting); wait for one "
                            "to finish or cancel one")
        lane = self._lane(job)
        self.jobs[job.id] = job
        lane.waiting.append(job.id)
        self._post(job, "queued", position=len(lane.waiting))
        self._dispatch(lane)
        return job

    def cancel(self, ident: str) -> bool:
        """Cancel a waiting job (removed) or a running one (stops, keeps its best)."""
        job = self.jobs.get(ident)
        if job is None or job.state in FINAL:
            return False
        lane = self._lane(job)
        if ident in lane.waiting:
            lane.waiting.remove(ident)
            self._post(job, "cancelled", message="cancelled before it started")
            self._positions(lane)
        else:
            lane.cancel.set()
            self._post(job, "cancelling")
        return True

    async def wait(self, timeout: float) -> None:
        """Until anything happens (or ``timeout`` seconds)."""
        changed = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), timeout)

    # --- expected time ---------------------------------------------------------------------

    def estimate(self, spec: dict[str, Any], seconds: float, channels: int) -> Estimate:
        """Expected seconds of the job ``spec`` on ``seconds`` of ``channels`` content, from
        this machine's measurement of the extractor with these options (kept in
        ``DATA/speed.json``; every finished job updates it): its iterations and what it does
        besides (``worker.REST`` per second, ``worker.REST_PER_JOB`` once: the snapshots, the
        evaluation, the pictures); an iteration whose cost grows with the style's length
        (``worker.PER_STYLE_SECOND``) is scaled to the length of the job's styles. Until
        measured, none: a measurement is queued for the worker (at most
        :data:`MAX_MEASUREMENTS` wait at once, each a few iterations ahead of the next job)
        and the estimate says why it has no number."""
        key = _rate_key(spec["extractor"], spec["options"])
        rates = self.rates.get(key)
        if rates is None:
            if key in self._failed:
                return Estimate(None, False, f"could not be measured: {self._failed[key]}")
            if key in self._measuring or self.measure(spec["extractor"], spec["options"]):
                return Estimate(None, True, "measuring how fast this runs on this machine")
            return Estimate(None, False, "other measurements are waiting; ask again shortly")
        stages = _stage_rates(rates, self._style_seconds(spec))
        first = stages.get(spec["domain"], max(stages.values()))
        return Estimate(seconds * channels * (
            spec["iterations"] * first + spec["refine_iterations"] * stages.get("waveform", first)
            + rates.get(worker.REST, 0.0)) + rates.get(worker.REST_PER_JOB, 0.0), False, "")

    def _style_seconds(self, spec: dict[str, Any]) -> float:
        """Seconds of the styles of the job ``spec`` (all of a blend's) as uploaded; a style
        deleted since counts as the measured style's length."""
        found = [self.store.input(ident) for ident, _ in spec["styles"]]
        return sum(worker.MEASURE_STYLE_SECONDS if style is None else style.info["seconds"]
                   for style in found)

    def measure(self, extractor: str, options: dict[str, str]) -> bool:
        """Queue a measurement of ``extractor`` with ``options`` unless it is measured, waits
        or would be one too many; whether it was queued."""
        key = _rate_key(extractor, options)
        if key in self.rates or key in self._measuring or \
                len(self._measuring) >= MAX_MEASUREMENTS:
            return False
        self._measuring.add(key)
        self.lanes["main"].put(("measure", key, {"extractor": extractor, "options": options}))
        return True

    # --- inside ------------------------------------------------------------------------------

    def _dispatch(self, lane: _Lane) -> None:
        if lane.running is None and lane.waiting:
            ident = lane.waiting.popleft()
            lane.running = ident
            job = self.jobs[ident]
            lane.ready()
            lane.cancel.clear()
            lane.put((job.kind, ident, job.spec))
            self._positions(lane)

    def _positions(self, lane: _Lane) -> None:
        for position, ident in enumerate(lane.waiting, start=1):
            self._post(self.jobs[ident], "queued", position=position)

    def _post(self, job: Job, event: str, **data: Any) -> None:
        job.events.append({"seq": len(job.events), "event": event, "time": time.time(), **data})
        if event in ("running", "done", "failed", "cancelled"):
            job.state = event
        old, self._changed = self._changed, asyncio.Event()
        old.set()

    async def _read_outbox(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            message = await loop.run_in_executor(None, self._next_message)
            if message is not None:
                self._handle(*message)
                continue
            for lane in self.lanes.values():
                if lane.died() and not self._stopping:
                    self._worker_died(lane)

    def _next_message(self) -> tuple | None:
        try:
            return self._outbox.get(timeout=0.2)
        except (queue.Empty, OSError, ValueError, EOFError):
            return None

    def _handle(self, ident: str | None, event: str, data: dict[str, Any]) -> None:
        if event == "measured":
            self._measuring.discard(ident)
            if "rates" in data:
                self.rates[ident] = data["rates"]
                self._write_rates()
            else:  # (kept: it would fail again, asked again)
                self._failed[ident] = data.get("error", "failed")
                log.warning("measurement %s failed: %s", ident, data.get("error"))
            return
        job = self.jobs.get(ident or "")
        if job is None:
            return
        if "traceback" in data:
            log.error("job %s: %s", ident, data.pop("traceback"))
        self._post(job, event, **data)
        if job.kind == "job" and event == "done":
            self._observed(job, data["record"])
        if job.kind == "learn" and event == "done":  # a model to apply soon: start its lane
            self.lanes["quick"].ready()
        lane = self._lane(job)
        if event in FINAL and lane.running == ident:
            lane.running = None
            self._dispatch(lane)

    def _observed(self, job: Job, record: dict[str, Any]) -> None:
        """Fold a finished transfer's own seconds per iteration, and those of the rest of the
        job, into its extractor's rates (:data:`OBSERVED_SHARE` of the job's, the remainder
        the rate known before). The first measurement times a few iterations of a short
        sound, whose fixed costs and warm-up overstate a whole job's by up to 1.6×
        (benchmarks/RESULTS.md, *speed*), and the machine's load changes; the jobs themselves
        show its speed as it runs now."""
        running = next((e for e in job.events if e["event"] == "running"), None)
        work = 0 if running is None else running["seconds"] * running["channels"]
        if work <= 0 or record.get("cancelled"):
            return
        key = _rate_key(job.spec["extractor"], job.spec["options"])
        rates = dict(self.rates.get(key, {}))
        beyond = self._style_seconds(job.spec) - worker.MEASURE_STYLE_SECONDS
        # the iterations alone (a stage's seconds include its snapshots: a fixed number per
        # job, so they belong with the rest, not with the iterations)
        iterating = {name: stage["seconds"] - stage.get("snapshot_seconds", 0.0)
                     for name, stage in record["stages"].items()}
        observed = {name: iterating[name] / stage["iterations"] / work
                    for name, stage in record["stages"].items() if stage["iterations"] > 0}
        # (kept as the rates are: at the measured style's length)
        observed = {name: _at_style(rate, rates.get(name + worker.PER_STYLE_SECOND, 0.0),
                                    -beyond) for name, rate in observed.items()}
        wall = job.events[-1]["time"] - running["time"]  # (the last event: this job's done)
        observed[worker.REST] = max(wall - sum(iterating.values())
                                    - rates.get(worker.REST_PER_JOB, 0.0), 0.0) / work
        for name, rate in observed.items():
            rates[name] = rate if name not in rates else (
                OBSERVED_SHARE * rate + (1 - OBSERVED_SHARE) * rates[name])
        self.rates[key] = rates
        self._write_rates()

    def _worker_died(self, lane: _Lane) -> None:
        code = lane.process.exitcode
        ident, lane.running = lane.running, None
        log.error("the %s worker process ended (exit code %s); starting a new one", lane.name,
                  code)
        lane.start()
        if lane.name == "main":
            self._measuring.clear()
        if ident is not None:
            self.store.discard_work(ident)
            self._post(self.jobs[ident], "failed", message=f"the worker process ended while "
                       f"running this job (exit code {code}); nothing was kept, and a new "
                       "worker takes the next job")
        self._dispatch(lane)

    def _read_rates(self) -> dict[str, dict[str, float]]:
        path = self.store.root / "speed.json"
        with contextlib.suppress(OSError, ValueError):
            return json.loads(path.read_text(encoding="utf-8"))
        return {}

    def _write_rates(self) -> None:
        with contextlib.suppress(OSError):  # (a WriteError: only an estimate is lost)
            write_text(self.store.root / "speed.json", json.dumps(self.rates))


def _stage_rates(rates: dict[str, float], style_seconds: float) -> dict[str, float]:
    """Each stage's seconds per iteration per second of content from the measured ``rates``,
    for styles ``style_seconds`` long."""
    beyond = style_seconds - worker.MEASURE_STYLE_SECONDS
    return {name: _at_style(rate, rates.get(name + worker.PER_STYLE_SECOND, 0.0), beyond)
            for name, rate in rates.items()
            if name not in (worker.REST, worker.REST_PER_JOB)
            and not name.endswith(worker.PER_STYLE_SECOND)}


def _at_style(rate: float, growth: float, beyond: float) -> float:
    """A stage's ``rate`` at the measured style's length moved to a style ``beyond`` seconds
    longer (negative: shorter), at ``growth`` per second of style; never below a tenth of
    ``rate`` (a growth measured on a short sound is rough)."""
    return max(rate + growth * beyond, rate / 10)


def _rate_key(extractor: str, options: dict[str, str]) -> str:
    return extractor + "".join(f" {k}={v}" for k, v in sorted(options.items()))
