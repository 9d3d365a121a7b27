"""Audio I/O: load and check files, resample, downmix, and write results safely.

Audio travels through audiostyle as :class:`Audio`: float32 samples of shape
``(channels, time)`` at ``sr`` Hz (:data:`RATES`), with a ``name`` used in messages.
Resampling happens only here (:func:`resample`, SoX-quality via ``soxr``).

Writing never leaves half a file: :func:`check_output_path` checks before any work that the
file can be written in its format (channels, rate) and place; :func:`save_audio` writes a
temporary file, checks that every byte reached the disk, and renames it (the temporary files
that a killed write left beside that output are removed then:
:func:`~audiostyle._util.temporary_file`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch

from .._util import _WRITING, check_replaceable, file_mode, temporary_file
from ..errors import AudioStyleError, WriteError

log = logging.getLogger(__name__)

#: Output formats by file extension: (libsndfile format, subtype).
OUTPUT_FORMATS: dict[str, tuple[str, str]] = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_24"),
    ".ogg": ("OGG", "VORBIS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
}

#: Most channels each output format holds (libsndfile's limits); WAV has no practical limit.
MAX_CHANNELS: dict[str, int] = {".flac": 8, ".ogg": 255, ".mp3": 2}

#: The only rates MP3 (MPEG-1/2/2.5 layer III) can be written at, in Hz.
MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)

#: Supported sample rates in Hz, inclusive: inputs, working and output rates.
RATES = (8000, 192000)

#: Peak ceiling of written files, in dBFS: louder results are scaled down to it, never clipped.
PEAK_CEILING_DB = -1.0

#: Peak level, in dBFS, below which a sound counts as silent. 10 dB above the step of 16-bit
#: PCM (−90.3 dBFS): a sound whose loudest sample stays under it is a few 16-bit steps of
#: noise floor at most, inaudible at any normal gain, and too faint to move the features
#: (``log(1 + |STFT|)`` stays at its silence value), so a transfer would return it unchanged.
#: A silent content becomes a texture of the style (with a warning); a silent style is
#: refused. Float files can hold far less (1e-40 is −800 dBFS): silent too.
SILENT_DBFS = -80.0

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
    :class:`AudioStyleError` naming the file when it is missing, not a regular file (a folder,
    a pipe, a device: never read), empty, not audio, has no samples, or (unless
    ``finite=False``, for evaluation) holds NaN/infinite samples. What the decoders print
    while reading (libmpg123's warnings) is logged at debug level, not left on the terminal.
    """
    path = Path(path)
    with _reading(path):
        # (as bytes: libsndfile takes any file name, also one that is not UTF-8)
        data, sr = sf.read(os.fsencode(path), dtype="float32", always_2d=True)
    _warn_if_truncated(path)
    return check_audio(Audio(np.ascontiguousarray(data.T), int(sr), str(path)), finite=finite)


@dataclass(frozen=True)
class AudioInfo:
    """What an audio file's header says: ``seconds``, ``channels``, ``sr`` (Hz)."""

    seconds: float
    channels: int
    sr: int


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """The header of an audio file, read without decoding it (a check before any work of
    many files that are read one at a time later): :class:`AudioStyleError` as
    :func:`load_audio` gives for a file that is missing, not regular, empty or not audio, or
    whose rate is not supported."""
    path = Path(path)
    with _reading(path):
        header = sf.info(os.fsencode(path))
    check_rate(header.samplerate, str(path))
    return AudioInfo(header.frames / header.samplerate, header.channels, header.samplerate)


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Read ``path`` inside (a regular file, checked first), with the decoders' messages held
    (:func:`_decoder_messages`) and their failures as one-line :class:`AudioStyleError`."""
    check_regular_file(path)
    try:
        with _decoder_messages():
            yield
    except (sf.LibsndfileError, RuntimeError, ValueError, EOFError) as exc:
        detail = str(exc).split(":")[-1].strip() or type(exc).__name__
        if detail.startswith(_UNRECOGNISED):
            raise AudioStyleError(f"{path}: not an audio file (its format is not recognised); "
                                  "use WAV, FLAC, OGG, MP3 or AIFF") from None
        raise AudioStyleError(
            f"{path}: not a readable audio file ({detail}); "
            "use WAV, FLAC, OGG, MP3 or AIFF"
        ) from None
    except OSError as exc:
        raise AudioStyleError(f"{path}: cannot be read ({exc.strerror or exc})") from None


#: How libsndfile begins its message for bytes no decoder takes (for a regular file, its
#: "not a regular file (possibly a pipe?)" means the MP3 decoder gave up on it).
_UNRECOGNISED = ("Format not recognised", "File does not exist or is not a regular file")

#: What each kind of file that is not a regular one is called in messages.
_FILE_KINDS = ((stat.S_ISDIR, "is a directory, not a regular file"),
               (stat.S_ISFIFO, "is a named pipe (FIFO), not a regular file; save the sound to "
                               "a file and give that"),
               (stat.S_ISCHR, "is a character device, not a regular file"),
               (stat.S_ISBLK, "is a block device, not a regular file"),
               (stat.S_ISSOCK, "is a socket, not a regular file"))


def check_regular_file(path: Path) -> None:
    """Refuse ``path`` (:class:`AudioStyleError`) unless it is a regular file with some bytes,
    without opening it: a pipe or a device could be read forever."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise AudioStyleError(f"{path}: no such file") from None
    except OSError as exc:
        raise AudioStyleError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    for test, problem in _FILE_KINDS:
        if test(info.st_mode):
            raise AudioStyleError(f"{path}: {problem}")
    if info.st_size == 0:
        raise AudioStyleError(f"{path}: file is empty (0 bytes)")


@contextlib.contextmanager
def _decoder_messages() -> Iterator[None]:
    """Hold what is written to file descriptor 2 (the C decoders' own warnings) while a file
    is read, and log it at debug level afterwards. (Other threads' writes to stderr in the
    meantime are held too.)"""
    sys.stderr.flush()
    with tempfile.TemporaryFile() as held:
        saved = os.dup(2)
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            for line in held.read().decode(errors="replace").splitlines():
                log.debug("decoder: %s", line)


def _warn_if_truncated(path: Path) -> None:
    """Warn when a RIFF (WAV) file is shorter than its header says (libsndfile reads what is
    there without complaint)."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    if len(head) == 8 and head[:4] == b"RIFF":
        declared = int.from_bytes(head[4:], "little") + 8
        actual = path.stat().st_size
        if declared > actual:
            log.warning("%s: file is truncated (%d of the %d bytes its header announces); "
                        "using the samples that are there", path, actual, declared)


def check_audio(audio: Audio, *, finite: bool = True) -> Audio:
    """Validate samples: at least one, at a rate within :data:`RATES`, and (unless
    ``finite=False``, for evaluating results) all finite.

    Silence is allowed here; what it means depends on the role of the sound (see
    :func:`is_silent`).
    """
    check_rate(audio.sr, audio.name)
    if audio.samples.ndim != 2 or audio.samples.shape[1] == 0:
        raise AudioStyleError(f"{audio.name}: contains no samples")
    if audio.samples.shape[0] == 0:
        raise AudioStyleError(f"{audio.name}: has no channels")
    if finite and not np.all(np.isfinite(audio.samples)):
        bad = np.argwhere(~np.isfinite(audio.samples))[0]
        raise AudioStyleError(
            f"{audio.name}: contains NaN or infinite samples (first at channel {bad[0] + 1}, "
            f"{bad[1] / audio.sr:.3f} s)"
        )
    return audio


def check_rate(sr: int, name: str) -> int:
    """``sr`` if it is within :data:`RATES`, else :class:`AudioStyleError` naming ``name``."""
    low, high = RATES
    if not low <= sr <= high:
        raise AudioStyleError(f"{name}: sample rate {sr} Hz is not supported; use {low}–{high} Hz")
    return sr


def peak_dbfs(samples: np.ndarray) -> float:
    """The largest ``|sample|`` in dB full scale; ``-inf`` for digital silence."""
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    return 20 * float(np.log10(peak)) if peak > 0 else -np.inf


def silence(samples: np.ndarray) -> str | None:
    """Why ``samples`` count as silent (peak below :data:`SILENT_DBFS`), in words for a
    message (``"all samples are zero"``, ``"peak -800.0 dBFS, below -80 dBFS"``); None when
    they do not."""
    peak = peak_dbfs(samples)
    if peak == -np.inf:
        return "all samples are zero"
    return f"peak {peak:.1f} dBFS, below {SILENT_DBFS:g} dBFS" if peak < SILENT_DBFS else None


def is_silent(samples: np.ndarray) -> bool:
    """Whether ``samples`` count as silent: their peak is below :data:`SILENT_DBFS`."""
    return silence(samples) is not None


def silent_channels(samples: np.ndarray) -> np.ndarray:
    """Indices of the channels of ``samples`` ``(channels, time)`` that are silent
    (:func:`is_silent`)."""
    return np.flatnonzero([is_silent(channel) for channel in samples])


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


def resample(audio: Audio, sr: int, length: int | None = None) -> Audio:
    """Resample to ``sr`` Hz with soxr (high quality); a no-op when the rate already matches.

    The result has exactly ``length`` samples (default ``round(time · sr / audio.sr)``, at
    least 1): soxr's own count can be a sample off, which would make a round trip change the
    length. Extra samples are cut, missing ones are zeros.
    """
    if length is None:
        length = max(1, round(audio.samples.shape[1] * sr / audio.sr))
    if audio.sr == sr and audio.samples.shape[1] == length:
        return audio
    if audio.sr == sr:
        out = audio.samples
    else:
        out = soxr.resample(audio.samples.T, audio.sr, sr, quality="HQ").T
        log.info("%s: resampled %d Hz -> %d Hz", audio.name, audio.sr, sr)
    fitted = np.zeros((audio.channels, length), dtype=np.float32)
    fitted[:, : min(length, out.shape[1])] = out[:, :length]
    return Audio(fitted, sr, audio.name)


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


def check_output_format(
    path: str | os.PathLike, channels: int | None = None, sr: int | None = None
) -> tuple[str, str]:
    """The (format, subtype) for ``path``, after checking that it holds ``channels`` channels
    at ``sr`` Hz (each when given)."""
    fmt = output_format(path)
    suffix = Path(path).suffix.lower()
    if channels is not None and channels > MAX_CHANNELS.get(suffix, channels):
        raise AudioStyleError(
            f"{path}: {suffix[1:].upper()} holds at most {MAX_CHANNELS[suffix]} channels, the "
            f"result has {channels}; write .wav, or use `mono`"
        )
    if sr is not None:
        check_rate(sr, f"{path}: output rate")
        if suffix == ".flac" and sr > 65535 and sr % 10:  # libsndfile writes it unreadable
            raise AudioStyleError(
                f"{path}: FLAC cannot store {sr} Hz (above 65535 Hz only multiples of 10); use "
                "`output_sr`, or write .wav"
            )
        if suffix == ".mp3" and sr not in MP3_RATES:
            raise AudioStyleError(
                f"{path}: MP3 cannot be written at {sr} Hz; use `output_sr` with one of "
                f"{', '.join(map(str, MP3_RATES))}, or another format"
            )
    return fmt


def check_output_path(
    path: str | os.PathLike,
    inputs: tuple[str | os.PathLike, ...] = (),
    *,
    channels: int | None = None,
    sr: int | None = None,
) -> Path:
    """Check before any work that ``path`` can be written: a known format that holds
    ``channels`` at ``sr`` Hz (when given), not one of ``inputs``, not a directory, in a folder
    that takes new files or can be created (nothing is created here: :func:`save_audio` makes
    missing folders when it writes), and not an existing read-only file
    (:func:`~audiostyle._util.check_replaceable`). Returns ``path``."""
    path = Path(path)
    check_output_format(path, channels, sr)
    return check_output_place(path, inputs, example="out.wav")


def check_output_place(
    path: str | os.PathLike, inputs: tuple[str | os.PathLike, ...] = (), *,
    example: str = "out",
) -> Path:
    """The place rules of every output file, whatever its format (audio, a style model):
    ``path`` is not one of ``inputs``, not a directory (the message suggests ``path/example``),
    not an existing read-only file, and its folder takes new files (or can be created).
    Nothing is created. Returns ``path``."""
    path = Path(path)
    _exists(path, "cannot be written")
    for source in inputs:
        if _same_file(path, Path(source)):
            raise AudioStyleError(
                f"{path}: output would overwrite an input file; choose another path"
            )
    check_replaceable(path)
    if path.is_dir():
        raise AudioStyleError(
            f"{path}: is a directory; give a file name such as {path / example}"
        )
    check_output_folder(path.parent, named=path)
    return path


def check_output_folder(folder: str | os.PathLike, *, named: Path | None = None) -> Path:
    """Check before any work that files can be written in ``folder`` (made when missing,
    by whoever writes there): the deepest part of it that exists is a folder that takes new
    files. Messages name ``named`` (default: ``folder``). Returns ``folder``."""
    folder = Path(folder)
    named = folder if named is None else named
    where = folder
    while not where.exists() and not where.is_symlink() and where != where.parent:
        where = where.parent  # the deepest folder that exists: new files or folders go there
    if not where.is_dir():
        raise AudioStyleError(f"{named}: {where} is not a folder; choose another path")
    try:
        fd, probe = temporary_file(where, named.name)
        os.unlink(probe)
        os.close(fd)
    except OSError as exc:
        raise AudioStyleError(
            f"{named}: cannot write in {where} ({exc.strerror or exc})"
        ) from None
    return folder


def save_audio(
    path: str | os.PathLike,
    audio: Audio,
    *,
    inputs: tuple[str | os.PathLike, ...] = (),
) -> Path:
    """Write ``audio`` to ``path`` atomically (temporary file, then rename), peak-safe.

    The format comes from the extension (:data:`OUTPUT_FORMATS`). A signal louder than
    :data:`PEAK_CEILING_DB` is scaled down as a whole (never clipped). Missing parent folders are
    created. Refuses to write over any of ``inputs`` or over a read-only file. A new file gets
    the usual permissions (``0666`` less the umask), a replaced one keeps its own. When any
    write fails (disk full, file too large, I/O error), the temporary file is removed,
    ``path`` is left as it was, and :class:`~audiostyle.errors.WriteError` says why. Returns
    the path written.
    """
    path = check_output_path(path, inputs, channels=audio.channels, sr=audio.sr)
    fmt, subtype = check_output_format(path)
    samples, gain = limit_peak(audio.samples)
    if gain != 1.0:
        log.info("%s: scaled by %.2f dB to keep the peak at %.1f dBFS", path, 20 * np.log10(gain),
                 PEAK_CEILING_DB)
    mode = file_mode(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = temporary_file(path.parent, path.name)
    except OSError as exc:
        raise WriteError(f"{path}: cannot write here ({exc.strerror or exc})") from None
    _WRITING.add(tmp)
    try:
        os.fchmod(fd, mode)  # mkstemp makes 0600
        with _CheckedFile(fd, "wb") as handle:
            try:
                sf.write(handle, samples.T, audio.sr, format=fmt, subtype=subtype)
            except (AssertionError, RuntimeError):  # a short write, seen by libsndfile
                if handle.error is None:
                    raise
            if handle.error is not None:
                raise handle.error
            handle.flush()
            os.fsync(handle.fileno())
            os.replace(tmp, path)  # before the lock goes with the descriptor
    except OSError as exc:
        raise WriteError(
            f"{path}: could not write the result ({exc.strerror or exc}); nothing was written"
        ) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        _WRITING.discard(tmp)
    return path


class _CheckedFile(io.FileIO):
    """A file whose first failed write is kept in :attr:`error` (later writes do nothing).

    libsndfile writes through Python callbacks whose exceptions it cannot see: a failed write
    would only print a traceback and, for Ogg and MP3, leave a silently truncated file.
    """

    error: OSError | None = None

    def write(self, data) -> int:
        view, done = memoryview(data).cast("B"), 0
        while self.error is None and done < len(view):
            try:  # a short write is retried: the retry raises the reason (ENOSPC, EFBIG, …)
                done += super().write(view[done:]) or 0
            except OSError as exc:
                self.error = exc
        return done


def _exists(path: Path, problem: str) -> bool:
    """Whether ``path`` exists; a name the system cannot even look up (too long, a folder
    in it that cannot be searched) is :class:`AudioStyleError` ``"{path}: {problem} (why)"``."""
    try:
        return path.exists()
    except OSError as exc:
        raise AudioStyleError(f"{path}: {problem} ({exc.strerror or exc})") from None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()
