"""Objective evaluation of a result: style match, content kept, copy check and sanity.

:func:`evaluate` scores one output against the style (and the content, when given);
:class:`Evaluator` does the same for many outputs of one content/style pair, analysing the
inputs once. What the numbers mean:

- **style match**, per extractor: the statistics SNR of the output against the style,
  ``10·log10(‖S*‖² / ‖S − S*‖²)`` per layer or statistic class, averaged (dB, higher = closer;
  ``−SNR`` is the relative Gram/statistics distance in dB; ``inf`` = identical statistics;
  McDermott & Simoncelli called a texture synthesis successful above 20 dB). The content's own
  SNR is given too, and the *gain* (output − content) says how far the transfer moved.
  Beside the extractors, always, the **independent** judge (:data:`INDEPENDENT`): the same
  criterion on texture statistics that no loss optimises (:mod:`.independent`), so that a
  result's gain is not measured by its own loss.
- **content kept**: chroma similarity (melody/harmony), onset-envelope correlation (rhythm)
  and log-mel envelope correlation (timing of the spectral shape), 1 = kept, 0 = unrelated;
  and, as a measure no extractor's loss uses, the note F1 of a Basic Pitch transcription of the
  output against the content's (:mod:`.note_score`; skipped with a note when its
  weights are not installed; unreliable under noisy or percussive textures).
- **copy**: maximum normalised cross-correlation with the style; near 1 = a replay of the
  style rather than a transfer (lower is better).
- **sanity**: peak, clipping, non-finite samples, silence and loudness (LUFS).

Details of each metric are in :mod:`audiostyle.evaluation.metrics`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from .. import extractors as registry
from .._util import number_text
from ..errors import AudioStyleError
from ..extractors import Extractor, build_extractor
from ..io.audio import Audio, AudioLike, as_audio, resample, to_mono
from ..io.devices import resolve_device
from ..synthesis.losses import StyleLoss
from . import transcription
from .independent import IndependentJudge
from .metrics import ContentReference, Sanity, copy_score, sanity
from .note_score import NoteReference, NoteScore
from .statistics_snr import snr_to, target_loss

#: Rate (Hz) at which the content, note and copy metrics compare sounds (Basic Pitch's).
ANALYSIS_SR = transcription.SR

#: The name of the independent judge's entry in :attr:`Evaluation.style_match`.
INDEPENDENT = "independent"

ExtractorChoice = str | Iterable[str] | Mapping[str, Mapping[str, Any] | Extractor] | None


@dataclass(frozen=True)
class StyleMatch:
    """Statistics SNR to the style under one extractor, in dB (higher = closer).

    Attributes:
        snr_db: mean over the extractor's layers / statistic classes.
        layers: SNR of each layer / class.
        content_snr_db: the same number for the content (None without a content).
    """

    snr_db: float
    layers: dict[str, float]
    content_snr_db: float | None = None

    @property
    def gain_db(self) -> float | None:
        """How much closer to the style the output is than the content, in dB."""
        if self.content_snr_db is None:
            return None
        if self.snr_db == self.content_snr_db:  # also inf == inf
            return 0.0
        return self.snr_db - self.content_snr_db


@dataclass(frozen=True)
class ContentKept:
    """Similarity with the content (see :mod:`audiostyle.evaluation.metrics`; 1 = kept,
    0 = unrelated), and the note F1 of the output's transcription (None when it could not be
    computed)."""

    chroma: float
    onsets: float
    envelopes: float
    transcription: NoteScore | None = None


@dataclass(frozen=True)
class Evaluation:
    """All metrics of one output (see the module docstring for their meaning)."""

    name: str
    seconds: float
    sr: int
    channels: int
    style_match: dict[str, StyleMatch]
    content: ContentKept | None
    copy: float
    sanity: Sanity
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain nested dict (floats may be ``inf``/``nan``; see
        :func:`audiostyle._util.to_json`)."""
        out = asdict(self)
        for name, match in self.style_match.items():
            out["style_match"][name]["gain_db"] = match.gain_db
        out["notes"] = list(self.notes)
        return out

    def summary(self) -> str:
        """The metrics as readable lines, with what each number means."""
        kind = {1: "mono", 2: "stereo"}.get(self.channels, f"{self.channels} channels")
        lines = [f"{self.name}  ({self.seconds:.1f} s, {self.sr} Hz, {kind})",
                 "  style match: statistics SNR to the style, dB (higher = closer)"]
        for name, m in self.style_match.items():
            against = "" if m.gain_db is None else (
                f"   content {number_text(m.content_snr_db, '.1f')} dB, "
                f"gain {number_text(m.gain_db, '+.1f')} dB")
            lines.append(f"    {name:12} {number_text(m.snr_db, '6.1f')} dB{against}")
        if self.content is not None:
            c = self.content
            lines += ["  content kept: correlation with the content (1 = kept, 0 = unrelated)",
                      f"    chroma {number_text(c.chroma)}   onsets {number_text(c.onsets)}   "
                      f"envelopes {number_text(c.envelopes)}"]
            if (t := c.transcription) is not None:
                lines.append(f"    note F1 {number_text(t.f1)}   precision "
                             f"{number_text(t.precision)}   recall {number_text(t.recall)}   "
                             f"({t.matched} of {t.content_notes} content notes among the "
                             f"output's {t.output_notes})")
        s = self.sanity
        lines += [
            f"  copy check: {number_text(self.copy)}  (max normalised cross-correlation with the "
            "style; near 1 = a replay of the style)",
            f"  sanity: loudness {number_text(s.loudness_lufs, '.1f')} LUFS, peak "
            f"{number_text(s.peak_dbfs, '.1f')} dBFS, clipped {100 * s.clipped_fraction:.2f} %, "
            f"silent {100 * s.silent_fraction:.0f} %, non-finite {s.nonfinite}",
        ]
        return "\n".join(lines + [f"  note: {note}" for note in self.notes])


class Evaluator:
    """Evaluates outputs of one style (and content) pair; the inputs are analysed once (the
    style's statistics under each extractor and the independent judge's, the content's
    reference envelopes).

    Args:
        style: the style sound (path, :class:`~audiostyle.io.audio.Audio` or array with ``sr``).
        content: the content sound, or None (for textures: no content metrics).
        sr: sample rate in Hz of array inputs.
        extractors: extractors for the style match: None for every registered one with its
            default options; names; or ``{name: options or an Extractor instance}``.
        skip_unavailable: skip extractors that cannot run here (weights not installed, input
            too short) with a note instead of raising; default: only when ``extractors`` is
            None.
        device: torch device for the extractors.
    """

    def __init__(
        self,
        style: AudioLike,
        content: AudioLike | None = None,
        *,
        sr: int | None = None,
        extractors: ExtractorChoice = None,
        skip_unavailable: bool | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        self.style = as_audio(style, sr, name="style")
        self.content = None if content is None else as_audio(content, sr, name="content")
        self.device = resolve_device(device)
        self.notes: list[str] = []
        self._style_mono = _mono(self.style)
        content_mono = None if self.content is None else _mono(self.content)
        self._reference = None if content_mono is None else ContentReference(
            content_mono, ANALYSIS_SR)
        self._notes = None if content_mono is None else self._note_reference(content_mono)
        self._judge = IndependentJudge(self._style_mono, ANALYSIS_SR)
        self._judge_content = None if content_mono is None else self._judge(
            content_mono, ANALYSIS_SR)["mean"]
        self._strict = extractors is not None if skip_unavailable is None else not skip_unavailable
        self._losses: dict[str, StyleLoss] = {}  # each matching the style's statistics
        self._content_snr: dict[str, float | None] = {}
        for name, choice in _choices(extractors).items():
            try:
                net = choice if isinstance(choice, Extractor) else build_extractor(name, choice)
                style_mono = resample(to_mono(self.style), net.sample_rate)
                self._losses[name] = target_loss(style_mono, net.to(self.device), self.device)
                self._content_snr[name] = None if self.content is None else self._snr(
                    self.content, name)["mean"]
            except AudioStyleError as exc:
                if self._strict:
                    raise
                self.notes.append(f"{name} not used: {exc}")
                self._losses.pop(name, None)

    def __call__(self, output: AudioLike, sr: int | None = None) -> Evaluation:
        """All metrics of ``output`` (path, Audio or array with ``sr``)."""
        audio = as_audio(output, sr, name="output", finite=False)
        checks = sanity(audio.samples, audio.sr)
        clean = Audio(np.nan_to_num(audio.samples, nan=0.0, posinf=0.0, neginf=0.0),
                      audio.sr, audio.name)
        notes = list(self.notes)
        if checks.nonfinite:
            notes.append(f"{checks.nonfinite} NaN/infinite samples were read as 0")
        matches = {}
        for name in self._losses:
            try:
                layers = self._snr(clean, name)
            except AudioStyleError as exc:
                if self._strict:
                    raise
                notes.append(f"{name} not used: {exc}")
                continue
            mean = layers.pop("mean")
            matches[name] = StyleMatch(mean, layers, self._content_snr[name])
        mono = _mono(clean)
        try:
            layers = self._judge(mono, ANALYSIS_SR)
            matches[INDEPENDENT] = StyleMatch(layers.pop("mean"), layers, self._judge_content)
        except AudioStyleError as exc:  # too short to judge
            notes.append(f"{INDEPENDENT} judge not used: {exc}")
        kept = None
        if self._reference is not None:
            kept = ContentKept(
                chroma=self._reference.chroma_similarity(mono),
                onsets=self._reference.onset_correlation(mono),
                envelopes=self._reference.envelope_correlation(mono),
                transcription=None if self._notes is None else self._notes.score(mono),
            )
        return Evaluation(
            name=audio.name, seconds=audio.seconds, sr=audio.sr, channels=audio.channels,
            style_match=matches, content=kept, copy=copy_score(mono, self._style_mono),
            sanity=checks, notes=tuple(notes),
        )

    def _note_reference(self, content: np.ndarray) -> NoteReference | None:
        """The content's transcription, or None with a note when the model cannot run."""
        try:
            return NoteReference(content)
        except AudioStyleError as exc:
            self.notes.append(f"note F1 not computed: {exc}")
            return None

    def _snr(self, audio: Audio, name: str) -> dict[str, float]:
        return snr_to(self._losses[name], audio, self.device)


def evaluate(
    output: AudioLike,
    *,
    style: AudioLike,
    content: AudioLike | None = None,
    sr: int | None = None,
    extractors: ExtractorChoice = None,
    skip_unavailable: bool | None = None,
    device: str | torch.device | None = None,
) -> Evaluation:
    """Metrics of a style-transfer (or texture) ``output``; see the module docstring.

    >>> import numpy as np, audiostyle
    >>> t = np.arange(22050) / 22050
    >>> a = np.sin(2 * np.pi * 440 * t)
    >>> e = audiostyle.evaluate(a, style=a, content=a, sr=22050,
    ...                         extractors=["shallow"])
    >>> round(e.copy, 3), e.style_match["shallow"].snr_db > 60
    (1.0, True)

    Args:
        output: the sound to judge (path, :class:`~audiostyle.io.audio.Audio` or array).
        style, content, sr, extractors, skip_unavailable, device: as for
            :class:`Evaluator`.
    """
    evaluator = Evaluator(style, content, sr=sr, extractors=extractors,
                          skip_unavailable=skip_unavailable, device=device)
    return evaluator(output, sr)


def _choices(extractors: ExtractorChoice) -> dict[str, dict[str, Any] | Extractor]:
    if extractors is None:
        return {name: {} for name in registry.available()}
    if isinstance(extractors, str):
        return {extractors: {}}
    if isinstance(extractors, Mapping):
        return {name: choice if isinstance(choice, Extractor) else dict(choice or {})
                for name, choice in extractors.items()}
    return {name: {} for name in extractors}


def _mono(audio: Audio) -> np.ndarray:
    """``(time,)`` float32 at :data:`ANALYSIS_SR`."""
    return resample(to_mono(audio), ANALYSIS_SR).samples[0]
