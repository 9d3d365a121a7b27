"""Small helpers several rooms share: strict JSON, file-name slugs, file digests, atomic text
files and the rule for replacing outputs, the memory this machine has, and the "did you mean"
hint of one-line errors."""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import hashlib
import json
import math
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .errors import AudioStyleError, WriteError


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


def check_replaceable(path: str | os.PathLike) -> None:
    """Refuse (:class:`AudioStyleError`) to replace ``path`` when it exists and is read-only:
    write-protected (no owner write bit, which binds root too) or not writable by this user.
    Outputs are written to a temporary file and renamed, which only needs the folder to be
    writable, so without this check a protected file would be replaced silently."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # nothing there yet (or not readable: the write says why)
    if stat.S_ISREG(mode) and (not mode & stat.S_IWUSR or not os.access(path, os.W_OK)):
        raise AudioStyleError(f"{path}: the existing file is read-only; make it writable "
                              f"(chmod u+w) or choose another path")


def file_mode(path: str | os.PathLike) -> int:
    """Permission bits of a file written at ``path``: those of the file it replaces, else a
    new file's (``0666`` less the umask, as ``open()`` gives)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def temporary_file(folder: Path, name: str) -> tuple[int, str]:
    """A new file ``folder/.NAME.XXXXXXXX.part`` (``XXXXXXXX``: :func:`tempfile.mkstemp`'s 8
    characters) to write ``NAME`` through, open (``(fd, path)``) and locked
    (:func:`fcntl.flock`) until its descriptor is closed. Those a killed process left beside
    ``NAME`` (the same pattern, no longer locked) are removed first; nothing else is. Write,
    then :func:`os.replace` it onto ``NAME`` before closing, so that it is never unlocked while
    it exists. Raises :class:`OSError` when the folder takes no new file."""
    remove_stale_temporaries(folder, name)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
    fcntl.flock(fd, fcntl.LOCK_EX)  # new: nobody else holds it
    return fd, tmp


def remove_stale_temporaries(folder: Path, name: str) -> list[str]:
    """Remove the temporary files of writes to ``folder/NAME`` that were never finished
    (:func:`temporary_file`'s naming, regular files that no running write holds locked);
    returns their names."""
    pattern = re.compile(rf"\.{re.escape(name)}\.[a-z0-9_]{{8}}\.part")
    removed = []
    with contextlib.suppress(OSError):
        candidates = [entry.name for entry in os.scandir(folder)
                      if pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False)]
        for candidate in candidates:
            try:
                fd = os.open(folder / candidate, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.unlink(folder / candidate)
                removed.append(candidate)
            except OSError:  # locked: a write in progress (or already gone)
                pass
            finally:
                os.close(fd)
    return removed


def write_text(path: Path, text: str) -> Path:
    """Write ``path`` atomically: readers see the old file or the whole new one. Outputs follow
    :func:`check_replaceable` and :func:`file_mode`; a failed write (disk full) raises
    :class:`WriteError` naming ``path``, leaving the old file as it was. What an earlier write
    that was killed left beside ``path`` is removed (:func:`temporary_file`)."""
    return write_bytes(path, text.encode("utf-8"))


#: Temporary files being written now; removed by :func:`discard_partial_writes`.
_WRITING: set[str] = set()


def discard_partial_writes() -> None:
    """Remove the temporary files of writes in progress (for an immediate exit)."""
    for tmp in list(_WRITING):
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically, as :func:`write_text` writes text."""
    check_replaceable(path)
    mode = file_mode(path)
    try:
        fd, tmp = temporary_file(path.parent, path.name)
    except OSError as exc:
        raise WriteError(f"{path}: could not be written ({exc.strerror or exc})") from None
    _WRITING.add(tmp)
    try:
        os.fchmod(fd, mode)  # mkstemp makes 0600
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.replace(tmp, path)  # before the lock goes with the descriptor
    except OSError as exc:
        raise WriteError(f"{path}: could not be written ({exc.strerror or exc}); the old "
                         "file, if any, is unchanged") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        _WRITING.discard(tmp)
    return path


def exit_with_parent() -> None:
    """In a worker process started by :mod:`multiprocessing`: end it at once when the process
    that started it is gone (killed, crashed), so that no worker outlives its server or run,
    holding its memory or finishing a job nobody waits for. A daemon thread waits on the
    parent's sentinel (a pipe that closes when the parent ends)."""
    import multiprocessing
    import threading

    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def available_memory() -> int:
    """Bytes of memory this machine can give now without swapping (Linux: ``MemAvailable``;
    elsewhere the free physical pages)."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            line = next(x for x in meminfo if x.startswith("MemAvailable:"))
        return int(line.split()[1]) * 1024
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_memory(need: float, what: str, fix: Callable[[int], str]) -> None:
    """Refuse (:class:`AudioStyleError`) work that needs ``need`` bytes when this machine has
    less available (:func:`available_memory`); the message says ``what`` needs it and
    ``fix(bytes available)``."""
    have = available_memory()
    if need > have:
        raise AudioStyleError(f"{what} would take about {size_text(need)} of memory, more "
                              f"than the {size_text(have)} available; {fix(have)}")


def size_text(count: float) -> str:
    """Bytes in words, in powers of 1000: ``"512 B"``, ``"3.2 GB"``."""
    if count < 1000:
        return f"{count:.0f} B"
    for unit in ("kB", "MB", "GB"):
        count /= 1000
        if count < 1000:
            return f"{count:.1f} {unit}"
    return f"{count / 1000:.1f} TB"
