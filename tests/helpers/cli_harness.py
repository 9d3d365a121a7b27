"""Run the CLI in child processes quickly: a fork server that imports audiostyle once.

Starting a Python process that imports torch takes seconds on a busy machine; the fault tests
run the CLI dozens of times. The server (this file, run as a script) imports
:mod:`audiostyle.cli` and nothing else, then for each request forks a child that sets up its
own process state (environment, working folder, file size limit, user) and runs
``audiostyle.cli.main(argv)`` exactly as the ``audiostyle`` command does: its exit status is
the process's, its stdout/stderr go to files, an uncaught exception prints a traceback and
exits with 1 as the interpreter would. The parent only imports: it runs no torch computation.

Protocol (JSON lines): request ``{"argv", "stdout", "stderr", "env", "cwd", "fsize", "user",
"prelude"}`` → reply ``{"pid"}`` at once, then ``{"status"}`` when the child has ended.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


def _child(request: dict) -> None:
    """In the forked child: set up the process, run the CLI, exit with its status."""
    import importlib
    import resource
    import signal
    import traceback

    for fd, name in ((1, "stdout"), (2, "stderr")):
        os.dup2(os.open(request[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
    os.environ.update(request.get("env") or {})
    os.chdir(request["cwd"])
    if request.get("fsize") is not None:  # a full disk: writes past this size fail (EFBIG)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (request["fsize"], request["fsize"]))
    if request.get("user") is not None:  # an unprivileged user, so that permissions apply
        os.setgroups([])
        os.setgid(request["user"])
        os.setuid(request["user"])
    code = 1
    try:
        if request.get("prelude"):
            importlib.import_module(request["prelude"])
        from audiostyle.cli import main

        code = main(request["argv"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve() -> None:
    """The server loop: one child at a time."""
    import torch

    # the parser imports the studio's command: preloaded, a child run as an unprivileged user
    # needs no read access to a checkout only its owner may read
    import audiostyle.cli
    import audiostyle.extractors.shallow
    import audiostyle.studio.command  # noqa: F401

    # the optimisers import torch's compiler stack on first use (seconds); no computation here
    for optimizer in (torch.optim.LBFGS, torch.optim.Adam):
        optimizer([torch.zeros(1, requires_grad=True)])

    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"status": os.waitstatus_to_exitcode(status)}), flush=True)


@dataclass
class Run:
    """A finished CLI run."""

    status: int
    stdout: str
    stderr: str
    seconds: float


class Server:
    """The client side: start the server, run CLI commands through it."""

    def __init__(self) -> None:
        tests = Path(__file__).resolve().parent.parent
        # the server runs in tests/, where preludes are ``helpers.NAME``: a relative entry
        # (PYTHONPATH=src) must name the same folder
        paths = [os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                 if p]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests), *paths]),
               "PYTHONWARNINGS": "error",
               # the runs are small: one thread avoids waiting on a busy machine
               "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, env=env, cwd=str(tests),
        )
        self.counter = 0
        self.running: int | None = None  # pid of the child that has not been waited for

    def close(self) -> None:
        """Stop the server, and the last child if a failed test left it running."""
        if self.running is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.running, signal.SIGKILL)
        self.proc.stdin.close()
        self.proc.wait(timeout=60)
        self.proc.stdout.close()

    def start(self, argv: list[str], folder: Path, **options) -> Child:
        """Start ``audiostyle ARGV`` with stdout/stderr in ``folder``; options: ``env``,
        ``cwd``, ``fsize`` (bytes), ``user`` (uid/gid), ``prelude`` (module to import, e.g.
        ``helpers.cli_moments``)."""
        self.counter += 1
        logs = folder / f"cli-{self.counter}"
        request = {"argv": [str(a) for a in argv], "stdout": f"{logs}.out",
                   "stderr": f"{logs}.err", "cwd": str(options.pop("cwd", folder)), **options}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        self.running = json.loads(self._line(60))["pid"]
        return Child(self, self.running, Path(request["stdout"]), Path(request["stderr"]))

    def run(self, argv: list[str], folder: Path, timeout: float = 300, **options) -> Run:
        """Run ``audiostyle ARGV`` to the end."""
        return self.start(argv, folder, **options).wait(timeout)

    def _line(self, timeout: float) -> str:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError(f"no answer from the CLI server in {timeout} s")
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the CLI server ended")
        return line


@dataclass
class Child:
    """A CLI process that is running."""

    server: Server
    pid: int
    stdout_path: Path
    stderr_path: Path

    def __post_init__(self) -> None:
        self.began = time.monotonic()

    def stderr(self) -> str:
        """What the child wrote to stderr so far ("" before it opened the file)."""
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for(self, text: str, timeout: float = 300) -> None:
        """Wait until stderr contains ``text``."""
        deadline = time.monotonic() + timeout
        while text not in self.stderr():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{text!r} not seen; stderr: {self.stderr()[-2000:]}")
            time.sleep(0.05)

    def wait(self, timeout: float = 300) -> Run:
        status = json.loads(self.server._line(timeout))["status"]
        self.server.running = None
        return Run(status, self.stdout_path.read_text(errors="replace"), self.stderr(),
                   time.monotonic() - self.began)


if __name__ == "__main__":
    serve()
