"""Basic Pitch note transcription and the note F1: windowing, note creation and scoring against
hand-made answers, then the model on synthesised polyphonic music (skipped without weights)."""

from __future__ import annotations

import json
import math
import zipfile

import mir_eval
import numpy as np
import pytest

import audiostyle
from audiostyle import weights
from audiostyle._util import to_json
from audiostyle.demo import canon_melody
from audiostyle.errors import AudioStyleError
from audiostyle.evaluation import evaluator, transcription
from audiostyle.evaluation.metrics import ContentReference
from audiostyle.evaluation.note_score import NoteReference, note_score
from audiostyle.evaluation.transcription import (
    HOP,
    OVERLAP,
    SR,
    WINDOW,
    Notes,
    decode_notes,
)

needs_model = pytest.mark.skipif(
    weights.verify("basic-pitch") != "verified",
    reason="basic-pitch weights not installed (`audiostyle weights install basic-pitch`)")

KEY = 40  # MIDI 61


def test_windows_unwrap_and_frame_times_agree_on_a_ramp():
    """A fake network reading sample ``j · HOP`` of each window for frame j: after unwrapping,
    every frame must hold the index of the sample :func:`frame_times` says it is at."""
    n = int(7.3 * SR)
    ramp = np.arange(1, n + 1, dtype=np.float64)  # sample t holds t + 1 (0 = padding)
    batch = transcription.windows(ramp)
    assert batch.shape == (math.ceil(n / (WINDOW - OVERLAP)), WINDOW, 1)
    fake = batch[:, :: HOP][:, : transcription.WINDOW_FRAMES]  # (windows, 172, 1)
    frames = transcription.unwrap(fake, n)[:, 0]
    expected = transcription.frame_times(frames.size) * SR + 1
    np.testing.assert_allclose(frames, expected, rtol=0, atol=1e-6)
    assert frames[0] == 1 and n - HOP < frames[-1] <= n  # from the first sample to the last
    steps = set(np.diff(frames).tolist())  # a hop; a little less where windows meet
    assert steps == {HOP, HOP - (142 * HOP - (WINDOW - OVERLAP))}


def _posteriors(frames: int = 120) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((frames, 88)), np.zeros((frames, 88))


def test_a_note_lasts_while_its_frames_are_active_and_bridges_short_gaps():
    frames, onsets = _posteriors()
    frames[10:40, KEY] = 0.8
    frames[40:45, KEY] = 0.25  # 5 frames below the threshold: bridged
    frames[45:60, KEY] = 0.35  # (a sharper rise back would start a note of its own)
    onsets[10, KEY] = 0.9
    assert decode_notes(frames, onsets) == [(10, 60, KEY)]


def test_neighbours_are_absorbed_short_notes_dropped_and_gaps_split():
    frames, onsets = _posteriors()
    frames[10:40, KEY] = 0.7
    frames[10:40, [KEY - 1, KEY + 1]] = 0.4  # neighbours, rising too slowly for an onset
    onsets[10, KEY] = 0.9
    frames[10:21, 70] = 0.9  # 11 frames: not longer than the 127.7 ms minimum
    onsets[10, 70] = 0.9
    frames[20:40, 20] = 0.9  # two notes 20 frames apart, each with its onset
    frames[60:80, 20] = 0.9
    onsets[[20, 60], 20] = 0.9
    assert sorted(decode_notes(frames, onsets)) == [(10, 40, KEY), (20, 40, 20), (60, 80, 20)]


def test_weak_onsets_start_no_note_but_the_melodia_trick_finds_the_activity():
    frames, onsets = _posteriors()
    frames[10:40, KEY] = 0.8
    onsets[10, KEY] = 0.4  # below 0.5 (and inferred onsets are scaled to it)
    frames[50:80, 30] = 0.8
    assert decode_notes(frames, onsets, melodia=False) == []
    # the melodia trick follows the remaining activity (its end is the last active frame)
    assert sorted(decode_notes(frames, np.zeros_like(onsets))) == [(10, 39, KEY), (50, 79, 30)]


def test_rises_of_the_frame_posterior_count_as_onsets():
    frames, onsets = _posteriors()
    frames[30:60, KEY] = 0.9  # no onset posterior here, but a sharp rise
    onsets[5, 80] = 0.6  # sets the scale of inferred onsets
    frames[5:25, 80] = 0.9
    notes = decode_notes(frames, onsets, melodia=False)
    assert sorted(notes) == [(5, 25, 80), (30, 60, KEY)]


def _notes(rows: list[tuple[float, float, int]]) -> Notes:
    return Notes(np.array([r[:2] for r in rows], dtype=float).reshape(-1, 2),
                 np.array([r[2] for r in rows], dtype=int))


def test_note_score_counts_matches_by_onset_and_pitch_only():
    content = _notes([(0.0, 0.5, 60), (0.5, 1.0, 64), (1.0, 1.5, 67), (1.5, 2.0, 72)])
    assert note_score(content, content).f1 == 1.0
    output = _notes([
        (0.04, 0.2, 60),   # 40 ms late, much shorter: matches (offsets are ignored)
        (0.56, 1.0, 64),   # 60 ms late: no match
        (1.0, 1.5, 68),    # a semitone off: no match
        (1.5, 2.0, 72),    # exact
        (1.5, 2.0, 76),    # extra note
    ])
    score = note_score(content, output)
    assert (score.matched, score.content_notes, score.output_notes) == (2, 4, 5)
    assert score.precision == pytest.approx(2 / 5) and score.recall == pytest.approx(2 / 4)
    assert score.f1 == pytest.approx(2 * 2 / 9)
    hz = (content.hz, output.hz)
    assert score.f1 == pytest.approx(mir_eval.transcription.precision_recall_f1_overlap(
        content.intervals, hz[0], output.intervals, hz[1], offset_ratio=None)[2])
    empty = _notes([])
    assert note_score(content, empty).f1 == 0.0 and note_score(content, empty).recall == 0.0
    assert math.isnan(note_score(empty, output).f1)


def test_convert_refuses_a_file_that_is_not_the_wheel(tmp_path):
    bogus = tmp_path / "basic_pitch-0.4.0-py2.py3-none-any.whl"
    with zipfile.ZipFile(bogus, "w") as archive:
        archive.writestr("other.txt", "x")
    with pytest.raises(AudioStyleError, match=r"not the basic-pitch 0\.4\.0 wheel"):
        transcription.WEIGHTS.convert(bogus)
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"\x08\x07not a model")
    with pytest.raises(AudioStyleError, match="not Basic Pitch's"):
        transcription.WEIGHTS.convert(fake)


@pytest.fixture(scope="module")
def canon() -> NoteReference:
    return NoteReference(canon_melody(SR))


@needs_model
def test_transcribed_canon_has_its_melody_and_bass_at_their_times(canon):
    """Every half note of the Canon's top line and bass is found, on time."""
    top = (78, 76, 74, 73, 71, 69, 71, 73)
    bass = (50, 45, 47, 42, 43, 38, 43, 45)
    pairs = enumerate(zip(top, bass, strict=True))
    truth = _notes([(0.75 * i, 0.75 * (i + 1), p) for i, pair in pairs for p in pair])
    score = note_score(truth, canon.notes)
    assert score.recall == 1.0, score
    assert score.precision > 0.5  # plus some octave and harmonic errors


@needs_model
def test_note_f1_of_the_content_against_itself_noise_and_transpositions(canon):
    content = canon_melody(SR)
    chroma = ContentReference(content, SR)
    assert canon.score(content).f1 == 1.0
    assert canon.score(0.5 * content).f1 > 0.9
    noise = 0.2 * np.random.default_rng(0).standard_normal(content.size).astype(np.float32)
    assert canon.score(noise).f1 < 0.1
    for semitones, most in ((1, 0.05), (12, 0.3)):
        moved = canon_melody(SR, semitones=semitones)
        score = canon.score(moved)
        assert score.f1 < most, (semitones, score)
        assert chroma.onset_correlation(moved) > 0.9  # the rhythm is untouched
        played = canon.transcriber.notes(moved)
        on_time = mir_eval.transcription.match_note_onsets(canon.notes.intervals,
                                                           played.intervals)
        assert len(on_time) >= 0.6 * len(played), semitones  # same onsets, other pitches
    # an octave keeps the pitch classes: chroma cannot tell, the note F1 can
    assert chroma.chroma_similarity(canon_melody(SR, semitones=12)) > 0.9


@needs_model
def test_evaluate_reports_the_note_f1_in_summary_and_json(melody):
    result = audiostyle.evaluate(melody, style=melody[::-1].copy(), content=melody, sr=SR,
                                 extractors=["shallow"])
    notes = result.content.transcription
    assert notes.f1 == 1.0 and notes.matched == notes.content_notes > 10
    assert "note F1 1.00" in result.summary()
    data = json.loads(to_json(result.as_dict()))
    assert data["content"]["transcription"]["content_notes"] == notes.content_notes


def test_evaluate_without_the_model_skips_the_note_f1_with_a_note(monkeypatch, melody):
    def missing(content):
        raise AudioStyleError("weights for 'basic-pitch' are not installed: run ...")

    monkeypatch.setattr(evaluator, "NoteReference", missing)
    result = audiostyle.evaluate(melody, style=melody, content=melody, sr=SR,
                                 extractors=["shallow"])
    assert result.content.transcription is None and result.content.chroma > 0.99
    assert any(n.startswith("note F1 not computed: weights") for n in result.notes)
    assert "note F1 not computed" in result.summary()


@needs_model
def test_a_long_sound_in_several_batches_keeps_its_notes_on_time(canon):
    """Three Canons in a row (11 windows, two network calls): the notes of each repetition
    are the Canon's, shifted by its length."""
    content = canon_melody(SR)
    seconds = content.size / SR
    looped = canon.transcriber.notes(np.tile(content, 3))
    assert transcription.windows(np.tile(content, 3)).shape[0] > transcription.BATCH
    shifted = Notes(np.concatenate([canon.notes.intervals + k * seconds for k in range(3)]),
                    np.tile(canon.notes.pitches, 3))
    assert note_score(shifted, looped).f1 > 0.9
