"""The sound a style model adds: a texture of the style, re-timed by the content's onsets.

Per-frame gains on white noise cannot make the style's fine structure and modulation without a
timing of their own, and a timing of the network's own smears the content's onsets
(docs/research.md, *Style models*). So a model carries a *texture* of its style — a new sound
with the style's statistics, synthesised from noise when the model is learned
(:func:`make_texture`), not a copy of the style — and its texture path plays that sound,
shaped by the network's levels (:mod:`.network`).

The texture is read frame by frame (the frames of :mod:`.frames`). At each onset of the content
(:class:`OnsetDetector`: the bands' level rises well above their recent rises) the reading
jumps to one of the texture's own onsets, drawn from a generator seeded by ``(seed, channel,
frame)``, so the style's events fall on the content's — "the style aligns itself to the
melody" — and the overlap-add crossfades every jump over a window. Between onsets the texture
plays on (at its end it jumps too), fading by a fixed gate to :data:`GATE_FLOOR` with a time
constant of :data:`GATE_SECONDS`: the texture's own events between the content's would be onsets
the content does not have (a texture played straight took the content's onset correlation from
0.96 to 0.24 and below; docs/research.md, *Style models*). Everything depends only on the
content, the frame index and the seed, so a sound cut into blocks of any size is read the same
way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.signal import lfilter
from torch import Tensor

from ..extractors import Extractor
from ..io.audio import Audio, resample
from .frames import HOP_SECONDS, POWER_FLOOR, Grid, analyse

#: Seconds of texture a model carries (float32: 1 MB at 22050 Hz).
TEXTURE_SECONDS = 12.0
#: An onset: the mean rise of the bands' levels over one frame (dB) is at least this …
RISE_DB = 1.0
#: … and this many times its recent mean (an exponential mean over :data:`RECENT_SECONDS`) …
RISE_RATIO = 2.5
RECENT_SECONDS = 0.19
#: … and the last onset is at least this long ago (two onsets closer are one event).
GAP_SECONDS = 0.046
#: A jump lands on a texture onset with at least this much texture after it.
RUN_SECONDS = 1.0
#: The gate after a content onset: exp(−t / GATE_SECONDS) down to GATE_FLOOR (amplitude; the
#: floor lets the network fill the content's pauses).
GATE_SECONDS = 0.05
GATE_FLOOR = 0.1


def make_texture(styles: Sequence[Audio], weights: Sequence[float], net: Extractor,
                 options: Mapping[str, Any] | None, seed: int, seconds: float,
                 iterations: int | None, device: torch.device, progress: bool) -> np.ndarray:
    """A texture of the (blended) styles, synthesised by ``net``'s texture defaults (or
    ``iterations``): mono ``(time,)`` float32 at the extractor's rate, at unit RMS."""
    from ..synthesis.pipeline import texture  # (the pipeline imports the models: no cycle)

    values = {} if iterations is None else {"iterations": iterations}
    result = texture(list(styles), seconds=seconds, style_weights=list(weights),
                     extractor=net.name, options=options, device=device, progress=progress,
                     seed=seed, mono=True, output_sr=net.sample_rate, **values)
    wave = result.audio.samples[0].astype(np.float32)
    return wave / max(float(np.sqrt(np.mean(wave.astype(np.float64) ** 2))), 1e-12)


class OnsetDetector:
    """Causal onsets of frames of band log powers (see the module), for a batch of signals."""

    def __init__(self) -> None:
        self.decay = math.exp(-HOP_SECONDS / RECENT_SECONDS)
        self.gap = max(1, round(GAP_SECONDS / HOP_SECONDS))

    def start(self, batch: int, bands: int) -> DetectorState:
        return DetectorState(np.zeros(batch), np.full(batch, 1 << 20),
                             np.full((batch, bands), np.nan))

    def __call__(self, db: np.ndarray, state: DetectorState
                 ) -> tuple[np.ndarray, np.ndarray, DetectorState]:
        """``db`` ``(batch, frames, bands)`` band levels (dB) → onsets ``(batch, frames)``
        (bool), frames since the last onset ``(batch, frames)`` (0 at an onset) and the next
        state. The first frame of a sound has no rise."""
        last = state.last[:, None]
        previous = np.concatenate([np.where(np.isnan(last), db[:, :1], last), db], axis=1)
        rise = np.maximum(np.diff(previous, axis=1), 0).mean(-1)  # (batch, frames)
        # the recent mean rise before each frame: a one-pole filter (linear, so vectorised)
        after, _ = lfilter([1 - self.decay], [1, -self.decay], rise, axis=1,
                           zi=self.decay * state.recent[:, None])
        before = np.concatenate([state.recent[:, None], after[:, :-1]], axis=1)
        candidates = (rise >= RISE_DB) & (rise >= RISE_RATIO * before)
        onsets = np.zeros(rise.shape, dtype=bool)
        ages = np.empty(rise.shape, dtype=np.int64)
        frames = np.arange(rise.shape[1])
        for i in range(rise.shape[0]):
            last_hit = -1 - int(state.since[i])  # (frame index of the last onset)
            for k in np.flatnonzero(candidates[i]):  # the gap rule, over candidates only
                if k - last_hit >= self.gap:
                    onsets[i, k], last_hit = True, k
            hits = np.where(onsets[i], frames, -1 - int(state.since[i]))
            ages[i] = frames - np.maximum.accumulate(hits)
        return onsets, ages, DetectorState(after[:, -1], ages[:, -1].copy(), db[:, -1].copy())


@dataclass
class DetectorState:
    """The detector's memory: the recent mean rise ``(batch,)``, frames from the last onset to
    the last frame ``(batch,)``, the last frame's levels ``(batch, bands)`` (NaN before the
    sound)."""

    recent: np.ndarray
    since: np.ndarray
    last: np.ndarray


@dataclass
class ReaderState:
    """Where each signal reads the texture: the next frame's position ``(batch,)`` (−1: not
    started), the next frame's index, and the onset detector's state."""

    position: np.ndarray
    frame: int
    detector: DetectorState


class TextureReader:
    """The texture at one rate, read in frames re-timed by the content (see the module).

    Args:
        texture: mono samples ``(time,)`` at ``texture_sr`` Hz (a model's).
        texture_sr: their rate.
        grid: the frames at the content's rate (the texture is resampled to it).
        bands: bands of the levels the onsets are found in (the network's input bands).
    """

    def __init__(self, texture: np.ndarray, texture_sr: int, grid: Grid, bands: int) -> None:
        self.grid = grid
        self.bands = bands
        wave = texture if texture_sr == grid.sr else resample(
            Audio(np.asarray(texture, dtype=np.float32)[None], texture_sr), grid.sr).samples[0]
        self.texture = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))
        self.detector = OnsetDetector()
        run = round(RUN_SECONDS * grid.sr)
        if len(wave) < grid.window + run:
            raise ValueError(f"a texture of {len(wave)} samples is shorter than "
                             f"{grid.window + run} (a window and {RUN_SECONDS} s)")
        onsets, _, _ = self.detector(band_levels(self.texture[None], grid, bands),
                                     self.detector.start(1, bands))
        starts = np.flatnonzero(onsets[0]) * grid.hop
        #: positions a jump may land on (the texture's onsets; every hop if it has none)
        self.landings = starts[starts + run <= len(wave)]
        if not len(self.landings):
            self.landings = np.arange(0, len(wave) - run + 1, grid.hop)

    def start(self, batch: int) -> ReaderState:
        return ReaderState(np.full(batch, -1, dtype=np.int64), 0,
                           self.detector.start(batch, self.bands))

    def __call__(self, levels: np.ndarray, seeds: Sequence[tuple[int, int]],
                 state: ReaderState) -> tuple[np.ndarray, np.ndarray, ReaderState]:
        """Where each content frame reads the texture: for frames whose band levels (dB) are
        ``levels`` ``(batch, frames, bands)``, with ``seeds`` ``(seed, channel)`` per signal,
        the texture sample each frame's window starts at ``(batch, frames)``, the gate
        (amplitude) of each frame ``(batch, frames)``, and the next state."""
        onsets, ages, detector = self.detector(levels, state.detector)
        gate = GATE_FLOOR + (1 - GATE_FLOOR) * np.exp(-ages * (HOP_SECONDS / GATE_SECONDS))
        hop, window, length = self.grid.hop, self.grid.window, len(self.texture)
        count = onsets.shape[1]
        position = state.position.copy()
        taken = np.empty(onsets.shape, dtype=np.int64)
        for i in range(onsets.shape[0]):  # from jump to jump (a few per second)
            hits = np.flatnonzero(onsets[i])
            k, p = 0, int(position[i])
            while k < count:
                if onsets[i, k] or p < 0 or p + window > length:
                    draw = np.random.default_rng([*seeds[i], state.frame + k])
                    p = int(self.landings[draw.integers(len(self.landings))])
                later = hits[np.searchsorted(hits, k, side="right"):]
                end = min(count, k + (length - window - p) // hop + 1,
                          int(later[0]) if len(later) else count)
                taken[i, k:end] = p + hop * np.arange(end - k)
                p, k = p + hop * (end - k), end
            position[i] = p
        return taken, gate, ReaderState(position, state.frame + count, detector)


def band_levels(wave: Tensor, grid: Grid, bands: int) -> np.ndarray:
    """Band levels (dB) of every frame of waves ``(batch, time)`` (frames from sample 0, hop by
    hop), ``(batch, frames, bands)``: what the renderer hands the reader, for a whole sound."""
    _, power = analyse(wave.unfold(-1, grid.window, grid.hop), grid.analysis_window(),
                       grid.band_power(bands))
    return (10 * torch.log10(power + POWER_FLOOR)).numpy()
