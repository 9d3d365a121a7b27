"""The structure term: against an independent librosa/NumPy computation, and its behaviour
on synthetic notes (timbre-invariant, pitch- and timing-sensitive)."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from audiostyle.dsp import Spectrogram
from audiostyle.extractors.base import Extractor
from audiostyle.synthesis.structure import HOP, MEL_BANDS, N_FFT, StructureLoss
from audiostyle.synthesis.terms import Signal

SR = 22050
#: The loudness slack extractors take unless they say otherwise.
SLACK_DB = Extractor.defaults.loudness_slack_db


def _notes(midis: list[int], *, partials: int, seconds: float = 0.4, decay: float = 0.3,
           offset: float = 0.0) -> np.ndarray:
    """Harmonic notes one after another: ``partials`` harmonics of falling amplitude."""
    n = int(seconds * SR)
    t = np.arange(n) / SR
    out = np.zeros(int(offset * SR) + n * len(midis))
    for i, midi in enumerate(midis):
        f0 = 440.0 * 2 ** ((midi - 69) / 12)
        note = sum(np.sin(2 * np.pi * k * f0 * t) / k**decay for k in range(1, partials + 1)
                   if k * f0 < SR / 2)
        start = int(offset * SR) + i * n
        out[start: start + n] += note * np.exp(-t / 0.15) * np.minimum(t / 0.005, 1)
    return (0.3 * out / np.abs(out).max()).astype(np.float32)


MELODY = [62, 57, 59, 54, 55, 50, 55, 57, 62, 66]


def _reference_parts(content: np.ndarray, output: np.ndarray, slack_db: float
                     ) -> dict[str, float]:
    """The three parts computed with librosa's STFT, chroma and mel filters and NumPy."""
    def power(y: np.ndarray) -> np.ndarray:
        spec = librosa.stft(y.astype(np.float64), n_fft=N_FFT, hop_length=HOP,
                            window="hann", center=True, pad_mode="constant")
        return np.abs(spec) ** 2

    pc, po = power(content), power(output)
    mel_c = librosa.feature.melspectrogram(S=pc, sr=SR, n_mels=MEL_BANDS)
    mel_o = librosa.feature.melspectrogram(S=po, sr=SR, n_mels=MEL_BANDS)
    floor = mel_c.max() * 1e-8
    # C1 … C8, every octave alike; frames within 40 dB of the content's loudest, alike
    hz = librosa.fft_frequencies(sr=SR, n_fft=N_FFT)
    in_range = (hz >= librosa.note_to_hz("C1")) & (hz <= librosa.note_to_hz("C8"))
    chroma_c, chroma_o = (librosa.feature.chroma_stft(S=p * in_range[:, None], sr=SR,
                                                      tuning=0.0, norm=None, octwidth=None)
                          for p in (pc, po))
    energy = chroma_c.sum(0)
    weights = (energy > energy.max() * 1e-4) / np.count_nonzero(energy > energy.max() * 1e-4)
    r = [np.corrcoef(a, b)[0, 1] if a.std() > 0 and b.std() > 0 else 0.0
         for a, b in zip(chroma_o.T, chroma_c.T, strict=True)]

    def course(mel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        log = np.log(mel + floor)
        return np.maximum(np.diff(log, axis=1), 0).mean(0), np.log((mel + floor).sum(0))

    (on_c, loud_c), (on_o, loud_o) = course(mel_c), course(mel_o)
    return {"chroma": 1 - float(np.dot(weights, r)),
            "onsets": 1 - float(np.corrcoef(on_o, on_c)[0, 1]),
            "loudness": _loudness_distance(loud_o, loud_c, slack_db)}


def _loudness_distance(loud_o: np.ndarray, loud_c: np.ndarray, slack_db: float) -> float:
    """Centred log-energy courses (nepers): the squared excess of their difference over
    ``slack_db``, relative to the content's spread."""
    slack = np.log(10 ** (slack_db / 10))
    centred_c = loud_c - loud_c.mean()
    excess = np.maximum(np.abs(loud_o - loud_o.mean() - centred_c) - slack, 0)
    return float(np.sum(excess**2) / np.sum(centred_c**2))


@pytest.mark.parametrize("slack_db", [0.0, 5.0])
@pytest.mark.parametrize("front_end", ["waveform", "log-spectrogram"])
def test_parts_match_an_independent_computation(front_end: str, slack_db: float) -> None:
    content = _notes(MELODY, partials=8)
    rng = np.random.default_rng(0)
    output = _notes(MELODY[::-1], partials=3) + 0.02 * rng.standard_normal(content.size)
    output = output.astype(np.float32)
    spectrogram = Spectrogram(N_FFT, HOP)
    c = torch.from_numpy(content.astype(np.float64))[None]
    o = torch.from_numpy(output.astype(np.float64))[None]
    if front_end == "waveform":
        loss = StructureLoss(c, SR, None, slack_db=slack_db)
        parts = loss.parts(o)
    else:
        loss = StructureLoss(c, SR, spectrogram.double(), slack_db=slack_db)
        parts = loss.parts(spectrogram.double()(o))
    expected = _reference_parts(content, output, slack_db)
    for name, value in expected.items():
        assert float(parts[name][0]) == pytest.approx(value, abs=2e-3), name
    signal = Signal(o, o) if front_end == "waveform" else Signal(spectrogram.double()(o))
    assert float(loss(signal)) == pytest.approx(sum(expected.values()) / 3, abs=2e-3)


@pytest.mark.parametrize("n_fft", [512, N_FFT])
def test_the_extractors_spectrogram_is_read_only_when_it_resolves_as_finely(n_fft: int) -> None:
    """In a waveform domain the term gets both the extractor's input and the waveform: a
    2048-point front end is read as it is (no STFT of its own), a coarser one is not (its
    chroma would blur); either way the value is the independent computation's."""
    content = _notes(MELODY, partials=8)
    output = _notes(MELODY[::-1], partials=3)
    c = torch.from_numpy(content.astype(np.float64))[None]
    o = torch.from_numpy(output.astype(np.float64))[None]
    spectrogram = Spectrogram(n_fft, n_fft // 4).double()
    loss = StructureLoss(c, SR, spectrogram, slack_db=SLACK_DB)
    assert loss.reads_spectrogram == (n_fft >= N_FFT)
    expected = sum(_reference_parts(content, output, SLACK_DB).values()) / 3
    assert float(loss(Signal(spectrogram(o), o))) == pytest.approx(expected, abs=2e-3)


def _parts(content: np.ndarray, output: np.ndarray, slack_db: float = SLACK_DB
           ) -> dict[str, float]:
    loss = StructureLoss(torch.from_numpy(content)[None], SR, None, slack_db=slack_db)
    return {k: float(v[0]) for k, v in loss.parts(torch.from_numpy(output)[None]).items()}


def test_identical_signals_score_zero() -> None:
    content = _notes(MELODY, partials=8)
    assert all(abs(v) < 1e-5 for v in _parts(content, content).values())


def test_timbre_is_free_but_pitch_and_timing_are_not() -> None:
    content = _notes(MELODY, partials=8, decay=0.5)
    retimbred = _notes(MELODY, partials=3, decay=1.5)  # same notes, other spectrum
    transposed = _notes([m + 1 for m in MELODY], partials=8, decay=0.5)  # a semitone up
    shifted = _notes(MELODY, partials=8, decay=0.5, offset=0.2)[: content.size]  # half a note
    noise = (0.1 * np.random.default_rng(1).standard_normal(content.size)).astype(np.float32)
    same, up, late, hiss = (_parts(content, y) for y in (retimbred, transposed, shifted, noise))
    assert same["chroma"] < 0.15
    assert up["chroma"] > 0.7 and hiss["chroma"] > 0.8
    assert up["onsets"] < 0.2  # a transposed copy keeps the rhythm
    assert late["onsets"] > 0.6 and late["loudness"] > 0.5
    assert same["onsets"] < 0.2 and same["loudness"] < 0.2


def test_a_steady_texture_filling_the_pauses_costs_the_loudness_range() -> None:
    """Notes with rests between them: a copy 10 dB quieter and a hiss that lifts the rests by
    less than a 5-dB slack cost nothing; louder hiss squeezes the course flat and costs more
    the louder it is, and a wider slack forgives more of it."""
    n = int(0.2 * SR)
    notes = [np.concatenate([_notes([m], partials=8, seconds=0.2), np.zeros(n, np.float32)])
             for m in MELODY]
    content = np.concatenate(notes) + 3e-4 * np.random.default_rng(2).standard_normal(
        2 * n * len(MELODY)).astype(np.float32)
    hiss = np.random.default_rng(3).standard_normal(content.size).astype(np.float32)

    def loudness(output: np.ndarray, slack_db: float = 5.0) -> float:
        return _parts(content, output.astype(np.float32), slack_db)["loudness"]

    assert loudness(0.3 * content) < 1e-6
    assert loudness(content + 3e-4 * hiss) < 1e-6
    filled = [loudness(content + level * hiss) for level in (0.001, 0.01, 0.03)]
    assert 0 < filled[0] < filled[1] < filled[2] and filled[2] > 0.3
    assert loudness(content + 0.01 * hiss, slack_db=10.0) < 0.5 * filled[1]


def test_gradient_is_finite_and_points_back_to_the_content() -> None:
    content = torch.from_numpy(_notes(MELODY, partials=8).astype(np.float64))[None]
    loss = StructureLoss(content, SR, None, slack_db=SLACK_DB)
    start = content + 0.05 * torch.randn(content.shape, generator=torch.Generator().manual_seed(0),
                                         dtype=torch.float64)
    x = start.clone().requires_grad_(True)
    value = loss(Signal(x, x))
    value.backward()
    assert torch.isfinite(x.grad).all()
    with torch.no_grad():  # a small step against the gradient lowers the loss
        step = x - 1e-3 * x.grad / x.grad.abs().max()
        stepped = loss(Signal(step, step))
    assert float(stepped) < float(value.detach())


def test_soft_notes_keep_their_pitch_as_loud_ones() -> None:
    """Every audible frame counts alike in the chroma part: a melody whose every other note is
    20 dB softer loses about half its chroma score when only the soft notes are transposed
    (an energy-weighted term would hardly notice)."""
    def melody(shift: int) -> np.ndarray:
        notes = [_notes([m + (shift if i % 2 else 0)], partials=8) * (0.1 if i % 2 else 1.0)
                 for i, m in enumerate(MELODY)]
        return np.concatenate(notes).astype(np.float32)

    content, soft_moved = melody(0), melody(1)
    whole_moved = _notes([m + 1 for m in MELODY], partials=8)
    half, whole = _parts(content, soft_moved)["chroma"], _parts(content, whole_moved)["chroma"]
    assert 0.3 * whole < half < 0.7 * whole


def test_no_pitch_class_below_c1_or_above_c8() -> None:
    """Rumble under C1 and hiss tones over C8 leave the chroma part as it is."""
    content = _notes(MELODY, partials=4)
    t = np.arange(content.size) / SR
    extra = 0.3 * (np.sin(2 * np.pi * 20 * t) + np.sin(2 * np.pi * 6000 * t))
    assert _parts(content, (content + extra).astype(np.float32))["chroma"] < 0.02


def test_hand_written_gradient_of_the_spectrogram_power_is_autograds() -> None:
    """The log-spectrogram view's power ``(e^max(x,0) − 1)²`` has its own backward; it agrees
    with finite differences, also where ``x`` is negative (the optimised spectrogram may go
    there) and the power is 0."""
    from audiostyle.synthesis.structure import _LogMagnitudePower

    x = torch.linspace(-1.0, 2.0, 37, dtype=torch.float64).reshape(1, 37, 1)
    x = (x + 1e-3).requires_grad_(True)  # keep off the kink at 0
    assert torch.autograd.gradcheck(_LogMagnitudePower.apply, (x,))
