"""Built-in demo sounds, synthesised in code (no audio files ship with audiostyle).

- :func:`canon_melody`: the opening of Pachelbel's Canon in D (the eight-note top line over its
  ground bass), as a harmonic tone with a soft attack.
- :func:`bongo_loop`: a two-drum bongo pattern: decaying pitched noise bursts with a quick
  downward pitch glide, looped.
- :func:`rain`: a dense, random texture of band-limited noise bursts (drops) on a soft bed.
- :func:`insects`: a chirping insect-like tone train (cricket-like chirps of a 4.5 kHz tone).

The last three are textures of different kinds for texture-synthesis tests and benchmarks.
"""

from __future__ import annotations

import numpy as np

#: Top line and ground bass of the Canon's first bars (MIDI notes), one per half note.
_CANON_TOP = (78, 76, 74, 73, 71, 69, 71, 73)  # F#5 E5 D5 C#5 B4 A4 B4 C#5
_CANON_BASS = (50, 45, 47, 42, 43, 38, 43, 45)  # D3 A2 B2 F#2 G2 D2 G2 A2


def _midi_hz(note: int) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12)


def harmonic_note(freq: float, seconds: float, sr: int, *, partials: int = 8) -> np.ndarray:
    """A tone of ``partials`` harmonics with 1/k amplitudes, a 20 ms attack and a slow decay.

    Returns ``(samples,)`` float32, peak below 1.
    """
    t = np.arange(int(seconds * sr)) / sr
    ks = np.arange(1, partials + 1)
    ks = ks[ks * freq < sr / 2]
    tone = (np.sin(2 * np.pi * freq * ks[:, None] * t) / ks[:, None]).sum(0)
    envelope = np.minimum(t / 0.02, 1.0) * np.exp(-t / (0.8 * seconds))
    release = np.clip((seconds - t) / 0.03, 0.0, 1.0)
    return (tone * envelope * release / ks.size**0.5).astype(np.float32)


def canon_melody(sr: int = 22050, *, note_seconds: float = 0.75,
                 semitones: int = 0) -> np.ndarray:
    """Pachelbel's Canon, first eight half notes with bass: ``(samples,)`` at ``sr`` Hz,
    transposed by ``semitones``.

    6 s long at the default ``note_seconds``; peak 0.5.
    """
    notes = [
        harmonic_note(_midi_hz(top + semitones), note_seconds, sr)
        + 0.6 * harmonic_note(_midi_hz(bass + semitones), note_seconds, sr, partials=5)
        for top, bass in zip(_CANON_TOP, _CANON_BASS, strict=False)
    ]
    melody = np.concatenate(notes)
    return (0.5 * melody / np.abs(melody).max()).astype(np.float32)


def drum_hit(freq: float, sr: int, *, decay: float = 0.09, seed: int = 0) -> np.ndarray:
    """One hand-drum stroke: a sine gliding down to ``freq`` plus a short noise burst
    resonating around it, both decaying exponentially. ``(samples,)`` float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(6 * decay * sr)) / sr
    glide = freq * (1 + 0.5 * np.exp(-t / 0.012))
    body = np.sin(2 * np.pi * np.cumsum(glide) / sr) * np.exp(-t / decay)
    noise = rng.standard_normal(t.size)
    spectrum = np.fft.rfft(noise)
    bins = np.fft.rfftfreq(t.size, 1 / sr)
    spectrum *= np.exp(-0.5 * ((bins - 2.2 * freq) / (0.8 * freq)) ** 2)
    slap = np.fft.irfft(spectrum, t.size) * np.exp(-t / 0.015)
    slap /= np.abs(slap).max() + 1e-12
    return (body + 0.6 * slap).astype(np.float32)


def bongo_loop(sr: int = 22050, *, seconds: float = 4.0, bpm: float = 120.0,
               room: float = 0.0) -> np.ndarray:
    """A bongo pattern of high (macho) and low (hembra) strokes on sixteenth notes, looped to
    ``seconds``. ``(samples,)`` at ``sr`` Hz, peak 0.5 before ``room``: the standard deviation
    of a white room-noise bed under the loop, as a recording has (0: digitally clean)."""
    step = 60.0 / bpm / 4
    pattern = "H.hLH.L.H.hLHhL."  # H/L: high/low drum, h: soft high, .: rest
    drums = {"H": (420.0, 1.0), "h": (420.0, 0.45), "L": (290.0, 0.9)}
    out = np.zeros(int(seconds * sr) + sr, dtype=np.float32)
    for bar in range(int(np.ceil(seconds / (step * len(pattern))))):
        for i, stroke in enumerate(pattern):
            if stroke not in drums:
                continue
            freq, gain = drums[stroke]
            hit = gain * drum_hit(freq, sr, seed=bar * len(pattern) + i)
            start = int((bar * len(pattern) + i) * step * sr)
            end = min(start + hit.size, out.size)
            out[start:end] += hit[: end - start]
    out = 0.5 * out[: int(seconds * sr)] / np.abs(out).max()
    if room:
        out += room * np.random.default_rng(7).standard_normal(out.size)
    return out.astype(np.float32)


def rain(sr: int = 22050, *, seconds: float = 5.0, drops_per_second: float = 300.0,
         seed: int = 0) -> np.ndarray:
    """Rain-like texture: Poisson-timed drops (noise bursts decaying in ~2 ms, log-normal
    sizes) band-passed to 0.8–7 kHz, over a quieter low-passed noise bed.
    ``(samples,)`` at ``sr`` Hz, peak 0.5."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    drops = (rng.random(n) < drops_per_second / sr) * rng.lognormal(0.0, 0.7, n)
    decay = np.exp(-np.arange(int(0.01 * sr)) / (0.002 * sr))
    splashes = np.convolve(drops, decay)[:n] * rng.standard_normal(n)
    freqs = np.fft.rfftfreq(n, 1 / sr)
    band = np.exp(-0.5 * (np.log(np.maximum(freqs, 1.0) / 2400) / 0.6) ** 2)
    bed = np.fft.irfft(np.fft.rfft(rng.standard_normal(n)) / (1 + freqs / 500), n)
    out = np.fft.irfft(np.fft.rfft(splashes) * band, n) + 0.3 * bed / np.abs(bed).max()
    return (0.5 * out / np.abs(out).max()).astype(np.float32)


def insects(sr: int = 22050, *, seconds: float = 5.0, seed: int = 0) -> np.ndarray:
    """Chirping insect-like tone train, after a field cricket: about three chirps a second,
    each four 30 Hz pulses of a 4.5 kHz tone warbling by ±150 Hz, over faint noise.
    ``(samples,)`` at ``sr`` Hz, peak 0.5."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    out = 0.01 * rng.standard_normal(n)
    t = np.arange(int(0.13 * sr)) / sr
    pulses = np.maximum(np.sin(2 * np.pi * 30 * t), 0) ** 2
    starts = np.arange(0.0, seconds, 0.35)
    for start in starts + rng.uniform(0, 0.04, starts.size):
        s = int(start * sr)
        if s >= n:
            break
        freq = 4500 + 150 * np.sin(2 * np.pi * 8 * t + rng.uniform(0, 2 * np.pi))
        chirp = pulses * np.sin(2 * np.pi * np.cumsum(freq) / sr)
        out[s : s + t.size] += chirp[: n - s]
    return (0.5 * out / np.abs(out).max()).astype(np.float32)
