"""``audiostyle studio``: its options and how it starts (the server is imported only here)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import webbrowser
from pathlib import Path

from ..errors import AudioStyleError


def add_parser(commands: argparse._SubParsersAction, parents: list) -> None:
    """Register the ``studio`` subcommand."""
    from .config import StudioConfig, default_data_dir

    defaults = StudioConfig()
    p = commands.add_parser("studio", parents=parents,
                            help="a local web app: drop sounds, watch the transfer, listen")
    p.add_argument("--port", type=int, default=defaults.port, help="port (default 7860)")
    p.add_argument("--host", default=defaults.host,
                   help="address to listen on (default 127.0.0.1; any other needs the access "
                        "token the studio prints)")
    p.add_argument("--data", default=None, metavar="DIR",
                   help=f"data folder for inputs and results (default {default_data_dir()})")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--max-upload-mb", type=float, default=defaults.max_upload_mb,
                   help=f"largest upload in MB (default {defaults.max_upload_mb:g})")
    p.add_argument("--max-seconds", type=float, default=defaults.max_seconds,
                   help=f"longest upload in seconds (default {defaults.max_seconds:g})")
    p.add_argument("--threads", type=int, default=defaults.threads,
                   help="torch threads of the worker (default: all cores)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from .app import create_app
    except ImportError as exc:
        raise AudioStyleError(f"the studio needs its extra ({exc.name} is missing): pip "
                              "install 'audiostyle[studio]'") from None
    from .config import StudioConfig, default_data_dir

    if not 0 <= args.port <= 65535:
        raise AudioStyleError(f"--port {args.port}: must be 0–65535")
    if not args.max_upload_mb > 0 or not args.max_seconds > 0 or args.threads < 1:
        raise AudioStyleError("--max-upload-mb, --max-seconds and --threads must be positive")
    config = StudioConfig(Path(args.data) if args.data else default_data_dir(), args.host,
                          args.port, None, args.max_upload_mb, args.max_seconds,
                          threads=args.threads).with_token()
    host = f"[{config.host}]" if ":" in config.host else config.host
    address = f"http://{host}:{config.port}/"
    if config.token:
        address += f"?token={config.token}"
        print(f"audiostyle studio: WARNING: listening on {config.host}, reachable from other "
              "machines: only those with the token below can use it, and traffic is not "
              "encrypted (prefer the default 127.0.0.1 and an SSH tunnel)", file=sys.stderr)
    print(f"audiostyle studio: {address}  (data in {config.data}; Ctrl-C stops)", flush=True)
    server = uvicorn.Server(uvicorn.Config(create_app(config), host=config.host,
                                           port=config.port, log_level="warning",
                                           timeout_graceful_shutdown=2))
    if not args.no_browser:
        threading.Timer(1.5, webbrowser.open, args=(address,)).start()
    # uvicorn stops on Ctrl-C, then raises it again: a plain KeyboardInterrupt here, not the
    # CLI's "keeping the best result" handler (nor asyncio's, which would cancel the shutdown)
    signal.signal(signal.SIGINT, _stop)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    print("audiostyle studio: stopped", file=sys.stderr)
    return 0


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
