"""The server's side of the job queue: jobs in memory, one worker process, events.

Jobs wait in a queue (at most ``max_queue``) and run one at a time in the worker process
(:mod:`audiostyle.studio.worker`), which is started with the server and started again when it
dies: the job it held fails with a message, the next one runs. Every job keeps the list of its
events (``queued``, ``running``, ``progress``, ``snapshot``, ``evaluating``, then ``done``,
``failed`` or ``cancelled``), numbered from 0, which the server streams (server-sent events)
to any number of readers; :meth:`Runner.wait` wakes them when anything happens. All state is
touched from the event loop only; the worker's messages are read by a thread and handed to it.
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


class QueueFull(AudioStyleError):
    """The queue holds as many jobs as it may."""


@dataclass(frozen=True)
class Estimate:
    """A job's expected seconds (None until its extractor is measured), whether a
    measurement for it is under way, and why there is no number (``""`` when there is)."""

    seconds: float | None
    measuring: bool
    note: str


@dataclass
class Job:
    """A transfer (``kind="job"``, ``spec`` the checked job) or a snapshot to keep as a
    result (``kind="keep"``, ``spec`` what :mod:`.worker` needs for it)."""

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


class Runner:
    """The queue and its worker, for one data folder."""

    def __init__(self, store: Store, *, threads: int, max_queue: int) -> None:
        self.store = store
        self.threads = threads
        self.max_queue = max_queue
        self.jobs: dict[str, Job] = {}
        self.waiting: deque[str] = deque()
        self.running: str | None = None
        self.rates: dict[str, dict[str, float]] = self._read_rates()
        self._measuring: set[str] = set()
        self._failed: dict[str, str] = {}
        self._context = multiprocessing.get_context("spawn")
        self._changed = asyncio.Event()
        self._stopping = False
        self._pump: asyncio.Task | None = None

    # --- life ----------------------------------------------------------------------------

    async def start(self) -> None:
        self._start_worker()
        self._pump = asyncio.get_running_loop().create_task(self._read_outbox())

    async def stop(self) -> None:
        self._stopping = True
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        with contextlib.suppress(OSError, ValueError):
            self._inbox.put(None)
        self._process.join(timeout=2)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        if self.running:
            self.store.discard_work(self.running)

    def _start_worker(self) -> None:
        self._inbox = self._context.Queue()
        self._outbox = self._context.Queue()
        self._cancel = self._context.Event()
        self._process = self._context.Process(
            target=worker.main, name="audiostyle-studio-worker", daemon=True,
            args=(self._inbox, self._outbox, self._cancel, str(self.store.root), self.threads))
        self._process.start()

    @property
    def worker_pid(self) -> int | None:
        return self._process.pid

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

    def _queue(self, job: Job) -> Job:
        if len(self.waiting) >= self.max_queue:
            raise QueueFull(f"the queue is full ({self.max_queue} jobs waiting); wait for one "
                            "to finish or cancel one")
        self.jobs[job.id] = job
        self.waiting.append(job.id)
        self._post(job, "queued", position=len(self.waiting))
        self._dispatch()
        return job

    def cancel(self, ident: str) -> bool:
        """Cancel a waiting job (removed) or the running one (stops, keeps its best)."""
        job = self.jobs.get(ident)
        if job is None or job.state in FINAL:
            return False
        if ident in self.waiting:
            self.waiting.remove(ident)
            self._post(job, "cancelled", message="cancelled before it started")
            self._positions()
        else:
            self._cancel.set()
            self._post(job, "cancelling")
        return True

    async def wait(self, timeout: float) -> None:
        """Until anything happens (or ``timeout`` seconds)."""
        changed = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), timeout)

    # --- expected time ---------------------------------------------------------------------

    def estimate(self, spec: dict[str, Any], seconds: float, channels: int) -> Estimate:
        """Expected seconds of optimisation for ``spec`` on ``seconds`` of ``channels``
        content, from this machine's measurement of the extractor with these options (kept in
        ``DATA/speed.json``). Until measured, none: a measurement is queued for the worker
        (at most :data:`MAX_MEASUREMENTS` wait at once, each a few iterations ahead of the next
        job) and the estimate says why it has no number. Snapshots, the evaluation and the
        pictures come on top."""
        key = _rate_key(spec["extractor"], spec["options"])
        rates = self.rates.get(key)
        if rates is None:
            if key in self._failed:
                return Estimate(None, False, f"could not be measured: {self._failed[key]}")
            if key in self._measuring or self.measure(spec["extractor"], spec["options"]):
                return Estimate(None, True, "measuring how fast this runs on this machine")
            return Estimate(None, False, "other measurements are waiting; ask again shortly")
        work = seconds * channels
        first = rates.get(spec["domain"], max(rates.values()))
        return Estimate(work * (spec["iterations"] * first
                                + spec["refine_iterations"] * rates.get("waveform", first)),
                        False, "")

    def measure(self, extractor: str, options: dict[str, str]) -> bool:
        """Queue a measurement of ``extractor`` with ``options`` unless it is measured, waits
        or would be one too many; whether it was queued."""
        key = _rate_key(extractor, options)
        if key in self.rates or key in self._measuring or \
                len(self._measuring) >= MAX_MEASUREMENTS:
            return False
        self._measuring.add(key)
        self._inbox.put(("measure", key, {"extractor": extractor, "options": options}))
        return True

    # --- inside ------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        if self.running is None and self.waiting:
            ident = self.waiting.popleft()
            self.running = ident
            self._cancel.clear()
            self._inbox.put((self.jobs[ident].kind, ident, self.jobs[ident].spec))
            self._positions()

    def _positions(self) -> None:
        for position, ident in enumerate(self.waiting, start=1):
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
            elif not self._process.is_alive() and not self._stopping:
                self._worker_died()

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
        if event in FINAL:
            self.running = None
            self._dispatch()

    def _worker_died(self) -> None:
        code = self._process.exitcode
        ident, self.running = self.running, None
        log.error("the worker process ended (exit code %s); starting a new one", code)
        self._start_worker()
        self._measuring.clear()
        if ident is not None:
            self.store.discard_work(ident)
            self._post(self.jobs[ident], "failed", message=f"the worker process ended while "
                       f"running this job (exit code {code}); nothing was kept, and a new "
                       "worker takes the next job")
        self._dispatch()

    def _read_rates(self) -> dict[str, dict[str, float]]:
        path = self.store.root / "speed.json"
        with contextlib.suppress(OSError, ValueError):
            return json.loads(path.read_text(encoding="utf-8"))
        return {}

    def _write_rates(self) -> None:
        with contextlib.suppress(OSError):  # (a WriteError: only an estimate is lost)
            write_text(self.store.root / "speed.json", json.dumps(self.rates))


def _rate_key(extractor: str, options: dict[str, str]) -> str:
    return extractor + "".join(f" {k}={v}" for k, v in sorted(options.items()))
