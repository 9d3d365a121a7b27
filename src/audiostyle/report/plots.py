"""Log-frequency spectrogram pictures (PNG) for the listening page.

:func:`log_spectrogram` computes a sound's power spectrogram in dB on a log-frequency axis;
:func:`save_spectrogram` draws it with a given colour range, so that every picture in a row of
the page uses the same scale (:func:`colour_range`). Drawn with matplotlib's Agg canvas (no
pyplot, no display needed).
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: STFT size and hop in samples, lowest band centre in Hz, bands on the log axis.
N_FFT = 2048
HOP = 256
FMIN = 40.0
BANDS = 160
#: Colour range below the loudest value of a row, in dB.
DYNAMIC_RANGE_DB = 80.0
#: Picture size in pixels (width, height).
SIZE = (320, 150)


@dataclass(frozen=True)
class LogSpectrogram:
    """Power in dB, ``db`` of shape ``(bands, frames)``, bands centred at ``freqs`` (Hz)."""

    db: np.ndarray
    freqs: np.ndarray
    seconds: float


def log_spectrogram(samples: np.ndarray, sr: int) -> LogSpectrogram:
    """Spectrogram of mono ``samples`` ``(time,)`` at ``sr`` Hz on :data:`BANDS` log-spaced
    bands from :data:`FMIN` to ``sr / 2``, in dB (a full-scale sine is 0 dB in its own STFT
    bin; floor −200 dB).

    Wide high bands average the STFT bins they cover (triangular weights on the log axis);
    narrow low bands interpolate between the two nearest bins.
    """
    from scipy import signal

    x = np.asarray(samples, dtype=np.float64)
    nperseg = min(N_FFT, max(16, x.size))
    bins, _, spectrum = signal.stft(x, sr, window="hann", nperseg=nperseg,
                                    noverlap=nperseg - min(HOP, nperseg // 2))
    power = 4 * np.abs(spectrum) ** 2
    freqs = np.geomspace(FMIN, sr / 2, BANDS)
    step = math.log(freqs[1] / freqs[0])
    with np.errstate(divide="ignore"):
        log_distance = np.abs(np.log(bins[None, :]) - np.log(freqs[:, None])) / step
    near = np.abs(bins[None, :] - freqs[:, None]) / (bins[1] - bins[0])
    weights = np.maximum(np.maximum(1 - log_distance, 0), np.maximum(1 - near, 0))
    weights /= weights.sum(axis=1, keepdims=True)
    db = 10 * np.log10(np.maximum(weights @ power, 1e-20))
    return LogSpectrogram(db=db, freqs=freqs, seconds=x.size / sr)


def colour_range(spectrograms: Iterable[LogSpectrogram]) -> tuple[float, float]:
    """``(low, high)`` in dB: the loudest value of all, and :data:`DYNAMIC_RANGE_DB` below."""
    high = max((float(s.db.max()) for s in spectrograms), default=0.0)
    high = math.ceil(high / 10) * 10
    return high - DYNAMIC_RANGE_DB, high


def save_spectrogram(
    path: str | os.PathLike, spectrogram: LogSpectrogram, *, low: float, high: float
) -> Path:
    """Draw ``spectrogram`` (time in s across, log frequency up, labelled in Hz) with colours
    from ``low`` to ``high`` dB into a PNG of :data:`SIZE` pixels at ``path``, written
    atomically; returns the path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = 100
    figure = Figure(figsize=(SIZE[0] / dpi, SIZE[1] / dpi), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.13, 0.17, 0.82, 0.79))
    bands = spectrogram.db.shape[0]
    axes.imshow(spectrogram.db, origin="lower", aspect="auto", cmap="magma", vmin=low,
                vmax=high, extent=(0, spectrogram.seconds, 0, bands), interpolation="nearest")
    ticks = [f for f in (100, 1000, 10000) if spectrogram.freqs[0] <= f <= spectrogram.freqs[-1]]
    axes.set_yticks(np.interp(np.log(ticks), np.log(spectrogram.freqs), np.arange(bands)))
    axes.set_yticklabels([f"{f // 1000}k" if f >= 1000 else str(f) for f in ticks])
    axes.tick_params(labelsize=7, length=2, pad=1)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, path)
    return path
