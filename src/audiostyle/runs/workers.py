"""A pool of worker processes that survives a dying worker and stops at once on Ctrl-C.

Each worker is a *spawned* process (no fork of a parent that already runs threads) with its
torch thread count set once, so that ``workers × threads`` fits the machine. It ignores Ctrl-C
(the parent stops it), ends when the parent is gone (killed), and runs one task at a time, so
the parent always knows which task a worker was running when it died (out of memory, killed):
that task fails with a message and a fresh worker takes the next one. Task functions must be
importable (module level) and their arguments and results picklable; an exception a task
raises is its result.
"""

from __future__ import annotations

import multiprocessing
import pickle
import queue
import signal
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Any

import torch

from .._util import exit_with_parent

#: Seconds between checks that the busy workers are still alive.
_POLL_SECONDS = 0.2


class WorkerDied(RuntimeError):
    """A worker process ended while running a task."""


@dataclass
class _Slot:
    process: multiprocessing.process.BaseProcess
    inbox: Any
    tag: Hashable | None = None


class WorkerPool:
    """``workers`` processes with ``threads`` torch threads each; use as a context manager.

    :meth:`submit` queues a task under a unique ``tag``; :meth:`results` yields ``(tag,
    value)`` pairs as tasks finish, until nothing is queued or running (tasks may be submitted
    while iterating). Leaving the ``with`` block terminates the workers, finished or not.
    """

    def __init__(self, workers: int, threads: int) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._threads = threads
        self._outbox = self._context.Queue()
        self._queued: deque[tuple[Hashable, Callable, tuple]] = deque()
        self._slots = [self._start() for _ in range(workers)]

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for slot in self._slots:
            if slot.tag is None:
                slot.inbox.put(None)
            else:
                slot.process.terminate()
        for slot in self._slots:
            slot.process.join(timeout=_POLL_SECONDS * 10)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()
            slot.process.close()
            slot.inbox.close()
        self._outbox.close()
        self._outbox.join_thread()

    def submit(self, tag: Hashable, function: Callable, *args: Any) -> None:
        """Queue ``function(*args)``; its result is yielded under ``tag``."""
        self._queued.append((tag, function, args))

    def results(self) -> Iterator[tuple[Hashable, Any]]:
        """``(tag, result or exception)`` of each task as it finishes."""
        while self._queued or any(slot.tag is not None for slot in self._slots):
            for index, slot in enumerate(self._slots):
                if slot.tag is not None and not slot.process.is_alive():
                    code = slot.process.exitcode
                    slot.process.close()
                    slot.inbox.close()
                    self._slots[index] = self._start()
                    yield slot.tag, WorkerDied(f"its worker process died (exit code {code}; "
                                               "out of memory, or killed?)")
                if self._queued and self._slots[index].tag is None:
                    tag, function, args = self._queued.popleft()
                    self._slots[index].tag = tag
                    self._slots[index].inbox.put((tag, function, args))
            try:
                tag, value = self._outbox.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                continue
            for slot in self._slots:
                if slot.tag == tag:
                    slot.tag = None
                    yield tag, value

    def _start(self) -> _Slot:
        inbox = self._context.SimpleQueue()
        process = self._context.Process(target=_serve, args=(inbox, self._outbox, self._threads),
                                        daemon=True)
        process.start()
        return _Slot(process, inbox)


def _serve(inbox: Any, outbox: Any, threads: int) -> None:
    """A worker's loop: run tasks from ``inbox``, put ``(tag, result)`` on ``outbox``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent()
    torch.set_num_threads(threads)
    for tag, function, args in iter(inbox.get, None):
        try:
            value = function(*args)
        except Exception as exc:
            value = exc
        if isinstance(value, Exception) and not _picklable(value):
            value = RuntimeError(f"{type(value).__name__}: {value}")
        outbox.put((tag, value))


def _picklable(value: object) -> bool:
    try:
        pickle.dumps(value)
    except Exception:
        return False
    return True
