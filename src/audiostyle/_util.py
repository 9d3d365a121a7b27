"""Small helpers several rooms share: strict JSON, file-name slugs, file digests, atomic text
files and the "did you mean" hint of one-line errors."""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import AudioStyleError


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``" Did you mean 'x'?"`` for the closest of ``choices`` to a mistyped ``word``, or
    ``""`` when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def number_text(value: float | str | None, spec: str = ".2f") -> str:
    """``value`` formatted by ``spec``; ``"n/a"`` for None and NaN, never ``-0.0``. A JSON
    string ``"inf"``, ``"-inf"`` or ``"nan"`` counts as its number."""
    number = math.nan if value is None else float(value)
    if math.isnan(number):
        return "n/a"
    text = format(number, spec)
    return format(0.0, spec) if math.isfinite(number) and float(text) == 0 else text


def described(name: str, items: Iterable[tuple[str, Any]]) -> str:
    """``name (key=value, …)`` of the ``items`` whose value is not None, sorted by key;
    ``name`` alone without any, the inner list alone without a name."""
    inner = ", ".join(f"{k}={v}" for k, v in sorted(items) if v is not None)
    return f"{name} ({inner})" if name and inner else name or inner


def to_json(value: Any, *, indent: int | None = 2) -> str:
    """Strict JSON of nested dicts/lists: ``inf``, ``-inf`` and ``nan`` become strings."""
    def safe(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
        if isinstance(v, dict):
            return {str(k): safe(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [safe(x) for x in v]
        return v

    return json.dumps(safe(value), indent=indent, allow_nan=False, ensure_ascii=False)


def slug(text: str, limit: int = 40) -> str:
    """``text`` reduced to ``[A-Za-z0-9_-]`` (others become ``_``), at most ``limit`` long."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")[:limit] or "sound"


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a file's bytes; :class:`AudioStyleError` when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError:
        raise AudioStyleError(f"{path}: no such file") from None
    except OSError as exc:
        raise AudioStyleError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return digest.hexdigest()


def write_text(path: Path, text: str) -> Path:
    """Write ``path`` atomically: readers see the old file or the whole new one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path
