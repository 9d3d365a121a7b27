"""``audiostyle studio``: its options and how it starts (the server is imported only here)."""

from __future__ import annotations

import argparse
import contextlib
import errno
import signal
import socket
import sys
from dataclasses import replace
from pathlib import Path

from ..errors import AudioStyleError
from . import config


def add_parser(commands: argparse._SubParsersAction, parents: list) -> None:
    """Register the ``studio`` subcommand (importing nothing: every CLI call builds it)."""
    p = commands.add_parser("studio", parents=parents,
                            help="a local web app: drop sounds, watch the transfer, listen")
    p.add_argument("--port", type=int, default=config.PORT,
                   help=f"port (default {config.PORT})")
    p.add_argument("--host", default=config.HOST,
                   help=f"address to listen on (default {config.HOST}; any other needs the "
                        "access token the studio prints)")
    p.add_argument("--data", default=None, metavar="DIR",
                   help="data folder for inputs and results (default: the user's data "
                        "folder, e.g. ~/.local/share/audiostyle/studio)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--max-upload-mb", type=float, default=config.MAX_UPLOAD_MB,
                   help=f"largest upload in MB (default {config.MAX_UPLOAD_MB:g})")
    p.add_argument("--max-seconds", type=float, default=config.MAX_SECONDS,
                   help=f"longest upload in seconds (default {config.MAX_SECONDS:g})")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads of the worker (default: all cores)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from .app import create_app
    except ImportError as exc:
        raise AudioStyleError(f"the studio needs its extra ({exc.name} is missing): pip "
                              "install 'audiostyle[studio]'") from None
    import threading
    import webbrowser

    if not 0 <= args.port <= 65535:
        raise AudioStyleError(f"--port {args.port}: must be 0–65535")
    if not args.max_upload_mb > 0 or not args.max_seconds > 0 or (
            args.threads is not None and args.threads < 1):
        raise AudioStyleError("--max-upload-mb, --max-seconds and --threads must be positive")
    settings = config.StudioConfig(
        Path(args.data) if args.data else config.default_data_dir(), args.host, args.port,
        max_upload_mb=args.max_upload_mb, max_seconds=args.max_seconds,
        **({"threads": args.threads} if args.threads else {})).with_token()
    # the port, then the data folder (claimed: locked, then cleaned): a studio that cannot
    # start says so in one line before it touches anything
    sock = _listen(settings.host, settings.port)
    try:
        settings = replace(settings, port=sock.getsockname()[1])  # (port 0: the system's)
        app = create_app(settings)
    except BaseException:
        sock.close()
        raise
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    address = f"http://{host}:{settings.port}/"
    if settings.token:
        address += f"?token={settings.token}"
        print(f"audiostyle studio: WARNING: listening on {settings.host}, reachable from other "
              "machines: only those with the token below can use it, and traffic is not "
              "encrypted (prefer the default 127.0.0.1 and an SSH tunnel)", file=sys.stderr)
    print(f"audiostyle studio: {address}  (data in {settings.data}; Ctrl-C stops)", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port,
                                           log_level="warning", timeout_graceful_shutdown=2))
    if not args.no_browser:
        threading.Timer(1.5, webbrowser.open, args=(address,)).start()
    # uvicorn stops on Ctrl-C or SIGTERM, then raises it again: a plain KeyboardInterrupt
    # here, not the CLI's "keeping the best result" handler (nor asyncio's, which would cancel
    # the shutdown); a server stopped so ends with status 0
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _stop)
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])
    print("audiostyle studio: stopped", file=sys.stderr)
    return 0


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host``:``port`` (uvicorn serves it), or a one-line
    :class:`AudioStyleError` (a port in use, an address not of this machine)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        raise AudioStyleError(f"--host {host}: cannot listen there ({exc.strerror or exc})"
                              ) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)  # (connections wait from now on, while the app starts)
    except OSError as exc:
        sock.close()
        why = "another program (or studio) listens there; stop it or choose another --port" \
            if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
        raise AudioStyleError(f"--host {host} --port {port}: cannot listen there ({why})"
                              ) from None
    return sock
