"""Judging a result, never changing it.

- :mod:`.statistics_snr`: a sound's style statistics (:func:`~.statistics_snr.stats`) and the
  statistics SNR between two sounds (:func:`~.statistics_snr.statistics_snr`);
- :mod:`.metrics`: signal metrics on arrays (content kept, copy check, sanity);
- :mod:`.transcription` and :mod:`.note_score`: Basic Pitch's notes of a sound (ONNX in
  onnxruntime) and the note F1 of an output against the content, the content measure no
  loss uses;
- :mod:`.evaluator`: :func:`~.evaluator.evaluate` / :class:`~.evaluator.Evaluator`, all of
  them for one result.
"""

from .evaluator import Evaluation, Evaluator, StyleMatch, evaluate

__all__ = ["Evaluation", "Evaluator", "StyleMatch", "evaluate"]
