"""The studio's data folder: uploaded inputs and finished results, on disk.

Layout (every id is made here, 16 hex digits; no name from a user is ever part of a path)::

    DATA/inputs/<ID>/sound.EXT  the uploaded bytes (EXT from a fixed list, or none)
    DATA/inputs/<ID>/play.wav   the decoded sound for the browser (16-bit WAV)
    DATA/inputs/<ID>/spectrogram.png, input.json (original name, duration, rate, channels)
    DATA/work/<ID>/             a running job's files (snapshots, then the result)
    DATA/results/<ID>/          a finished result: result.wav/.flac, spectrograms, snapshots,
                                record.json (settings, metrics, inputs)
    DATA/exports/NAME/          listening pages

A folder appears under ``inputs/`` or ``results/`` only complete, by renaming it from a
hidden ``.ID.part`` or from ``work/``, so a crash or a full disk never leaves half of one in
the history; leftovers are removed when the store opens.
"""

from __future__ import annotations

import contextlib
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
from typing import Any

import numpy as np

from .._util import to_json, write_text
from ..errors import AudioStyleError
from ..io.audio import Audio, load_audio, save_audio, silence, to_mono
from ..report.plots import colour_range, log_spectrogram, save_spectrogram

#: Extensions an upload keeps (libsndfile mostly reads the format from the bytes anyway).
EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff", ".aifc", ".au", ".w64")
_ID = re.compile(r"^[0-9a-f]{16}$")
#: Files of a result that may be served, by the name in its URL.
RESULT_FILES = ("result.wav", "result.flac", "spectrogram-result.png",
                "spectrogram-content.png", "spectrogram-style.png")


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
    """The data folder ``root`` (created when missing); ``clean``: remove what a crash left
    (only the server does, when it starts)."""

    def __init__(self, root: str | os.PathLike, *, clean: bool = True) -> None:
        self.root = Path(root).expanduser().resolve()
        if not clean:
            return
        for name in ("inputs", "work", "results", "exports"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        for leftover in [*self.root.glob("*/.*.part"), *(self.root / "work").iterdir()]:
            shutil.rmtree(leftover, ignore_errors=True)

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
            notes = _Notes()
            with notes.capture():
                try:
                    audio = load_audio(sound)
                except AudioStyleError as exc:
                    raise AudioStyleError(str(exc).replace(str(sound), name)) from None
            if audio.seconds > max_seconds:
                raise AudioStyleError(f"{name}: {audio.seconds:.1f} s is longer than this "
                                      f"studio takes ({max_seconds:g} s; see --max-seconds)")
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

    def input(self, ident: str) -> Input | None:
        folder = self.root / "inputs" / ident
        if not valid_id(ident) or not (folder / "input.json").is_file():
            return None
        return Input(ident, folder, _read_json(folder / "input.json"))

    # --- results ------------------------------------------------------------------------

    def work_folder(self, ident: str) -> Path:
        return self.root / "work" / ident

    def result_folder(self, ident: str) -> Path | None:
        folder = self.root / "results" / ident
        return folder if valid_id(ident) and (folder / "record.json").is_file() else None

    def record(self, ident: str) -> dict[str, Any] | None:
        folder = self.result_folder(ident)
        return None if folder is None else _read_json(folder / "record.json")

    def results(self) -> list[dict[str, Any]]:
        """Every finished result's record, newest first."""
        records = []
        for folder in (self.root / "results").iterdir():
            if valid_id(folder.name) and (folder / "record.json").is_file():
                with contextlib.suppress(OSError, ValueError):
                    records.append(_read_json(folder / "record.json"))
        return sorted(records, key=lambda r: r.get("finished", 0), reverse=True)

    def delete_result(self, ident: str) -> bool:
        folder = self.result_folder(ident)
        if folder is None:
            return False
        trash = self.root / "results" / f".{ident}.part"
        os.replace(folder, trash)  # gone from the history at once, then removed
        shutil.rmtree(trash, ignore_errors=True)
        return True

    def discard_work(self, ident: str) -> None:
        shutil.rmtree(self.work_folder(ident), ignore_errors=True)

    def export_folder(self) -> Path:
        name = time.strftime("%Y%m%d-%H%M%S") + f"-{secrets.token_hex(2)}"
        return self.root / "exports" / name


def finish_result(work: Path, results: Path, record: dict[str, Any]) -> Path:
    """Write ``record`` as ``work/record.json`` (last) and move ``work`` into ``results``."""
    _write_json(work / "record.json", record)
    target = results / work.name
    os.replace(work, target)
    return target


def draw_spectrograms(pictures: dict[Path, Audio]) -> None:
    """Draw each sound's log-frequency spectrogram (mono) into its PNG, all on one colour
    scale."""
    spectrograms = {path: _spectrogram(audio) for path, audio in pictures.items()}
    low, high = colour_range(spectrograms.values())
    for path, spectrogram in spectrograms.items():
        save_spectrogram(path, spectrogram, low=low, high=high)


def _spectrogram(audio: Audio):
    return log_spectrogram(to_mono(audio).samples[0].astype(np.float64), audio.sr)


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
