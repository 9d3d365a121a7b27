"""The studio's data folder: uploaded inputs and finished results, on disk.

Layout (every id is made here, 16 hex digits; no name from a user is ever part of a path)::

    DATA/inputs/<ID>/sound.EXT  the uploaded bytes (EXT from a fixed list, or none)
    DATA/inputs/<ID>/play.wav   the decoded sound for the browser (16-bit WAV)
    DATA/inputs/<ID>/spectrogram.png, input.json (original name, duration, rate, channels)
    DATA/work/<ID>/             a running job's files (snapshots, then the result)
    DATA/results/<ID>/          a finished result: result.wav/.flac, spectrograms, snapshots,
                                record.json (settings, metrics, inputs)
    DATA/models/<ID>/           a learned style model: model.style, its previews
                                (snapshots/K.wav), record.json (its header, styles, previews)
    DATA/exports/NAME/          listening pages

    DATA/.audiostyle-studio     the mark of a studio's data folder, locked while one runs

A folder appears under ``inputs/``, ``results/`` or ``models/`` only complete, by renaming it
from a hidden ``.<ID>.part`` or from ``work/``, so a crash or a full disk never leaves half of
one in the history. The server claims the folder when it starts (:meth:`Store.claim`): it marks
a new (or empty) folder as a studio's and locks the mark for as long as it runs, so a second
studio on the same folder refuses to start, touching nothing; a folder that holds anything else
is refused, never cleaned. Only then are the leftovers of a crash removed, and only those of
the studio's own naming (``work/<ID>``, and ``.<ID>.part`` in ``inputs/``, ``results/`` and
``models/``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import soundfile as sf

from .._util import to_json, write_text
from ..errors import AudioStyleError
from ..io.audio import Audio, check_rate, load_audio, save_audio, silence, to_mono
from ..report.plots import colour_range, log_spectrogram, save_spectrogram
from .config import MAX_CHANNELS

#: Extensions an upload keeps (libsndfile mostly reads the format from the bytes anyway).
EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff", ".aifc", ".au", ".w64")
_ID = re.compile(r"^[0-9a-f]{16}$")
#: Files of a result that may be served, by the name in its URL.
RESULT_FILES = ("result.wav", "result.flac", "spectrogram-result.png",
                "spectrogram-content.png", "spectrogram-style.png")


#: The file that marks a studio's data folder (locked while a studio runs on it) and its text.
MARKER = ".audiostyle-studio"
MARK_TEXT = "audiostyle studio data folder, claimed by process"
#: The data folder's parts.
FOLDERS = ("inputs", "work", "results", "exports", "models")
#: What an earlier studio made, without a mark: these folders (it had no ``models``) and files.
_EARLIER_FOLDERS = ("inputs", "work", "results", "exports")
_EARLIER_FILES = ("speed.json", ".speed.json.part")
#: The parts whose folders appear complete by renaming (their ``.<ID>.part`` are leftovers).
_RENAMED = ("inputs", "results", "models")
#: A style model's file in its folder.
MODEL_FILE = "model.style"


def _foreign(root: Path) -> list[str]:
    """Names in ``root`` (unmarked) that show it is not a studio's folder: all of them, unless
    it is empty or laid out by an earlier studio (:data:`FOLDERS`, each a folder, and its
    speed measurements)."""
    try:
        names = sorted(os.listdir(root))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise AudioStyleError(f"{root}: cannot be read ({exc.strerror or exc})") from None
    earlier = all((root / name).is_dir() and not (root / name).is_symlink()
                  for name in _EARLIER_FOLDERS) and set(names) <= {*FOLDERS, *_EARLIER_FILES}
    return [] if earlier else names


def new_id() -> str:
    return secrets.token_hex(8)


def valid_id(text: str) -> bool:
    return bool(_ID.match(text))


@dataclass(frozen=True)
class Input:
    """An uploaded (or demo) sound: ``info`` is what input.json holds."""

    id: str
    folder: Path
    info: dict[str, Any]

    @property
    def sound(self) -> Path:
        return self.folder / self.info["file"]


class Store:
    """The data folder ``root``, as it is (the worker's view); the server opens it with
    :meth:`claim`."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).expanduser().resolve()
        self._lock: IO[str] | None = None

    @classmethod
    def claim(cls, root: str | os.PathLike) -> Store:
        """The data folder ``root`` for a studio that starts: made when missing, marked as a
        studio's when new or empty (or laid out by an earlier studio: :data:`FOLDERS` and
        nothing else), locked until :meth:`release` (or this process ends), then cleared of
        what a crash left (see the module docstring). Raises :class:`AudioStyleError`, having
        touched nothing, when ``root`` is not a folder, holds anything but a studio's files, or
        another studio runs on it."""
        store = cls(root)
        root, mark = store.root, store.root / MARKER
        if root.exists() and not root.is_dir():
            raise AudioStyleError(f"{root}: is not a folder; give --data a folder")
        if not mark.is_file():
            others = _foreign(root)
            if others:
                raise AudioStyleError(
                    f"{root}: not a studio data folder (it holds {others[0]!r}, which the "
                    "studio did not make); give --data a new or empty folder")
        try:
            root.mkdir(parents=True, exist_ok=True)
            lock = open(mark, "a+", encoding="utf-8")  # noqa: SIM115 (held while it runs)
        except OSError as exc:
            raise AudioStyleError(f"{root}: cannot be used as the data folder "
                                  f"({exc.strerror or exc})") from None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.seek(0)
            holder = lock.read().strip().rpartition(" ")[2]
            lock.close()
            raise AudioStyleError(f"{root}: in use by another studio (process {holder or '?'}); "
                                  "stop it, or give this one another --data folder") from None
        store._lock = lock
        lock.truncate(0)
        lock.write(f"{MARK_TEXT} {os.getpid()}\n")
        lock.flush()
        for name in FOLDERS:
            (root / name).mkdir(exist_ok=True)
        for leftover in store._leftovers():
            shutil.rmtree(leftover, ignore_errors=True)
        return store

    def release(self) -> None:
        """Unlock the data folder (another studio may then claim it)."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def _leftovers(self) -> list[Path]:
        """What a crash left: work folders and half-made inputs or deleted results, by the
        studio's own names only."""
        found = [p for p in (self.root / "work").iterdir() if valid_id(p.name)]
        for name in _RENAMED:
            found += [p for p in (self.root / name).iterdir()
                      if p.name.startswith(".") and p.name.endswith(".part")
                      and valid_id(p.name[1:-5])]
        return found

    # --- inputs -------------------------------------------------------------------------

    def add_input(self, data: bytes, name: str, *, max_seconds: float,
                  demo: bool = False) -> Input:
        """Decode ``data`` (a file the user called ``name``) with the CLI's loader and keep it.

        Raises :class:`AudioStyleError` with the loader's one-line message, naming ``name``.
        """
        ident = new_id()
        part = self.root / "inputs" / f".{ident}.part"
        part.mkdir()
        try:
            suffix = Path(name).suffix.lower()
            sound = part / f"sound{suffix if suffix in EXTENSIONS else ''}"
            sound.write_bytes(data)
            _check_header(sound, name, max_seconds)  # before decoding: what it would take
            notes = _Notes()
            with notes.capture():
                try:
                    audio = load_audio(sound)
                except AudioStyleError as exc:
                    raise AudioStyleError(str(exc).replace(str(sound), name)) from None
            _check_size(name, audio.seconds, audio.channels, max_seconds)
            why = silence(audio.samples)
            if why is not None:
                notes.add(f"is silent ({why}): as a style it has no texture to take on")
            save_audio(part / "play.wav", Audio(audio.samples, audio.sr, name))
            draw_spectrograms({part / "spectrogram.png": audio})
            info = {"id": ident, "name": name, "file": sound.name, "seconds": audio.seconds,
                    "sr": audio.sr, "channels": audio.channels, "demo": demo,
                    "notes": [n.replace(str(sound), name) for n in notes.lines],
                    "created": time.time()}
            _write_json(part / "input.json", info)
            folder = self.root / "inputs" / ident
            os.replace(part, folder)
        except BaseException:
            shutil.rmtree(part, ignore_errors=True)
            raise
        return Input(ident, folder, info)

    def inputs(self) -> list[dict[str, Any]]:
        """Every input's info, newest first (the page offers them again after a reload)."""
        return _newest_first(self.root / "inputs", "input.json", "created")

    def input(self, ident: str) -> Input | None:
        folder = self.root / "inputs" / ident
        if not valid_id(ident) or not (folder / "input.json").is_file():
            return None
        return Input(ident, folder, _read_json(folder / "input.json"))

    # --- results ------------------------------------------------------------------------

    def work_folder(self, ident: str) -> Path:
        return self.root / "work" / ident

    def result_folder(self, ident: str) -> Path | None:
        return self._finished("results", ident)

    def record(self, ident: str) -> dict[str, Any] | None:
        return self._record("results", ident)

    def results(self) -> list[dict[str, Any]]:
        """Every finished result's record, newest first."""
        return _newest_first(self.root / "results", "record.json", "finished")

    def delete_result(self, ident: str) -> bool:
        return _delete(self.result_folder(ident))

    # --- style models ---------------------------------------------------------------------

    def model_folder(self, ident: str) -> Path | None:
        return self._finished("models", ident)

    def model_record(self, ident: str) -> dict[str, Any] | None:
        return self._record("models", ident)

    def models(self) -> list[dict[str, Any]]:
        """Every learned style model's record, newest first."""
        return _newest_first(self.root / "models", "record.json", "finished")

    def delete_model(self, ident: str) -> bool:
        return _delete(self.model_folder(ident))

    def _finished(self, part: str, ident: str) -> Path | None:
        """``DATA/<part>/<ID>`` when it holds a finished result or model (its record is
        written last), else None."""
        folder = self.root / part / ident
        return folder if valid_id(ident) and (folder / "record.json").is_file() else None

    def _record(self, part: str, ident: str) -> dict[str, Any] | None:
        folder = self._finished(part, ident)
        return None if folder is None else _read_json(folder / "record.json")

    def discard_work(self, ident: str) -> None:
        shutil.rmtree(self.work_folder(ident), ignore_errors=True)

    def export_folder(self) -> Path:
        name = time.strftime("%Y%m%d-%H%M%S") + f"-{secrets.token_hex(2)}"
        return self.root / "exports" / name


def finish_result(work: Path, results: Path, record: dict[str, Any]) -> Path:
    """Write ``record`` as ``work/record.json`` (last) and move ``work`` into ``results`` (or
    ``models``)."""
    _write_json(work / "record.json", record)
    target = results / work.name
    os.replace(work, target)
    return target


def _delete(folder: Path | None) -> bool:
    """Remove a result's or a model's ``folder`` (None: there is none): renamed to its
    ``.<ID>.part`` first, so it is gone from the lists at once."""
    if folder is None:
        return False
    trash = folder.parent / f".{folder.name}.part"
    os.replace(folder, trash)
    shutil.rmtree(trash, ignore_errors=True)
    return True


def _check_header(sound: Path, name: str, max_seconds: float) -> None:
    """Refuse (:class:`AudioStyleError`) the upload ``sound`` that its header says is too long,
    has too many channels or an unsupported rate, before decoding it (decoding reads as many
    frames as the header announces). Bytes that are no audio pass: the loader says what they
    are."""
    try:
        header = sf.info(os.fsencode(sound))
    except (sf.LibsndfileError, RuntimeError, ValueError, EOFError, OSError):
        return
    check_rate(header.samplerate, name)
    _check_size(name, header.frames / header.samplerate, header.channels, max_seconds)


def _check_size(name: str, seconds: float, channels: int, max_seconds: float) -> None:
    if seconds > max_seconds:
        raise AudioStyleError(f"{name}: {seconds:.1f} s is longer than this studio takes "
                              f"({max_seconds:g} s; see --max-seconds)")
    if channels > MAX_CHANNELS:
        raise AudioStyleError(f"{name}: {channels} channels are more than this studio takes "
                              f"({MAX_CHANNELS})")


def draw_spectrograms(pictures: dict[Path, Audio]) -> None:
    """Draw each sound's log-frequency spectrogram (mono) into its PNG, all on one colour
    scale."""
    spectrograms = {path: _spectrogram(audio) for path, audio in pictures.items()}
    low, high = colour_range(spectrograms.values())
    for path, spectrogram in spectrograms.items():
        save_spectrogram(path, spectrogram, low=low, high=high)


def _spectrogram(audio: Audio):
    return log_spectrogram(to_mono(audio).samples[0].astype(np.float64), audio.sr)


def _newest_first(folder: Path, name: str, when: str) -> list[dict[str, Any]]:
    """The JSON file ``name`` of every ``folder/<ID>/`` that has it (unreadable ones left
    out), newest first by its time ``when``."""
    found = []
    for item in folder.iterdir():
        if valid_id(item.name) and (item / name).is_file():
            with contextlib.suppress(OSError, ValueError):
                found.append(_read_json(item / name))
    return sorted(found, key=lambda info: info.get(when, 0), reverse=True)


def _write_json(path: Path, value: Any) -> None:
    write_text(path, to_json(value))


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


class _Notes(logging.Handler):
    """Warnings logged by audiostyle while it works (e.g. a truncated WAV), as lines."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.add(record.getMessage())

    def add(self, line: str) -> None:
        self.lines.append(line)

    @contextlib.contextmanager
    def capture(self) -> Iterator[None]:
        logger = logging.getLogger("audiostyle")
        logger.addHandler(self)
        try:
            yield
        finally:
            logger.removeHandler(self)
