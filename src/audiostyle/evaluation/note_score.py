"""Note F1: how many of the content's transcribed notes the output still plays.

A content measure that no extractor's loss optimises: the content and the output are both
transcribed by Basic Pitch (:mod:`.transcription`) and the output's notes are matched one to
one against the content's by mir_eval (``transcription.match_notes``): a pair matches when
the pitches are within 50 cents and the onsets within 50 ms. Offsets are ignored
(mir_eval's *onset-only* note metric): how long a note rings is the style's business (a
bongo's decay, a string's sustain) and offsets are the least reliable part of a
transcription, while pitch and onset are the melody and rhythm a transfer must keep.

Unreliable where the transcriber is: under dense noisy textures (rain, applause, crickets)
Basic Pitch hears few notes even when the melody is audible, so recall is low; percussive
styles (drums, clicks) add spurious onsets, and inharmonic timbres add notes at partials, so
precision drops; speech content gives a handful of gliding "notes". It scores pitch and
timing exactly: a melody transposed by a semitone scores about 0 while its chroma and onset
correlations stay high. Compare outputs of one content with each other rather than reading
the absolute value.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np

from .transcription import Notes, Transcriber

#: Largest onset difference (s) and pitch difference (cents) of a matching pair.
ONSET_TOLERANCE = 0.05
PITCH_TOLERANCE = 50.0


@dataclass(frozen=True)
class NoteScore:
    """Onset-only note metrics of an output against the content.

    Attributes:
        f1: harmonic mean of precision and recall (NaN when the content has no notes).
        precision: share of the output's notes that match a content note.
        recall: share of the content's notes that the output plays.
        content_notes: notes transcribed in the content.
        output_notes: notes transcribed in the output.
        matched: notes matched one to one.
    """

    f1: float
    precision: float
    recall: float
    content_notes: int
    output_notes: int
    matched: int

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def note_score(content: Notes, output: Notes) -> NoteScore:
    """Match ``output`` notes against ``content`` notes (see the module docstring)."""
    matched = 0
    if len(content) and len(output):
        from mir_eval.transcription import match_notes

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            matched = len(match_notes(
                content.intervals, content.hz, output.intervals, output.hz,
                onset_tolerance=ONSET_TOLERANCE, pitch_tolerance=PITCH_TOLERANCE,
                offset_ratio=None))
    precision = matched / len(output) if len(output) else 0.0
    recall = matched / len(content) if len(content) else math.nan
    total = len(content) + len(output)
    f1 = 2 * matched / total if len(content) else math.nan
    return NoteScore(f1=f1, precision=precision, recall=recall, content_notes=len(content),
                     output_notes=len(output), matched=matched)


class NoteReference:
    """The content's transcription, made once, to score outputs with :func:`note_score`.

    Args:
        content: mono samples ``(time,)`` at :data:`~.transcription.SR` Hz (outputs must
            have the same rate).
        transcriber: a loaded :class:`~.transcription.Transcriber` (default: a new one;
            raises :class:`~audiostyle.errors.AudioStyleError` when the weights are not
            installed).
    """

    def __init__(self, content: np.ndarray, transcriber: Transcriber | None = None) -> None:
        self.transcriber = transcriber or Transcriber()
        self.notes = self.transcriber.notes(content)

    def score(self, output: np.ndarray) -> NoteScore:
        """Note metrics of mono ``output`` ``(time,)`` at the content's rate."""
        return note_score(self.notes, self.transcriber.notes(output))


