"""Synthesis jobs as plain data, with deterministic output names and atomic results.

A :class:`Job` is one style transfer: content and style files, extractor, extractor options and
synthesis settings, plus the SHA-256 of both files. Its :attr:`~Job.key` hashes what goes in
(the files' contents, not their names or dates), so its output name is the same on every run
and machine. :func:`compute_result` runs a job without touching the output folder (in any process,
given the inputs and optionally the style's statistics computed before); :func:`save_result`
then leaves ``NAME.wav`` and a record ``NAME.json`` (the job, timing, the result's losses,
optionally metrics), both written atomically, the record last, and :func:`read_record` finds
finished jobs. Running many jobs, resumably: :mod:`audiostyle.runs.engines`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import soundfile as sf

from .._util import file_digest, slug, to_json, write_text
from ..extractors.registry import extractor_class
from ..io.audio import AudioLike, save_audio
from ..synthesis.pipeline import Result, transfer
from ..synthesis.settings import Settings
from ..synthesis.targets import StyleTarget, option_text, style_target


@dataclass(frozen=True)
class Job:
    """One transfer. Build with :meth:`make`, which hashes the input files.

    Attributes:
        content, style: paths of the input files.
        extractor: registry name.
        options: extractor options as sorted ``(key, text)`` pairs (as on the command line).
        settings: synthesis settings as sorted ``(key, value)`` pairs: what the key holds
            of them (:meth:`~audiostyle.synthesis.settings.Settings.key_items`); the full
            settings are :attr:`synthesis_settings`.
        content_sha256, style_sha256: hex digests of the input files.
    """

    content: str
    style: str
    extractor: str
    options: tuple[tuple[str, str], ...]
    settings: tuple[tuple[str, Any], ...]
    content_sha256: str
    style_sha256: str

    @classmethod
    def make(
        cls,
        content: str | os.PathLike,
        style: str | os.PathLike,
        extractor: str,
        options: Mapping[str, Any] | None = None,
        settings: Settings | Mapping[str, Any] | None = None,
        *,
        digests: dict[str, str] | None = None,
    ) -> Job:
        """A job for these files (``settings`` checked: :meth:`Settings.of`); ``digests``
        caches file hashes across calls."""
        chosen = Settings.of(settings)
        cache = {} if digests is None else digests
        return cls(
            content=str(content), style=str(style), extractor=extractor,
            options=tuple(sorted((k, option_text(v)) for k, v in (options or {}).items())),
            settings=chosen.key_items(),
            content_sha256=_digest(content, cache), style_sha256=_digest(style, cache),
        )

    @property
    def key(self) -> str:
        """SHA-256 (hex) of the inputs' digests, extractor, options and settings, and of the
        extractor's defaults for the settings left to it
        (:meth:`~audiostyle.extractors.ExtractorDefaults.key`): a new release's defaults make
        new names, and a resumed run does not take old results for new ones."""
        what = {k: v for k, v in self.as_dict().items() if k not in ("content", "style")}
        what["defaults"] = extractor_class(self.extractor).defaults.key()
        return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()

    @property
    def style_key(self) -> str:
        """SHA-256 (hex) of what the style's statistics depend on: jobs with equal keys share
        them (:func:`compute_style_target`)."""
        what = [self.style_sha256, self.extractor, self.options,
                self.synthesis_settings.working_sr]
        if self.rhythm_seconds is not None:
            what.append(self.rhythm_seconds)
        return hashlib.sha256(json.dumps(what).encode()).hexdigest()

    @property
    def synthesis_settings(self) -> Settings:
        """The job's settings, the defaults filled in."""
        return Settings.of(dict(self.settings))

    @property
    def rhythm_seconds(self) -> float | None:
        """The rhythm term's longest delay when the job has one, else None."""
        settings = self.synthesis_settings
        return settings.rhythm_seconds if settings.rhythm_weight else None

    @property
    def name(self) -> str:
        """Output name without extension: readable stems plus 12 hex digits of the key."""
        return (f"{slug(Path(self.content).stem)}--{slug(Path(self.style).stem)}--"
                f"{self.extractor}-{self.key[:12]}")

    @property
    def label(self) -> str:
        return f"{Path(self.content).name} × {Path(self.style).name} · {self.extractor}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict; :meth:`from_dict` inverts it."""
        out = asdict(self)
        out["options"] = dict(self.options)
        out["settings"] = dict(self.settings)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Job:
        return cls(
            content=data["content"], style=data["style"], extractor=data["extractor"],
            options=tuple(sorted(data["options"].items())),
            settings=tuple(sorted(data["settings"].items())),
            content_sha256=data["content_sha256"], style_sha256=data["style_sha256"],
        )


def make_jobs(
    contents: Sequence[str | os.PathLike],
    styles: Sequence[str | os.PathLike],
    extractors: Sequence[str],
    *,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    settings: Settings | Mapping[str, Any] | None = None,
) -> list[Job]:
    """Every content × style × extractor job, extractor-major order.

    ``options`` maps extractor name → its options. Files with the same contents give jobs
    with the same key (:func:`run_jobs` runs those once).
    """
    digests: dict[str, str] = {}
    return [
        Job.make(content, style, extractor, (options or {}).get(extractor), settings,
                 digests=digests)
        for extractor, content, style in itertools.product(extractors, contents, styles)
    ]


def compute_style_target(
    job: Job, style: AudioLike | None = None, *, device: str | None = None
) -> StyleTarget:
    """The statistics of ``job``'s style (``style``: its sound, default: read the file)."""
    return style_target(job.style if style is None else style, extractor=job.extractor,
                        options=dict(job.options),
                        working_sr=job.synthesis_settings.working_sr,
                        rhythm_seconds=job.rhythm_seconds, device=device)


def compute_result(
    job: Job,
    content: AudioLike | None = None,
    target: StyleTarget | None = None,
    *,
    device: str | None = None,
) -> Result:
    """Run ``job``'s transfer, writing nothing.

    Args:
        content: the content sound (default: read the file).
        target: the style's statistics (:func:`compute_style_target`; default: from the file).
        device: torch device (default: the best available).
    """
    return transfer(job.content if content is None else content,
                    job.style if target is None else target, extractor=job.extractor,
                    options=dict(job.options), device=device, progress=False,
                    settings=job.synthesis_settings)


def save_result(job: Job, folder: Path, result: Result, *, wall_seconds: float,
                ran_on: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Write ``folder/NAME.wav`` and its record (``ran_on``: where the job ran, e.g. ``{"host":
    …, "ray_node": …}``); return the record.

    A result that Ctrl-C stopped early is saved all the same (the best so far), with
    ``"interrupted": true`` in its record: :func:`read_record` does not count it as finished.
    """
    audio = save_audio(folder / f"{job.name}.wav", result.audio, inputs=(job.content, job.style))
    record = {
        "key": job.key, "job": job.as_dict(), "audio": audio.name,
        "seconds": result.seconds, "wall_seconds": wall_seconds,
        "iterations": result.iterations, "loss_db": result.loss_db,
        "style_distance_db": result.style_distance_db, "working_sr": result.working_sr,
        "frames": result.audio.samples.shape[1], "audio_sha256": file_digest(audio),
        "ran_on": dict(ran_on or {}),
        **({"interrupted": True} if result.interrupted else {}),
    }
    write_record(folder, job, record)
    return record


def read_record(job: Job, folder: Path) -> dict[str, Any] | None:
    """The record of a finished ``job`` in ``folder``, or None: missing, stale, interrupted
    (the best so far of a run that Ctrl-C stopped), or its audio missing, damaged or changed
    (not decodable, not the recorded length or SHA-256)."""
    path = folder / f"{job.name}.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("key") != job.key or record.get(
            "interrupted"):
        return None
    return record if _audio_intact(folder / str(record.get("audio")), record) else None


def _audio_intact(path: Path, record: Mapping[str, Any]) -> bool:
    """Whether ``path`` decodes to the recorded number of frames and has the recorded digest
    (records written before both were kept: whether it decodes)."""
    try:
        frames = sf.info(os.fsencode(path)).frames
        digest = file_digest(path) if "audio_sha256" in record else None
    except (OSError, RuntimeError, ValueError):  # soundfile's errors, AudioStyleError
        return False
    return (frames > 0 and record.get("frames", frames) == frames
            and record.get("audio_sha256") == digest)


def write_record(folder: Path, job: Job, record: Mapping[str, Any]) -> Path:
    """Write ``folder/NAME.json`` atomically (strict JSON: non-finite floats as strings)."""
    return write_text(folder / f"{job.name}.json", to_json(dict(record)))


def _digest(path: str | os.PathLike, cache: dict[str, str]) -> str:
    key = os.path.abspath(path)
    if key not in cache:
        cache[key] = file_digest(path)
    return cache[key]
