"""Audio I/O: load and check files, resample, downmix, and write results safely.

Audio travels through audiostyle as :class:`Audio`: float32 samples of shape
``(channels, time)`` at ``sr`` Hz, with a ``name`` used in messages. Resampling happens only
here (:func:`resample`, SoX-quality via ``soxr``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch

from .errors import AudioStyleError

log = logging.getLogger(__name__)

#: Output formats by file extension: (libsndfile format, subtype).
OUTPUT_FORMATS: dict[str, tuple[str, str]] = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_24"),
    ".ogg": ("OGG", "VORBIS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
}

#: Peak ceiling of written files, in dBFS: louder results are scaled down to it, never clipped.
PEAK_CEILING_DB = -1.0


@dataclass(frozen=True)
class Audio:
    """A multichannel signal: ``samples`` of shape ``(channels, time)`` at ``sr`` Hz."""

    samples: np.ndarray
    sr: int
    name: str = "audio"

    @property
    def channels(self) -> int:
        return self.samples.shape[0]

    @property
    def seconds(self) -> float:
        return self.samples.shape[1] / self.sr


AudioLike = str | os.PathLike | Audio | np.ndarray | torch.Tensor


def load_audio(path: str | os.PathLike, *, finite: bool = True) -> Audio:
    """Read an audio file (any format libsndfile reads: WAV, FLAC, OGG, MP3, AIFF, …).

    Returns float32 samples ``(channels, time)`` at the file's own rate. Raises
    :class:`AudioStyleError` naming the file when it is missing, a directory, empty, not audio,
    has no samples, or (unless ``finite=False``, for evaluation) holds NaN/infinite samples.
    """
    path = Path(path)
    if not path.exists():
        raise AudioStyleError(f"{path}: no such file")
    if path.is_dir():
        raise AudioStyleError(f"{path}: is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise AudioStyleError(f"{path}: file is empty (0 bytes)")
    try:
        data, sr = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError, EOFError) as exc:
        detail = str(exc).split(":")[-1].strip() or type(exc).__name__
        raise AudioStyleError(
            f"{path}: not a readable audio file ({detail}); "
            "use WAV, FLAC, OGG, MP3 or AIFF"
        ) from None
    except OSError as exc:
        raise AudioStyleError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return check_audio(Audio(np.ascontiguousarray(data.T), int(sr), str(path)), finite=finite)


def check_audio(audio: Audio, *, finite: bool = True) -> Audio:
    """Validate samples: at least one sample, a positive rate, and (unless ``finite=False``)
    no NaN or infinite sample. Warns when silent."""
    if audio.sr <= 0:
        raise AudioStyleError(f"{audio.name}: sample rate must be positive, got {audio.sr}")
    if audio.samples.ndim != 2 or audio.samples.shape[1] == 0:
        raise AudioStyleError(f"{audio.name}: contains no samples")
    if finite and not np.all(np.isfinite(audio.samples)):
        raise AudioStyleError(f"{audio.name}: contains NaN or infinite samples")
    if not np.any(audio.samples):
        log.warning("%s: all samples are zero (silent input)", audio.name)
    return audio


def as_audio(
    source: AudioLike, sr: int | None = None, *, name: str = "audio", finite: bool = True
) -> Audio:
    """Turn a path, an :class:`Audio` or an array into a checked :class:`Audio`.

    Arrays (NumPy or torch) are ``(time,)`` or ``(channels, time)`` and need ``sr`` in Hz.
    ``finite=False`` lets NaN/infinite samples through (see :func:`check_audio`).
    """
    if isinstance(source, Audio):
        return source
    if isinstance(source, (str, os.PathLike)):
        return load_audio(source, finite=finite)
    if isinstance(source, torch.Tensor):
        source = source.detach().cpu().numpy()
    if not isinstance(source, np.ndarray):
        raise AudioStyleError(
            f"{name}: expected a file path, an Audio or an array, got {type(source).__name__}"
        )
    if sr is None:
        raise AudioStyleError(f"{name}: an array input needs its sample rate: pass sr=...")
    samples = np.asarray(source, dtype=np.float32)
    if samples.ndim == 1:
        samples = samples[None]
    if samples.ndim != 2:
        raise AudioStyleError(
            f"{name}: array must be (time,) or (channels, time), got shape {samples.shape}"
        )
    return check_audio(Audio(np.ascontiguousarray(samples), int(sr), name), finite=finite)


def resample(audio: Audio, sr: int) -> Audio:
    """Resample to ``sr`` Hz with soxr (high quality); a no-op when the rate already matches."""
    if audio.sr == sr:
        return audio
    out = soxr.resample(audio.samples.T, audio.sr, sr, quality="HQ")
    log.info("%s: resampled %d Hz -> %d Hz", audio.name, audio.sr, sr)
    return Audio(np.ascontiguousarray(out.T, dtype=np.float32), sr, audio.name)


def to_mono(audio: Audio) -> Audio:
    """Average the channels into one, shape ``(1, time)``."""
    if audio.channels == 1:
        return audio
    return Audio(audio.samples.mean(axis=0, keepdims=True), audio.sr, audio.name)


def limit_peak(
    samples: np.ndarray, ceiling_db: float = PEAK_CEILING_DB
) -> tuple[np.ndarray, float]:
    """Scale ``samples`` down so that the peak is at most ``ceiling_db`` dBFS.

    Quieter signals are returned unchanged. Returns ``(samples, gain)`` with the linear gain
    applied (1.0 when nothing was done). The whole signal is scaled, so nothing clips.
    """
    ceiling = 10.0 ** (ceiling_db / 20.0)
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak <= ceiling:
        return samples, 1.0
    gain = ceiling / peak
    return (samples * gain).astype(np.float32), gain


def output_format(path: str | os.PathLike) -> tuple[str, str]:
    """The (format, subtype) written for ``path``, chosen by its extension."""
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        known = ", ".join(OUTPUT_FORMATS)
        raise AudioStyleError(f"{path}: unsupported output format {suffix!r}; use one of {known}")
    return OUTPUT_FORMATS[suffix]


def check_output_path(
    path: str | os.PathLike, inputs: tuple[str | os.PathLike, ...] = ()
) -> Path:
    """Check before any work that ``path`` can be written and is not one of ``inputs``."""
    path = Path(path)
    output_format(path)
    for source in inputs:
        if _same_file(path, Path(source)):
            raise AudioStyleError(
                f"{path}: output would overwrite an input file; choose another path"
            )
    if path.is_dir():
        raise AudioStyleError(
            f"{path}: is a directory; give a file name such as {path / 'out.wav'}"
        )
    return path


def save_audio(
    path: str | os.PathLike,
    audio: Audio,
    *,
    inputs: tuple[str | os.PathLike, ...] = (),
) -> Path:
    """Write ``audio`` to ``path`` atomically (temporary file, then rename), peak-safe.

    The format comes from the extension (:data:`OUTPUT_FORMATS`). A signal louder than
    :data:`PEAK_CEILING_DB` is scaled down as a whole (never clipped). Missing parent folders are
    created. Refuses to write over any of ``inputs``. Returns the path written.
    """
    path = check_output_path(path, inputs)
    fmt, subtype = output_format(path)
    samples, gain = limit_peak(audio.samples)
    if gain != 1.0:
        log.info("%s: scaled by %.2f dB to keep the peak at %.1f dBFS", path, 20 * np.log10(gain),
                 PEAK_CEILING_DB)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise AudioStyleError(f"{path}: cannot write here ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            sf.write(handle, samples.T, audio.sr, format=fmt, subtype=subtype)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise AudioStyleError(f"{path}: could not write ({exc.strerror or exc})") from None
        raise
    return path


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()
