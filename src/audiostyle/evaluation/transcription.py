"""Polyphonic note transcription with Spotify's Basic Pitch (Bittner et al., ICASSP 2022).

The network (``nmp.onnx`` of the basic-pitch 0.4.0 wheel, Apache-2.0) is run with
onnxruntime; no TensorFlow, and not the basic-pitch package (it requires TensorFlow on Linux).
``audiostyle weights install basic-pitch`` fetches the wheel from PyPI once and stores the
ONNX file's bytes in the weights cache under its SHA-256, like every other set of weights.
The pre- and post-processing are written here from Basic Pitch's documented algorithm:

- **windows**: mono audio at :data:`SR` Hz is padded with :data:`OVERLAP` / 2 samples of
  silence in front and cut into windows of :data:`WINDOW` samples (2 s less one hop) every
  ``WINDOW − OVERLAP`` samples, the last one zero-padded. The network gives 172 frames of
  86.13 frames/s per window (hop :data:`HOP` samples): note (frame) and onset posteriors for
  the 88 piano keys (MIDI 21–108).
- **unwrapping**: the first and last :data:`OVERLAP_FRAMES` / 2 frames of each window are
  dropped and the rest concatenated. Each window then contributes 188 samples' worth of
  frames more than its hop, so :func:`frame_times` corrects the time of a frame by the window
  it came from (Basic Pitch uses a fitted constant for this; here it is exact).
- **notes** (:func:`decode_notes`, Basic Pitch's defaults): onsets are the local maxima in
  time of ``max(onset posterior, rescaled positive frame differences)`` at or above 0.5; from
  the latest backwards, each note lasts while the frame posterior stays at or above 0.3 (up to
  10 frames below it are bridged) and is kept if longer than 11 frames (127.7 ms); its key and
  both neighbours are then cleared. The "melodia trick" then turns the remaining strongest
  frame activity (> 0.3), followed forwards and backwards, into notes without onsets.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import AudioStyleError
from ..weights import WeightsSpec, load
from ..weights.pypi import download

#: Sample rate (Hz) of the network's input.
SR = 22050
#: Frame hop (samples): 86.13 frames per second.
HOP = 256
#: Input window of the network (samples): 2 s less one hop.
WINDOW = 2 * SR - HOP
#: Frames the network gives per window.
WINDOW_FRAMES = 172
#: Frames shared by consecutive windows (half dropped at each end).
OVERLAP_FRAMES = 30
OVERLAP = OVERLAP_FRAMES * HOP
#: MIDI note of the first of the 88 keys (A0).
LOWEST_MIDI = 21
KEYS = 88
#: Windows per network call (bounds the memory of long sounds).
BATCH = 8
#: Basic Pitch's default thresholds on the onset and frame posteriors.
ONSET_THRESHOLD = 0.5
FRAME_THRESHOLD = 0.3
#: Notes must be longer than this many frames (Basic Pitch's 127.70 ms).
MIN_NOTE_FRAMES = round(0.12770 * SR / HOP)
#: Frames below the frame threshold bridged inside a note.
ENERGY_TOLERANCE = 11

WHEEL = "basic_pitch-0.4.0-py2.py3-none-any.whl"
#: SHA-256 of that wheel (pip checks it before the file is used).
WHEEL_SHA256 = "738adb503aae7fdfc7d1e1511aa0ce35052315f260a19531ef4c356708425db0"
MODEL_MEMBER = "basic_pitch/saved_models/icassp_2022/nmp.onnx"
_INPUT = "serving_default_input_2:0"
#: Output names of the note (frame) and onset posteriors, ``(windows, 172, 88)``.
_OUTPUTS = {"note": "StatefulPartitionedCall:1", "onset": "StatefulPartitionedCall:2"}


@dataclass(frozen=True)
class Notes:
    """Transcribed notes.

    Attributes:
        intervals: ``(notes, 2)`` onset and offset times in seconds.
        pitches: ``(notes,)`` MIDI note numbers.
    """

    intervals: np.ndarray
    pitches: np.ndarray

    def __len__(self) -> int:
        return int(self.pitches.size)

    @property
    def hz(self) -> np.ndarray:
        """The pitches in Hz (A4 = 440 Hz)."""
        return 440.0 * 2.0 ** ((self.pitches - 69) / 12)


def windows(samples: np.ndarray) -> np.ndarray:
    """``(windows, WINDOW, 1)`` float32 network input of mono ``samples`` ``(time,)`` at
    :data:`SR` Hz (front-padded by ``OVERLAP / 2``, windows every ``WINDOW − OVERLAP``)."""
    y = np.concatenate([np.zeros(OVERLAP // 2, np.float32),
                        np.asarray(samples, dtype=np.float32)])
    starts = range(0, max(y.size - OVERLAP // 2, 1), WINDOW - OVERLAP)
    padded = np.pad(y, (0, starts[-1] + WINDOW - y.size))
    return np.stack([padded[s:s + WINDOW] for s in starts])[..., None]


def unwrap(posterior: np.ndarray, n_samples: int) -> np.ndarray:
    """``(frames, keys)``: the network's ``(windows, WINDOW_FRAMES, keys)`` output without the
    overlapping frames, cut to the frames at samples ``0 … n_samples − 1``."""
    half = OVERLAP_FRAMES // 2
    kept = posterior[:, half:-half].reshape(-1, posterior.shape[-1])
    return kept[: int(np.searchsorted(_frame_samples(kept.shape[0]), n_samples))]


def frame_times(n_frames: int) -> np.ndarray:
    """Time (s) of each of ``n_frames`` unwrapped frames."""
    return _frame_samples(n_frames) / SR


def _frame_samples(n_frames: int) -> np.ndarray:
    """Sample of each unwrapped frame: its window's start plus its place in that window
    (frame ``j`` of a window looks at sample ``j · HOP`` of it)."""
    window, local = np.divmod(np.arange(n_frames), WINDOW_FRAMES - OVERLAP_FRAMES)
    return window * (WINDOW - OVERLAP) - OVERLAP // 2 + (local + OVERLAP_FRAMES // 2) * HOP


def decode_notes(
    frames: np.ndarray,
    onsets: np.ndarray,
    *,
    onset_threshold: float = ONSET_THRESHOLD,
    frame_threshold: float = FRAME_THRESHOLD,
    min_frames: int = MIN_NOTE_FRAMES,
    melodia: bool = True,
) -> list[tuple[int, int, int]]:
    """Notes ``(first frame, end frame, key)`` from ``(frames, keys)`` frame and onset
    posteriors (Basic Pitch's note creation; see the module docstring). Key 0 = MIDI 21."""
    n = frames.shape[0]
    onsets = np.maximum(onsets, _inferred_onsets(frames, onsets.max()))
    peaks = np.zeros_like(onsets, dtype=bool)
    peaks[1:-1] = (onsets[1:-1] > onsets[:-2]) & (onsets[1:-1] > onsets[2:])
    peaks &= onsets >= onset_threshold
    energy = np.array(frames, dtype=np.float64)
    notes = []
    starts, pitches = np.nonzero(peaks)
    for start, key in zip(starts[::-1], pitches[::-1], strict=True):
        if start >= n - 1:
            continue
        i, below = start + 1, 0
        while i < n - 1 and below < ENERGY_TOLERANCE:
            below = below + 1 if energy[i, key] < frame_threshold else 0
            i += 1
        end = i - below
        if end - start <= min_frames:
            continue
        energy[start:end, max(key - 1, 0):key + 2] = 0
        notes.append((int(start), int(end), int(key)))
    while melodia and energy.max() > frame_threshold:
        middle, key = np.unravel_index(np.argmax(energy), energy.shape)
        energy[middle, key] = 0
        end = _follow(energy, middle, key, +1, frame_threshold, stop=n - 1)
        start = _follow(energy, middle, key, -1, frame_threshold, stop=0)
        if end - start > min_frames:
            notes.append((int(start), int(end), int(key)))
    return notes


def _inferred_onsets(frames: np.ndarray, scale: float) -> np.ndarray:
    """Onsets from rises of the frame posterior: the smaller of its 1- and 2-frame
    differences where positive (none in the first two frames), rescaled to peak at
    ``scale``."""
    rise = np.full(frames.shape, np.inf)
    for lag in (1, 2):
        previous = np.concatenate([np.zeros((lag, frames.shape[1])), frames[:-lag]])
        rise = np.minimum(rise, frames - previous)
    rise = np.maximum(rise, 0.0)
    rise[:2] = 0
    top = rise.max()
    return rise * (scale / top) if top > 0 else rise


def _follow(energy: np.ndarray, middle: int, key: int, step: int, threshold: float,
            *, stop: int) -> int:
    """Walk from ``middle`` in direction ``step`` while the activity of ``key`` stays above
    ``threshold`` (up to :data:`ENERGY_TOLERANCE` frames below it bridged), clearing that key
    and its neighbours; returns the last frame above it in that direction."""
    i, below = middle + step, 0
    while (i < stop if step > 0 else i > stop) and below < ENERGY_TOLERANCE:
        below = below + 1 if energy[i, key] < threshold else 0
        energy[i, max(key - 1, 0):key + 2] = 0
        i += step
    return i - step - step * below


class Transcriber:
    """Basic Pitch in onnxruntime (one CPU thread): audio → posteriors → notes.

    Raises:
        AudioStyleError: the weights are not installed (the message says how), or onnxruntime
            is missing.
    """

    def __init__(self) -> None:
        try:
            import onnxruntime
        except ImportError:
            raise AudioStyleError("onnxruntime is not installed (pip install onnxruntime)") \
                from None
        model = load("basic-pitch")["model"].numpy().tobytes()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            model, options, providers=["CPUExecutionProvider"])

    def posteriors(self, samples: np.ndarray) -> dict[str, np.ndarray]:
        """``{"note", "onset"}``: ``(frames, 88)`` posteriors of mono ``samples`` ``(time,)``
        at :data:`SR` Hz."""
        batch = windows(samples)
        runs = [self._session.run(list(_OUTPUTS.values()), {_INPUT: batch[i:i + BATCH]})
                for i in range(0, len(batch), BATCH)]
        return {name: unwrap(np.concatenate([run[k] for run in runs]), len(samples))
                for k, name in enumerate(_OUTPUTS)}

    def notes(self, samples: np.ndarray) -> Notes:
        """The :class:`Notes` of mono ``samples`` ``(time,)`` at :data:`SR` Hz."""
        post = self.posteriors(samples)
        found = sorted(decode_notes(post["note"], post["onset"]))
        times = frame_times(post["note"].shape[0] + 1)
        intervals = np.array([(times[s], times[e]) for s, e, _ in found]).reshape(-1, 2)
        return Notes(intervals, np.array([k + LOWEST_MIDI for *_, k in found], dtype=int))


def _convert(source: Path | None) -> dict[str, np.ndarray]:
    """The ONNX model's bytes (as a uint8 tensor) from the wheel, or from an ``.onnx`` file."""
    path = source or download("basic-pitch==0.4.0", WHEEL, sdist=False, sha256=WHEEL_SHA256)
    try:
        if path.suffix == ".onnx":
            model = path.read_bytes()
        else:
            with zipfile.ZipFile(path) as archive:
                model = archive.read(MODEL_MEMBER)
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise AudioStyleError(f"{path} is not the basic-pitch 0.4.0 wheel ({exc})") from None
    if _INPUT.split(":")[0].encode() not in model:
        raise AudioStyleError(f"{path}: not Basic Pitch's ICASSP 2022 ONNX model")
    return {"model": np.frombuffer(model, dtype=np.uint8).copy()}


WEIGHTS = WeightsSpec(
    name="basic-pitch",
    description="basic-pitch 0.4.0 ICASSP-2022 note transcriber, ONNX (PyPI, Apache-2.0)",
    convert=_convert,
    how_to_get="run `audiostyle weights install basic-pitch` (downloads the basic-pitch 0.4.0 "
               f"wheel from PyPI once, without its dependencies), or download {WHEEL} "
               "elsewhere and pass it with --from",
)
