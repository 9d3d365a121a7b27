"""The studio's settings (``audiostyle studio`` options)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from .security import is_loopback


def default_data_dir() -> Path:
    """Where results are kept unless ``--data`` says: the user's data folder."""
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
    host: str = "127.0.0.1"
    port: int = 7860
    token: str | None = None
    max_upload_mb: float = 100.0
    max_seconds: float = 600.0
    max_queue: int = 16
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)

    @property
    def local(self) -> bool:
        return is_loopback(self.host)

    def with_token(self) -> StudioConfig:
        """This configuration, with a fresh token when the host is not a loopback one."""
        if self.local or self.token:
            return self
        return StudioConfig(self.data, self.host, self.port, secrets.token_urlsafe(24),
                            self.max_upload_mb, self.max_seconds, self.max_queue, self.threads)
