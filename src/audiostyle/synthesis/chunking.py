"""Long signals in overlapping chunks: where to cut, and how to join the pieces again.

A long content is optimised chunk by chunk (each chunk against the same style target), so that
the optimiser's memory depends on the chunk length, not on the signal's. :func:`plan_chunks`
cuts ``[0, length)`` into spans of (almost) equal length whose neighbours overlap by exactly
``overlap`` samples; :class:`Stitcher` joins the processed pieces with :func:`crossfade` over
each overlap.

The cross-fade adapts to how alike the two versions of the overlap are. With fade-in weight
``w(t)`` (raised cosine, 0 → 1) and the two pieces' correlation ``ρ`` over the overlap (per
channel, clipped to ``[0, 1]``), the mix is ``k(t)·((1 − w)·a + w·b)`` with
``k = 1 / sqrt((1 − w)² + w² + 2ρ·w(1 − w))``: the expected power of the mix stays that of
the pieces, for identical pieces (``ρ = 1``: a plain complementary fade, which gives back the
signal exactly) as for unrelated ones (``ρ = 0``: an equal-power fade, no dip in the middle).
"""

from __future__ import annotations

import math

import numpy as np

from ..extractors import Extractor, shortest_input

#: Longest chunk, in seconds of one channel at the working rate; a content of ``c`` channels
#: gets chunks ``c`` times shorter (at least 4 × the extractor's shortest input), so that the
#: optimiser's memory does not depend on the length or the channel count.
DEFAULT_CHUNK_SECONDS = 20.0
#: Cross-fade between chunks in seconds (at most a quarter of a chunk, at least the
#: extractor's shortest input).
OVERLAP_SECONDS = 1.0


def plan_chunks(length: int, chunk: int, overlap: int) -> list[tuple[int, int]]:
    """Spans ``(start, stop)`` covering ``[0, length)`` in order.

    Neighbouring spans overlap by exactly ``overlap`` samples; every span is at most ``chunk``
    samples long, and they all have the same length to within one sample (so no short
    remainder is left at the end: each span is longer than ``(chunk - overlap) / 2 + overlap``
    when there are several). A signal no longer than ``chunk`` is one span.

    Args:
        length: samples to cover, ``>= 1``.
        chunk: longest span, ``> overlap``.
        overlap: samples shared by neighbouring spans, ``>= 0``.
    """
    if length < 1 or overlap < 0 or chunk <= overlap:
        raise ValueError(
            f"need length >= 1 and chunk > overlap >= 0, got {length=}, {chunk=}, {overlap=}"
        )
    if length <= chunk:
        return [(0, length)]
    count = math.ceil((length - overlap) / (chunk - overlap))
    stride = (length - overlap) / count
    edges = [round(i * stride) for i in range(count + 1)]
    return [(edges[i], edges[i + 1] + overlap) for i in range(count)]


def crossfade(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Join ``a`` (fading out) and ``b`` (fading in), both ``(channels, n)``, into ``(channels,
    n)`` float32, keeping the power constant whatever their correlation (module docstring)."""
    n = a.shape[-1]
    w = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    energy = np.sqrt(np.sum(a64**2, axis=-1) * np.sum(b64**2, axis=-1))
    product = np.sum(a64 * b64, axis=-1)
    rho = np.where(energy > 0, product / np.where(energy > 0, energy, 1.0), 1.0)
    rho = np.clip(rho, 0.0, 1.0)[:, None]
    gain = 1.0 / np.sqrt((1 - w) ** 2 + w**2 + 2 * rho * w * (1 - w))
    return (gain * ((1 - w) * a64 + w * b64)).astype(np.float32)


class Stitcher:
    """Joins pieces processed span by span (from :func:`plan_chunks`) into one signal.

    Args:
        channels: channels of every piece.
        length: samples of the whole signal.

    Pieces must come in order, each starting inside or right after what is already joined;
    the overlap with what came before is cross-faded (:func:`crossfade`).
    """

    def __init__(self, channels: int, length: int) -> None:
        self._samples = np.zeros((channels, length), dtype=np.float32)
        self.end = 0

    def add(self, start: int, piece: np.ndarray) -> None:
        """Join ``piece`` ``(channels, n)``, which covers ``[start, start + n)``."""
        stop = start + piece.shape[-1]
        if not 0 <= start <= self.end < stop <= self._samples.shape[-1]:
            raise ValueError(f"piece [{start}, {stop}) does not continue [0, {self.end})")
        shared = self.end - start
        if shared:
            self._samples[:, start : self.end] = crossfade(
                self._samples[:, start : self.end], piece[:, :shared]
            )
        self._samples[:, self.end : stop] = piece[:, shared:]
        self.end = stop

    def preview(self, start: int, piece: np.ndarray) -> np.ndarray:
        """What :meth:`add` would have joined, ``(channels, start + n)``, leaving this as it
        is."""
        joined = Stitcher(*self._samples.shape)
        joined._samples[:, : self.end] = self.samples
        joined.end = self.end
        joined.add(start, piece)
        return joined.samples

    @property
    def samples(self) -> np.ndarray:
        """What has been joined so far, ``(channels, end)``."""
        return self._samples[:, : self.end]


def chunk_sizes(
    chunk_seconds: float, channels: int, net: Extractor, lags: int = 0
) -> tuple[int, int]:
    """``(chunk, overlap)`` in samples at the extractor's rate (see :data:`DEFAULT_CHUNK_SECONDS`,
    :data:`OVERLAP_SECONDS`); chunks are long enough for a rhythm term over ``lags``."""
    chunk = max(round(chunk_seconds * net.sample_rate / channels), 4 * shortest_input(net, lags))
    shortest = net.min_samples
    overlap = max(shortest, min(round(OVERLAP_SECONDS * net.sample_rate), chunk // 4))
    return chunk, overlap
