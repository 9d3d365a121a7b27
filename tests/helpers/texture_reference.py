"""An independent NumPy/SciPy transcription of the toolbox's ``measure_texture_stats.m``.

Time-domain and straightforward, as in the MATLAB code (uniform measurement window, circular
filtering, ``abs(hilbert(·))``), except that the envelope is downsampled with an ideal FFT
low-pass instead of MATLAB's ``resample`` FIR. Used to check the PyTorch extractor, which works
on envelope spectra (Parseval) and evaluates each subband on its own coarser time grid.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import hilbert

from audiostyle.dsp.filterbanks import constq_cos_filters, erb_cos_filters, octave_cos_filters

ENV_C_OFFSETS = (1, 2, 3, 5, 8, 11, 16, 21)
C1_OFFSETS = (1, 2)


def _filter(x: np.ndarray, filters: np.ndarray) -> np.ndarray:
    """Circular zero-phase filtering: ``x (..., n)`` by ``filters (bands, n//2+1)`` →
    ``(..., bands, n)``."""
    spectrum = np.fft.rfft(x, axis=-1)[..., None, :]
    return np.fft.irfft(spectrum * filters, n=x.shape[-1], axis=-1)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float(np.mean(a * b) / np.sqrt(np.mean(a * a) * np.mean(b * b)))


def reference_statistics(x: np.ndarray, sr: int = 20000) -> dict[str, np.ndarray]:
    """Texture statistics of ``x`` (1-D, at ``sr`` = 20000 Hz), named as in the extractor."""
    n = x.size
    filters = erb_cos_filters(n, sr, 30, 20, 10000)[0]
    subbands = _filter(x, filters)
    envelopes = np.abs(hilbert(subbands, axis=-1))
    envelopes = (envelopes**2 + 1e-12) ** 0.15  # the extractor's floor, -120 dB
    frames = math.ceil(n * 400 / sr)
    low = np.fft.rfft(envelopes, axis=-1)[:, : (frames + 1) // 2] * frames / n
    envelopes = np.maximum(np.fft.irfft(low, n=frames, axis=-1), 0)
    env_sr = frames * sr / n
    mod_filters = constq_cos_filters(frames, env_sr, 20, 0.5, 200, 2)[0]
    octave = octave_cos_filters(frames, env_sr, 1, 200)[0]

    channels = envelopes.shape[0]
    mean = envelopes.mean(1)
    centred = envelopes - mean[:, None]
    var = np.mean(centred**2, 1)
    out = {
        "subband_var": subbands.var(1),
        "env_mean": mean,
        "env_cv": np.sqrt(var) / mean,
        "env_skew": np.mean(centred**3, 1) / var**1.5,
        "env_kurt": np.mean(centred**4, 1) / var**2,
        "env_C": np.zeros((channels, len(ENV_C_OFFSETS))),
        "mod_power": np.zeros((channels, 20)),
        "mod_C1": np.zeros((channels, len(C1_OFFSETS), octave.shape[0] - 1)),
        "mod_C2": np.zeros((channels, octave.shape[0] - 1, 2)),
    }
    bands = _filter(envelopes, octave)  # (channels, 7, frames)
    for k in range(channels):
        out["mod_power"][k] = np.mean(_filter(envelopes[k], mod_filters) ** 2, 1) / var[k]
        for i, d in enumerate(ENV_C_OFFSETS):
            if k + d < channels:
                out["env_C"][k, i] = _corr(envelopes[k], envelopes[k + d])
        for i, d in enumerate(C1_OFFSETS):
            for b in range(1, octave.shape[0]):
                if k + d < channels:
                    out["mod_C1"][k, i, b - 1] = _corr(bands[k, b], bands[k + d, b])
        analytic = hilbert(bands[k], axis=-1)
        for b in range(octave.shape[0] - 1):
            doubled = np.real(analytic[b] ** 2 / np.abs(analytic[b]))
            fine = analytic[b + 1]
            sigma = np.sqrt(np.mean(doubled**2) * np.mean(fine.real**2))
            out["mod_C2"][k, b] = [np.mean(doubled * fine.real) / sigma,
                                   np.mean(doubled * fine.imag) / sigma]
    return out
