"""The weights cache: safetensors files with a JSON record holding their SHA-256.

Location: ``$AUDIOSTYLE_CACHE/weights`` if set, else the platform cache folder
(``~/.cache/audiostyle/weights`` on Linux).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import platformdirs
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .._util import temporary_file
from ..errors import AudioStyleError


@dataclass(frozen=True)
class Record:
    """What was installed: the file, its SHA-256, its source and when."""

    name: str
    path: str
    sha256: str
    bytes: int
    source: str
    installed: str


def cache_dir() -> Path:
    """Folder holding installed weights (created on demand)."""
    root = os.environ.get("AUDIOSTYLE_CACHE")
    base = Path(root) if root else Path(platformdirs.user_cache_dir("audiostyle"))
    return base / "weights"


def _paths(name: str) -> tuple[Path, Path]:
    folder = cache_dir()
    return folder / f"{name}.safetensors", folder / f"{name}.json"


def installed_path(name: str) -> Path:
    """Where the weights file of ``name`` is (or would be) in the cache."""
    return _paths(name)[0]


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_tensors(
    name: str, tensors: Mapping[str, np.ndarray | torch.Tensor], *, source: str
) -> Record:
    """Store ``tensors`` as ``<cache>/<name>.safetensors`` (atomically) and record its hash."""
    data, record_path = _paths(name)
    data.parent.mkdir(parents=True, exist_ok=True)
    contiguous = {
        key: torch.as_tensor(np.ascontiguousarray(value) if isinstance(value, np.ndarray)
                             else value).contiguous()
        for key, value in tensors.items()
    }
    fd, tmp = temporary_file(data.parent, data.name)
    try:
        save_file(contiguous, tmp, metadata={"name": name, "source": source})
        os.replace(tmp, data)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        os.close(fd)
    record = Record(name=name, path=str(data), sha256=sha256(data), bytes=data.stat().st_size,
                    source=source, installed=time.strftime("%Y-%m-%d %H:%M:%S"))
    record_path.write_text(json.dumps(asdict(record), indent=1) + "\n")
    _verified.cache_clear()
    return record


def read_record(name: str) -> Record:
    """The record of installed weights ``name`` (raises if not installed)."""
    _, record_path = _paths(name)
    try:
        return Record(**json.loads(record_path.read_text()))
    except (OSError, ValueError, TypeError):
        raise AudioStyleError(f"weights for {name!r} are not installed") from None


def verify(name: str) -> str:
    """``"verified"``, ``"missing"``, or a phrase saying what is wrong with the file."""
    data, record_path = _paths(name)
    if not data.exists() and not record_path.exists():
        return "missing"
    if not data.exists():
        return "are missing their file"
    try:
        record = read_record(name)
    except AudioStyleError:
        return "have no readable record"
    stat = data.stat()
    return _verified(str(data), stat.st_size, stat.st_mtime_ns, record.sha256)


@lru_cache(maxsize=16)
def _verified(path: str, size: int, mtime_ns: int, expected: str) -> str:
    """Hash check, cached per (file, size, mtime) within a process."""
    actual = sha256(Path(path))
    return "verified" if actual == expected else (
        f"do not match their recorded SHA-256 (expected {expected[:12]}…, found {actual[:12]}…:"
        " the file was changed or truncated)"
    )


def load_tensors(name: str) -> dict[str, torch.Tensor]:
    """Read the safetensors file of ``name`` (no hash check: call :func:`verify` first)."""
    data, _ = _paths(name)
    try:
        return load_file(str(data))
    except (SafetensorError, OSError) as exc:
        raise AudioStyleError(f"weights for {name!r} cannot be read ({exc})") from None
