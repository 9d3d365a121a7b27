"""Signal metrics for judging a result: content kept, copy check, sanity.

All take NumPy samples: :class:`ContentReference` and :func:`copy_score` mono ``(time,)``
signals at one common rate ``sr`` Hz, :func:`sanity` any channels. Features come from librosa
and loudness from pyloudnorm (ITU-R BS.1770-4); both are imported on first use because they
take seconds to load.

=========================  ========  =============================================================
metric                     range     meaning (better)
=========================  ========  =============================================================
``chroma_similarity``      −1 … 1    frame-wise correlation of pitch-class profiles with the
                                     content: the melody and harmony are kept (higher)
``onset_correlation``      −1 … 1    correlation of the onset-strength envelopes: the rhythm is
                                     kept (higher)
``envelope_correlation``   −1 … 1    correlation of the log-mel band envelopes: the timing of the
                                     spectral shape (syllables, notes) is kept (higher)
:func:`copy_score`         0 … 1     maximum normalised cross-correlation with the style: near 1
                                     means the result replays the style (lower)
:func:`sanity`             —         peak, clipped fraction, non-finite samples, silent fraction,
                                     loudness in LUFS
=========================  ========  =============================================================
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

#: STFT size and hop (samples) of the frame-wise features.
N_FFT = 2048
HOP = 512
#: Signals are padded with silence to this length (s) for the constant-Q transform.
CQT_MIN_SECONDS = 3
#: Mel bands of :meth:`ContentReference.envelope_correlation`.
MEL_BANDS = 40
#: Content frames whose chroma magnitude is this far below the loudest are not scored (dB).
ACTIVE_DB = -40.0
#: ``|sample|`` at or above this counts as clipped (full scale is 1).
CLIP_LEVEL = 0.999
#: A 50 ms frame whose RMS is below this is silent (dBFS).
SILENCE_DBFS = -60.0
#: Shortest overlap scored by :func:`copy_score`, as a fraction of the shorter signal.
MIN_OVERLAP = 0.5


class ContentReference:
    """The content's frame-wise features, computed once, to compare outputs with.

    Features (librosa, :data:`N_FFT`-point frames every :data:`HOP` samples) are compared over
    the frames both signals have; silence pads short signals so every window fits.

    Args:
        content: mono samples ``(time,)``.
        sr: their rate in Hz (outputs must have the same).
    """

    def __init__(self, content: np.ndarray, sr: int) -> None:
        import librosa

        self.sr = sr
        y = np.asarray(content, dtype=np.float32)
        self.tuning = float(librosa.estimate_tuning(y=y, sr=sr)) if np.any(y) else 0.0
        self._chroma = self._chroma_of(y)
        self._onsets = self._onsets_of(y)
        self._envelopes = self._envelopes_of(y)

    def chroma_similarity(self, output: np.ndarray) -> float:
        """Mean frame-wise correlation of the constant-Q chroma (at the content's tuning).

        Each frame's 12 pitch-class energies are centred and correlated: 1 = same pitch
        classes in the same proportions, about 0 = unrelated; timbre matters little. Frames
        where the content is :data:`ACTIVE_DB` below its loudest are skipped; frames where the
        output is silent score 0. NaN when the content is silent throughout.
        """
        a, b = _frames(self._chroma_of(output), self._chroma)
        energy = b.sum(0)
        active = energy > energy.max() * 10 ** (ACTIVE_DB / 20)
        if not active.any():
            return math.nan
        return float(np.mean(_columnwise_correlation(a[:, active], b[:, active])))

    def onset_correlation(self, output: np.ndarray) -> float:
        """Pearson correlation of the onset-strength envelopes (spectral flux of the log-mel
        spectrogram): 1 = onsets at the same times with the same strengths."""
        return _correlation(*_frames(self._onsets_of(output), self._onsets))

    def envelope_correlation(self, output: np.ndarray) -> float:
        """Correlation of the log-mel band envelopes over time (:data:`MEL_BANDS` bands, dB
        with an 80 dB floor below the loudest bin).

        Each band's mean is removed and the bands are pooled, so loud, changing bands count
        more than static ones; 1 = the spectral shape changes at the same times.
        """
        a, b = _frames(self._envelopes_of(output), self._envelopes)
        centre = (a - a.mean(axis=-1, keepdims=True), b - b.mean(axis=-1, keepdims=True))
        return _correlation(centre[0].ravel(), centre[1].ravel(), centred=True)

    def _chroma_of(self, y: np.ndarray) -> np.ndarray:
        import librosa

        # the CQT's lowest octave is analysed at a 32nd of the rate with 1024-point frames
        padded, frames = _padded(y, CQT_MIN_SECONDS * self.sr)
        return librosa.feature.chroma_cqt(y=padded, sr=self.sr, hop_length=HOP, norm=None,
                                          tuning=self.tuning)[:, :frames]

    def _onsets_of(self, y: np.ndarray) -> np.ndarray:
        import librosa

        padded, frames = _padded(y, N_FFT)
        return librosa.onset.onset_strength(y=padded, sr=self.sr, n_fft=N_FFT,
                                            hop_length=HOP)[:frames]

    def _envelopes_of(self, y: np.ndarray) -> np.ndarray:
        import librosa

        padded, frames = _padded(y, N_FFT)
        mel = librosa.feature.melspectrogram(y=padded, sr=self.sr, n_fft=N_FFT, hop_length=HOP,
                                             n_mels=MEL_BANDS)[:, :frames]
        return librosa.power_to_db(mel, ref=np.max, top_db=80.0) if mel.max() > 0 else mel


def copy_score(output: np.ndarray, style: np.ndarray) -> float:
    """Largest normalised cross-correlation between ``output`` and ``style`` over all lags.

    At each lag the overlapping parts are correlated as vectors (``⟨a, b⟩ / (‖a‖·‖b‖)``, in
    absolute value, so a polarity-inverted copy counts); lags whose overlap is shorter than
    :data:`MIN_OVERLAP` of the shorter signal are ignored. 1 = ``output`` contains an exact
    (scaled) copy of part of the style; unrelated sounds give values near 0.
    """
    from scipy import signal

    a = np.asarray(output, dtype=np.float64)
    b = np.asarray(style, dtype=np.float64)
    products = signal.correlate(a, b, mode="full", method="fft")
    lags = signal.correlation_lags(a.size, b.size, mode="full")
    # Overlap for lag L: a[t] with b[t - L] for t in [max(0, L), min(len(a), len(b) + L)).
    start = np.maximum(lags, 0)
    stop = np.minimum(a.size, b.size + lags)
    ea = np.concatenate([[0.0], np.cumsum(a * a)])
    eb = np.concatenate([[0.0], np.cumsum(b * b)])
    energy_a = ea[stop] - ea[start]
    energy_b = eb[stop - lags] - eb[start - lags]
    long_enough = stop - start >= max(1, math.ceil(MIN_OVERLAP * min(a.size, b.size)))
    scale = np.sqrt(np.maximum(energy_a * energy_b, 0.0))
    floor = 1e-12 * math.sqrt(float(ea[-1] * eb[-1])) + 1e-30
    valid = long_enough & (scale > floor)
    if not valid.any():
        return 0.0
    return float(np.clip(np.max(np.abs(products[valid]) / scale[valid]), 0.0, 1.0))


@dataclass(frozen=True)
class Sanity:
    """Technical checks of a sound, over all its channels.

    Attributes:
        peak_dbfs: highest ``|sample|`` in dB full scale (``-inf`` when silent).
        clipped_fraction: share of samples at or above :data:`CLIP_LEVEL` (0 is good).
        nonfinite: number of NaN or infinite samples (0 is good; they count as 0 elsewhere).
        silent_fraction: share of 50 ms frames below :data:`SILENCE_DBFS`.
        loudness_lufs: integrated loudness (ITU-R BS.1770-4, pyloudnorm); ``-inf`` when
            silent, NaN when shorter than the 0.4 s gating block.
    """

    peak_dbfs: float
    clipped_fraction: float
    nonfinite: int
    silent_fraction: float
    loudness_lufs: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def sanity(samples: np.ndarray, sr: int) -> Sanity:
    """:class:`Sanity` of ``samples`` ``(channels, time)`` at ``sr`` Hz."""
    import pyloudnorm

    x = np.asarray(samples, dtype=np.float64)
    finite = np.isfinite(x)
    x = np.where(finite, x, 0.0)
    peak = float(np.abs(x).max())
    frame = max(1, round(0.05 * sr))
    mono = x.mean(axis=0)
    frames = mono[: mono.size // frame * frame].reshape(-1, frame) if mono.size >= frame \
        else mono[None]
    rms = np.sqrt(np.mean(frames**2, axis=1))
    silent = float(np.mean(rms < 10 ** (SILENCE_DBFS / 20)))
    meter = pyloudnorm.Meter(sr)
    if x.shape[1] <= meter.block_size * sr:
        loudness = math.nan
    elif peak == 0.0:
        loudness = -math.inf
    else:
        channels = x if x.shape[0] <= 5 else x.mean(axis=0, keepdims=True)
        loudness = float(meter.integrated_loudness(channels.T))
    return Sanity(
        peak_dbfs=20 * math.log10(peak) if peak > 0 else -math.inf,
        clipped_fraction=float(np.mean(np.abs(x) >= CLIP_LEVEL)),
        nonfinite=int(finite.size - finite.sum()),
        silent_fraction=silent,
        loudness_lufs=loudness,
    )


def _padded(y: np.ndarray, min_samples: int) -> tuple[np.ndarray, int]:
    """``y`` as float32 padded with silence to ``min_samples``, and its own frame count."""
    y = np.asarray(y, dtype=np.float32)
    return np.pad(y, (0, max(0, min_samples - y.size))), 1 + y.size // HOP


def _frames(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both feature arrays cut to the frames (last axis) they both have."""
    n = min(a.shape[-1], b.shape[-1])
    return a[..., :n], b[..., :n]


def _correlation(a: np.ndarray, b: np.ndarray, *, centred: bool = False) -> float:
    """Pearson correlation of two equally long vectors (0 when either is constant, NaN for
    fewer than two values)."""
    n = min(a.size, b.size)
    if n < 2:
        return math.nan
    a = np.asarray(a[:n], dtype=np.float64)
    b = np.asarray(b[:n], dtype=np.float64)
    if not centred:
        a, b = a - a.mean(), b - b.mean()
    scale = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b / scale) if scale > 0 else 0.0


def _columnwise_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of matching columns of ``(rows, columns)`` arrays (0 if constant)."""
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    scale = np.sqrt((a * a).sum(0) * (b * b).sum(0))
    ok = scale > 0
    return np.where(ok, (a * b).sum(0) / np.where(ok, scale, 1.0), 0.0)
