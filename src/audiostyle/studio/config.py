"""The studio's settings (``audiostyle studio`` options) and their defaults.

Light on purpose: the CLI imports it to build its parser, so it imports nothing more.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

HOST = "127.0.0.1"
PORT = 7860
#: Largest upload in MiB and longest in seconds (snapshots of a long sound are large).
MAX_UPLOAD_MB = 100.0
MAX_SECONDS = 120.0
#: Most channels of an upload (FLAC's most: every result is also kept as FLAC).
MAX_CHANNELS = 8
#: Jobs that may wait at once.
MAX_QUEUE = 16
#: The names of this machine that a loopback studio answers to, exactly.
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (IPv6 with or without brackets) is exactly one of :data:`LOOPBACK`:
    a name that only begins like one (``127.0.0.1.evil.example``) is another machine, one a
    web page can point at any address (DNS rebinding)."""
    name = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    return name.lower() in LOOPBACK


def default_data_dir() -> Path:
    """Where results are kept unless ``--data`` says: the user's data folder."""
    import platformdirs

    return Path(platformdirs.user_data_dir("audiostyle")) / "studio"


@dataclass(frozen=True)
class StudioConfig:
    """How the studio runs.

    Attributes:
        data: the data folder (inputs, results, exports; see :mod:`.store`).
        host, port: where it listens; any host but a loopback one needs ``token``.
        token: the access token (None on loopback: none needed; see :mod:`.security`).
        max_upload_mb: largest upload, in MiB.
        max_seconds: longest upload, in seconds.
        max_queue: jobs that may wait at once.
        threads: torch threads of the worker process (default: the machine's cores).
    """

    data: Path = field(default_factory=default_data_dir)
    host: str = HOST
    port: int = PORT
    token: str | None = None
    max_upload_mb: float = MAX_UPLOAD_MB
    max_seconds: float = MAX_SECONDS
    max_queue: int = MAX_QUEUE
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)

    @property
    def local(self) -> bool:
        return is_loopback(self.host)

    def with_token(self) -> StudioConfig:
        """This configuration, with a fresh token when the host is not a loopback one."""
        import secrets

        if self.local or self.token:
            return self
        return replace(self, token=secrets.token_urlsafe(24))
