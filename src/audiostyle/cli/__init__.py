"""Command line: ``audiostyle transfer | texture | evaluate | grid | batch | demo | extractors |
stats | classify | weights | studio``.

User mistakes (bad files, options, paths) end with one line on stderr and exit status 2; a
failed optimisation or a system fault (out of memory, I/O error) with one line and status 1;
Ctrl-C saves the best result so far and exits with 130 (a second Ctrl-C exits at once, without
saving). SIGTERM (``kill``, systemd, a container's stop, a batch scheduler) is handled as Ctrl-C
is, says so, and exits with 143 (128 + its number, as a shell reports a process it ended, so a
scheduler sees what stopped it). When the reader of the output stops early (``| head``) the
command ends quietly with status 141, as a program killed by SIGPIPE would. Inputs are read and
the output place is checked before any work.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import traceback
from collections.abc import Sequence

from .._util import discard_partial_writes
from ..errors import AudioStyleError, SynthesisError
from .commands import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USER_ERROR
from .parser import FLAGS, build_parser

#: Exit status when stdout's reader has gone (128 + SIGPIPE, the shell's convention).
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_USER_ERROR", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    for stream in (sys.stdout, sys.stderr):  # file names that are not UTF-8: their own bytes
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="surrogateescape")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error (its one line is printed)
        return exc.code if isinstance(exc.code, int) else EXIT_USER_ERROR
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USER_ERROR
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO,
        format="%(message)s", stream=sys.stderr, force=True,
    )
    args.interrupts = _interrupt_handler()
    previous = {signum: signal.signal(signum, args.interrupts) for signum in STOP_SIGNALS}
    try:
        code = args.run(args)
        sys.stdout.flush()  # here, so that a reader that stopped early is seen here
        return code
    except BrokenPipeError:  # `| head`: the reader has what it wanted; nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except AudioStyleError as exc:
        print(f"audiostyle: error: {exc.naming(FLAGS)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except SynthesisError as exc:
        print(f"audiostyle: failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("audiostyle: interrupted before any result existed; nothing was written",
              file=sys.stderr)
        return args.interrupts.exit_code
    except MemoryError:
        print("audiostyle: failed: out of memory; try shorter sounds or chunks "
              "(--chunk-seconds), or fewer drawn filters (-X filters=…)", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"audiostyle: failed: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # a bug: one line, the traceback only when asked for
        if args.verbose:
            traceback.print_exc()
        print(f"audiostyle: internal error: {type(exc).__name__}: {exc} (rerun with "
              "--verbose for the traceback, and please report it)", file=sys.stderr)
        return EXIT_FAILED
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


#: The signals that stop a command as Ctrl-C does.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Interrupts:
    """The handler of :data:`STOP_SIGNALS`. The first: KeyboardInterrupt (the optimisation
    stops and keeps its best result); while the result is being written (:attr:`saving`) it
    only lets the write finish. A second: remove any half-written file and exit at once. The
    exit status is :attr:`exit_code` (that of the first)."""

    def __init__(self) -> None:
        self.count = 0
        self.saving = False
        self.signum: int | None = None

    @property
    def exit_code(self) -> int:
        """128 + the first signal's number: 130 for Ctrl-C (and before any), 143 for
        SIGTERM."""
        return 128 + (self.signum or signal.SIGINT)

    def __call__(self, signum: int, frame: object) -> None:
        self.count += 1
        if self.count == 1:
            self.signum = signum
            what = ("interrupted" if signum == signal.SIGINT else
                    f"terminated ({signal.Signals(signum).name})").encode()
            again = b"Ctrl-C again" if signum == signal.SIGINT else b"a second signal"
            if self.saving:
                os.write(2, b"\naudiostyle: " + what + b" while writing the result: finishing "
                            b"the write (" + again + b" to quit without it)\n")
                return
            os.write(2, b"\naudiostyle: " + what + b": keeping the best result so far, if "
                        b"there is one yet (" + again + b" to quit at once, without saving)\n")
            raise KeyboardInterrupt
        discard_partial_writes()
        second = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        os.write(2, f"\naudiostyle: second {second}: exiting now, without saving\n".encode())
        os._exit(self.exit_code)


def _interrupt_handler() -> _Interrupts:
    return _Interrupts()
