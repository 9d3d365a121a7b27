"""What a style model learns on: content crops, synthesised by code or read from the user's folder.

:class:`SyntheticCorpus` makes every crop anew from its generator (no audio ships with
audiostyle): melodies and chords in varied timbres and registers (harmonic tones with various
spectral slopes, odd-harmonic reeds, FM bells, plucked strings, bowed notes with vibrato), drum
patterns, speech-like formant glides over a gliding voice with fricatives, noise bursts, their
mixtures, pauses and silence, at peak levels from −30 to −1 dBFS. :class:`FolderCorpus` reads every
audio file of a folder (any format the loader reads, any length, rate and channels) and gives
random crops of its channels; a few files (or, with few files, the end of each) are held out
for validation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.signal import lfilter

from ..demo import drum_hit
from ..errors import AudioStyleError
from ..io.audio import load_audio, resample, silence

#: Share of a folder corpus held out for validation (at least one file, or the end of each
#: file when there are fewer than :data:`FEW_FILES`).
HOLD_OUT = 0.15
FEW_FILES = 4


class Corpus:
    """Random content crops ``(count, samples)`` float32 at ``sr`` Hz.

    :meth:`crops` draws training crops from ``rng``; :meth:`validation` gives held-out crops
    (the same for a given ``count``); :meth:`describe` says what the corpus is (a model's
    header keeps it).
    """

    def __init__(self, sr: int) -> None:
        self.sr = sr

    def crops(self, count: int, samples: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def validation(self, count: int, samples: int) -> np.ndarray:
        raise NotImplementedError

    def describe(self) -> dict:
        raise NotImplementedError


class SyntheticCorpus(Corpus):
    """Crops synthesised by code (see the module).

    Synthesis costs more than a crop: training crops are cut from a pool of :data:`POOL`
    sounds twice the crop's length, of which each call replaces ``count // REFRESH`` with new
    ones (so the corpus never repeats for long)."""

    #: Bumped when the sounds change (a header says which corpus a model learned on).
    VERSION = 1
    #: Seed of the validation crops (training draws from the caller's generator).
    VALIDATION_SEED = 987654321
    POOL = 48
    REFRESH = 4

    def __init__(self, sr: int) -> None:
        super().__init__(sr)
        self._pool: list[np.ndarray] = []

    def crops(self, count: int, samples: int, rng: np.random.Generator) -> np.ndarray:
        if not self._pool or self._pool[0].size != 2 * samples:
            self._pool = [synthesise(rng, self.sr, 2 * samples) for _ in range(self.POOL)]
        for index in rng.choice(self.POOL, max(1, count // self.REFRESH), replace=False):
            self._pool[index] = synthesise(rng, self.sr, 2 * samples)
        return _crops(self._pool, count, samples, rng)

    def validation(self, count: int, samples: int) -> np.ndarray:
        rng = np.random.default_rng(self.VALIDATION_SEED)
        return np.stack([synthesise(rng, self.sr, samples) for _ in range(count)])

    def describe(self) -> dict:
        return {"kind": "synthetic", "version": self.VERSION}


class SoundCorpus(Corpus):
    """Random crops of the given sounds (each ``(samples,)`` at ``sr``): the last
    :data:`HOLD_OUT` of them (at least one) are held out for validation, or, with fewer than
    :data:`FEW_FILES`, the last :data:`HOLD_OUT` of each."""

    def __init__(self, sounds: list[np.ndarray], sr: int, description: dict | None = None):
        super().__init__(sr)
        if not sounds:
            raise AudioStyleError("no audible sound in the corpus")
        self.seconds = sum(s.size for s in sounds) / sr
        self.description = {"kind": "sounds", "sounds": len(sounds), **(description or {}),
                            "seconds": round(self.seconds, 1)}
        if len(sounds) >= FEW_FILES:
            held = max(1, round(HOLD_OUT * len(sounds)))
            self.train, self.held = sounds[:-held], sounds[-held:]
        else:
            cuts = [round(s.size * (1 - HOLD_OUT)) for s in sounds]
            self.train = [s[:c] for s, c in zip(sounds, cuts, strict=True)]
            self.held = [s[c:] for s, c in zip(sounds, cuts, strict=True)]

    def crops(self, count: int, samples: int, rng: np.random.Generator) -> np.ndarray:
        return _crops(self.train, count, samples, rng)

    def validation(self, count: int, samples: int) -> np.ndarray:
        return _crops(self.held, count, samples, np.random.default_rng(0))

    def describe(self) -> dict:
        return self.description


class FolderCorpus(SoundCorpus):
    """Every audio file in ``folder`` (and its sub-folders), each channel a sound, resampled
    to ``sr``. A file that is not audio is refused, naming it; silent ones are skipped."""

    def __init__(self, folder: str | Path, sr: int) -> None:
        folder = Path(folder)
        if not folder.is_dir():
            raise AudioStyleError(f"{folder}: the corpus must be a folder of sounds")
        paths = sorted(p for p in folder.rglob("*") if p.is_file()
                       and not p.name.startswith("."))
        sounds = []
        for path in paths:
            wave = resample(load_audio(path), sr).samples
            if silence(wave) is None:
                sounds.extend(channel for channel in wave)
        if not sounds:
            raise AudioStyleError(f"{folder}: no audible sound in the corpus folder")
        super().__init__(sounds, sr, {"kind": "folder", "folder": folder.name,
                                      "files": len(paths)})


def _crops(sounds: list[np.ndarray], count: int, samples: int,
           rng: np.random.Generator) -> np.ndarray:
    """``count`` crops of ``samples`` from ``sounds`` (picked in proportion to their length;
    a shorter sound is zero-padded at a random place)."""
    sizes = np.array([s.size for s in sounds], dtype=np.float64)
    out = np.zeros((count, samples), dtype=np.float32)
    for row, index in enumerate(rng.choice(len(sounds), count, p=sizes / sizes.sum())):
        sound = sounds[index]
        if sound.size >= samples:
            start = rng.integers(0, sound.size - samples + 1)
            out[row] = sound[start:start + samples]
        else:
            start = rng.integers(0, samples - sound.size + 1)
            out[row, start:start + sound.size] = sound
    return out


# --- the synthetic sounds -------------------------------------------------------------------

def synthesise(rng: np.random.Generator, sr: int, samples: int) -> np.ndarray:
    """One synthetic content crop ``(samples,)`` float32 (see the module)."""
    kind = rng.choice(len(_KINDS), p=_WEIGHTS)
    sound = _KINDS[kind][0](rng, sr, samples)
    if rng.random() < 0.3:  # a second layer: melody over drums, a voice over chords, …
        other = _KINDS[rng.choice(len(_KINDS), p=_WEIGHTS)][0](rng, sr, samples)
        sound = sound + other * 10 ** (rng.uniform(-20, 0) / 20) * _rms(sound) / _rms(other)
    sound = _pauses(rng, sr, sound)
    peak = np.abs(sound).max()
    if peak == 0:
        return sound.astype(np.float32)
    level = 10 ** (rng.uniform(-30, -1) / 20)
    return (sound * level / peak).astype(np.float32)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) + 1e-12


def _midi_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12)


def _envelope(rng: np.random.Generator, sr: int, n: int) -> np.ndarray:
    """A note's envelope: attack 2–150 ms, then a decay or a sustain, release 20 ms."""
    t = np.arange(n) / sr
    attack = rng.uniform(0.002, 0.15)
    decay = rng.uniform(0.1, 2.0) if rng.random() < 0.6 else 1e3
    release = np.clip((n / sr - t) / 0.02, 0, 1)
    return np.minimum(t / attack, 1.0) * np.exp(-t / decay) * release


def _tone(rng: np.random.Generator, sr: int, freq: float, n: int, timbre: int) -> np.ndarray:
    """One note of ``n`` samples at ``freq`` Hz in one of five timbres."""
    t = np.arange(n) / sr
    if timbre == 3:  # plucked string (Karplus-Strong)
        period = max(2, round(sr / freq))
        burst = np.zeros(n)
        burst[:period] = rng.uniform(-1, 1, min(period, n))
        damping = rng.uniform(0.990, 0.999)
        a = np.zeros(period + 2)
        a[0], a[period], a[period + 1] = 1.0, -damping / 2, -damping / 2
        return lfilter([1.0], a, burst) * np.clip((n / sr - t) / 0.02, 0, 1)
    if timbre == 2:  # FM bell
        ratio, index = rng.choice([1.4, 2.0, 3.5]), rng.uniform(1, 5)
        modulator = index * np.exp(-t / 0.5) * np.sin(2 * np.pi * freq * ratio * t)
        return np.sin(2 * np.pi * freq * t + modulator) * _envelope(rng, sr, n)
    vibrato = 0.0
    if timbre == 4:  # bowed: slow attack, vibrato
        vibrato = 0.006 * np.sin(2 * np.pi * rng.uniform(4, 7) * t) * np.minimum(t / 0.3, 1)
    phase = 2 * np.pi * freq * np.cumsum(1 + vibrato) / sr
    partials = np.arange(1, max(2, min(24, int(sr / 2 / freq))))
    if timbre == 1:  # reed: odd harmonics
        partials = partials[partials % 2 == 1]
    slope = rng.uniform(0.6, 2.0)
    tone = (np.sin(np.outer(partials, phase)) / partials[:, None] ** slope).sum(0)
    envelope = _envelope(rng, sr, n)
    if timbre == 4:
        envelope = np.minimum(np.arange(n) / sr / rng.uniform(0.1, 0.4), 1.0) \
            * np.clip((n / sr - t) / 0.05, 0, 1)
    return tone * envelope


def _melody(rng: np.random.Generator, sr: int, samples: int, voices: int = 1) -> np.ndarray:
    out = np.zeros(samples)
    timbre = rng.integers(5)
    root = rng.integers(36, 80)
    scale = np.array([0, 2, 4, 5, 7, 9, 11] if rng.random() < 0.7 else [0, 2, 3, 5, 7, 8, 10])
    position = 0
    while position < samples:
        length = int(sr * rng.choice([0.12, 0.25, 0.5, 0.75, 1.0]) * rng.uniform(0.8, 1.3))
        degrees = rng.integers(-7, 8, voices) if voices == 1 else \
            rng.integers(-3, 4) + np.array([0, 2, 4, 7][:voices])
        n = min(length, samples - position)
        for degree in degrees:
            octave, step = divmod(int(degree), 7)
            note = root + 12 * octave + scale[step]
            out[position:position + n] += _tone(rng, sr, _midi_hz(note), length, timbre)[:n]
        position += length + (int(sr * rng.uniform(0, 0.3)) if rng.random() < 0.2 else 0)
    return out


def _chords(rng: np.random.Generator, sr: int, samples: int) -> np.ndarray:
    return _melody(rng, sr, samples, voices=int(rng.integers(2, 5)))


def _drums(rng: np.random.Generator, sr: int, samples: int) -> np.ndarray:
    out = np.zeros(samples)
    step = 60 / rng.uniform(70, 170) / 4
    kinds = ("kick", "snare", "hat", "hand")
    pattern = rng.choice(len(kinds) + 1, 16, p=[0.2, 0.15, 0.25, 0.15, 0.25])
    tuning = rng.uniform(0.7, 1.4)
    for i in range(int(samples / sr / step) + 1):
        stroke = pattern[i % 16]
        if stroke == len(kinds):
            continue
        hit = _drum(rng, sr, kinds[stroke], tuning) * rng.uniform(0.4, 1.0)
        start = int(i * step * sr)
        end = min(start + hit.size, samples)
        if start < samples:
            out[start:end] += hit[: end - start]
    return out


def _drum(rng: np.random.Generator, sr: int, kind: str, tuning: float) -> np.ndarray:
    if kind == "hand":
        return drum_hit(rng.uniform(200, 500) * tuning, sr, seed=int(rng.integers(1 << 30)))
    t = np.arange(int(0.4 * sr)) / sr
    noise = rng.standard_normal(t.size)
    if kind == "kick":
        glide = 50 * tuning * (1 + 2 * np.exp(-t / 0.03))
        return np.sin(2 * np.pi * np.cumsum(glide) / sr) * np.exp(-t / 0.15)
    if kind == "snare":
        body = np.sin(2 * np.pi * 190 * tuning * t) * np.exp(-t / 0.05)
        return 0.5 * body + lfilter([1, -0.5], [1], noise) * np.exp(-t / 0.07)
    return lfilter([1, -1], [1], noise) * np.exp(-t / rng.uniform(0.01, 0.08))  # hat


#: Formant frequencies (Hz) of five vowels, and their bandwidths.
_VOWELS = np.array([[730, 1090, 2440], [270, 2290, 3010], [530, 1840, 2480],
                    [570, 840, 2410], [300, 870, 2240]], dtype=np.float64)
_BANDWIDTHS = np.array([80.0, 100.0, 120.0])


def _speech(rng: np.random.Generator, sr: int, samples: int) -> np.ndarray:
    """Speech-like: a glottal pulse train whose pitch glides, through three formants that
    glide between vowels, in syllables (3–7 a second) with fricative bursts and pauses."""
    segment = int(0.02 * sr)
    count = samples // segment + 1
    t = np.arange(count) * 0.02
    f0 = rng.uniform(85, 240) * 2 ** (0.25 * np.sin(2 * np.pi * rng.uniform(0.2, 0.8) * t
                                                     + rng.uniform(0, 6.3)))
    phase = np.cumsum(np.repeat(f0, segment)[:samples] / sr)
    pulses = np.diff(np.floor(phase), prepend=0.0)
    source = lfilter([1.0], [1.0, -0.95], pulses) + 0.02 * rng.standard_normal(samples)
    targets = _VOWELS[rng.integers(0, len(_VOWELS), count // 8 + 2)]
    knots = np.arange(targets.shape[0]) * 8
    formants = np.stack([np.interp(np.arange(count), knots, targets[:, k]) for k in range(3)], 1)
    formants *= rng.uniform(0.9, 1.2)
    out = np.zeros(samples)
    states = [np.zeros(2) for _ in range(3)]
    for i in range(count):
        piece = source[i * segment:(i + 1) * segment]
        if piece.size == 0:
            break
        total = np.zeros(piece.size)
        for k in range(3):
            r = math.exp(-math.pi * _BANDWIDTHS[k] / sr)
            a = [1.0, -2 * r * math.cos(2 * math.pi * formants[i, k] / sr), r * r]
            y, states[k] = lfilter([1 - r], a, piece, zi=states[k])
            total += y / (k + 1)
        out[i * segment:i * segment + piece.size] = total
    rate = rng.uniform(3, 7)
    syllables = np.clip(np.sin(np.pi * rate * np.arange(samples) / sr) ** 2 * 1.5, 0, 1)
    fricatives = lfilter([1, -0.9], [1], rng.standard_normal(samples)) \
        * (rng.random(samples // segment + 1) < 0.08).repeat(segment)[:samples]
    return out * syllables / (_rms(out) + 1e-12) + 0.3 * fricatives


def _bursts(rng: np.random.Generator, sr: int, samples: int) -> np.ndarray:
    """Band-passed noise bursts of random length, colour and spacing."""
    out = np.zeros(samples)
    position = int(rng.uniform(0, 0.3) * sr)
    while position < samples:
        n = int(rng.uniform(0.02, 0.8) * sr)
        noise = rng.standard_normal(n)
        spectrum = np.fft.rfft(noise)
        freqs = np.fft.rfftfreq(n, 1 / sr)
        centre, width = rng.uniform(np.log(100), np.log(sr / 2.5)), rng.uniform(0.3, 2.0)
        spectrum *= np.exp(-0.5 * ((np.log(np.maximum(freqs, 1)) - centre) / width) ** 2)
        burst = np.fft.irfft(spectrum, n) * _envelope(rng, sr, n)
        end = min(position + n, samples)
        out[position:end] += burst[: end - position] / _rms(burst)
        position = end + int(rng.exponential(0.3) * sr)
    return out


def _pauses(rng: np.random.Generator, sr: int, sound: np.ndarray) -> np.ndarray:
    """Silence some stretches (faded), sometimes the start or the end."""
    n = sound.size
    gate = np.ones(n)
    for _ in range(rng.poisson(0.8)):
        length = int(rng.uniform(0.1, 1.0) * sr)
        start = int(rng.integers(0, max(1, n - length)))
        gate[start:start + length] = 0
    if rng.random() < 0.02:
        gate[:] = 0  # a silent crop
    fade = np.hanning(int(0.02 * sr) | 1)
    gate = np.convolve(gate, fade / fade.sum(), mode="same")
    return sound * gate


_KINDS: list[tuple[Callable[[np.random.Generator, int, int], np.ndarray], float]] = [
    (_melody, 0.25), (_chords, 0.15), (_drums, 0.2), (_speech, 0.25), (_bursts, 0.15),
]
_WEIGHTS = np.array([w for _, w in _KINDS]) / sum(w for _, w in _KINDS)
