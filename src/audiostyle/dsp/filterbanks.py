"""Frequency-domain filterbanks of McDermott & Simoncelli's Sound Texture Synthesis Toolbox.

Every filter is a real, zero-phase frequency response sampled at the ``rfft`` bins of a signal
of ``length`` samples at ``sr`` Hz (bin ``k`` is ``k·sr/length`` Hz), applied by multiplying the
signal's spectrum: filtering is circular, as in the toolbox. Responses are half-cosines (one
lobe, ``cos`` over ``[-π/2, π/2]``) on an ERB, logarithmic or linear frequency axis:

- :func:`erb_cos_filters`: the cochlear filterbank, ``n`` bands equally spaced on the ERB_N
  scale plus a low-pass and a high-pass end; squared responses sum to exactly 1.
- :func:`constq_cos_filters`: the modulation filterbank, log-spaced centres with a fixed Q.
- :func:`octave_cos_filters`: octave-spaced bands for the C1/C2 modulation correlations.

All return float64 NumPy arrays ``(filters, length // 2 + 1)``.
"""

from __future__ import annotations

import numpy as np


def freq2erb(freq_hz: np.ndarray | float) -> np.ndarray:
    """Hz → ERB_N number (Glasberg & Moore, 1990)."""
    return 9.265 * np.log1p(np.asarray(freq_hz, dtype=np.float64) / (24.7 * 9.265))


def erb2freq(n_erb: np.ndarray | float) -> np.ndarray:
    """ERB_N number → Hz (inverse of :func:`freq2erb`)."""
    return 24.7 * 9.265 * np.expm1(np.asarray(n_erb, dtype=np.float64) / 9.265)


def rfft_frequencies(length: int, sr: float) -> np.ndarray:
    """Frequencies in Hz of the ``length // 2 + 1`` rfft bins of ``length`` samples at ``sr``."""
    return np.arange(length // 2 + 1) * (sr / length)


def _half_cosine(axis: np.ndarray, low: float, high: float) -> np.ndarray:
    """``cos`` lobe that is 0 at ``low``/``high`` and 1 halfway (on ``axis``), 0 outside;
    the ends themselves are excluded, as in the toolbox."""
    inside = (axis > low) & (axis < high)
    lobe = np.zeros(axis.shape)
    lobe[inside] = np.cos((axis[inside] - (low + high) / 2) / (high - low) * np.pi)
    return lobe


def erb_cos_filters(
    length: int, sr: float, n: int = 30, low_hz: float = 20.0, high_hz: float = 10000.0
) -> tuple[np.ndarray, np.ndarray]:
    """The cochlear filterbank: ``n + 2`` filters, ``(n + 2, length // 2 + 1)``.

    ``n + 2`` cutoffs are equally spaced on the ERB_N scale from ``low_hz`` to ``high_hz``
    (capped at the highest bin); band ``k`` (1 … n) spans cutoffs ``k - 1`` to ``k + 1``, so
    neighbours overlap by half and the upper cutoff of one band is its neighbour's centre.
    Band 0 is a low-pass and band ``n + 1`` a high-pass that complete the squared sum to 1.

    Returns:
        ``(filters, cutoffs_hz)``; ``cutoffs_hz`` has ``n + 2`` entries.
    """
    freqs = rfft_frequencies(length, sr)
    if high_hz > sr / 2:
        high_hz = freqs[-1]
    cutoffs = erb2freq(np.linspace(freq2erb(low_hz), freq2erb(high_hz), n + 2))
    erb = freq2erb(freqs)
    filters = np.zeros((n + 2, freqs.size))
    for k in range(1, n + 1):
        filters[k] = _half_cosine(erb, freq2erb(cutoffs[k - 1]), freq2erb(cutoffs[k + 1]))
    below = freqs < cutoffs[1]
    filters[0, below] = np.sqrt(1 - filters[1, below] ** 2)
    above = freqs > cutoffs[n]
    filters[n + 1, above] = np.sqrt(1 - filters[n, above] ** 2)
    return filters, cutoffs


def constq_cos_filters(
    length: int, sr: float, n: int = 20, low_hz: float = 0.5, high_hz: float = 200.0,
    q: float = 2.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The modulation filterbank: ``n`` filters, ``(n, length // 2 + 1)``.

    Centres are equally spaced on a log axis from ``low_hz`` to ``high_hz`` (capped at the
    highest bin); filter ``k`` is a half-cosine on a linear axis from ``cf - cf/q`` to
    ``cf + cf/q`` (half-power bandwidth ``cf/q``). As in the toolbox, the filters are scaled so
    that their summed squared response averages 1 between the 4th and the 4th-last centre.

    Returns:
        ``(filters, centres_hz)``.
    """
    freqs = rfft_frequencies(length, sr)
    if high_hz > sr / 2:
        high_hz = freqs[-1]
    centres = 2.0 ** np.linspace(np.log2(low_hz), np.log2(high_hz), n)
    filters = np.stack([_half_cosine(freqs, cf - cf / q, cf + cf / q) for cf in centres])
    total = np.square(filters).sum(0)
    middle = (freqs >= centres[3]) & (freqs <= centres[-4])
    if middle.any() and total[middle].mean() > 0:
        filters = filters / np.sqrt(total[middle].mean())
    return filters, centres


def octave_cos_filters(
    length: int, sr: float, low_hz: float = 1.0, high_hz: float = 200.0
) -> tuple[np.ndarray, np.ndarray]:
    """Octave-spaced modulation bands for the C1/C2 correlations, ``(bands, length // 2 + 1)``.

    Centres are ``high_hz / 2, high_hz / 4, …`` down to the last one above ``low_hz``
    (ascending; 1.5625 … 100 Hz for the defaults, 7 bands); each band is a half-cosine on a
    log2 axis from ``cf / 2`` to ``2·cf``, so squared neighbours sum to 1 in between. No
    low-pass or high-pass ends.

    Returns:
        ``(filters, centres_hz)``.
    """
    freqs = rfft_frequencies(length, sr)
    if high_hz > sr / 2:
        high_hz = freqs[-1]
    cutoffs = high_hz / 2.0 ** np.arange(21)
    centres = np.sort(cutoffs[cutoffs > low_hz])[:-1]
    with np.errstate(divide="ignore"):
        log_freqs = np.log2(freqs)
    filters = np.stack(
        [_half_cosine(log_freqs, np.log2(cf / 2), np.log2(cf * 2)) for cf in centres]
    )
    return filters, centres
