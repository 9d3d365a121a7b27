"""The content's structure without its timbre: pitch classes, onsets and loudness over time.

The paper's content loss compares the *same* feature maps the style loss matches, so the two
pull against each other: any move towards the style's timbre is a move away from the content.
What a listener keeps of a melody or a voice under a new texture is its structure — which
pitch classes sound when, where the notes and syllables start, how loud each moment is — and
these hardly depend on timbre. :class:`StructureLoss` keeps them:

- **pitch classes**: a 12-bin chroma of the STFT power, every octave from C1 to C8 counted
  alike (as a constant-Q chroma does), each frame centred and compared by correlation with
  the content's; every frame the content sounds in (within :data:`ACTIVE_DB` of its loudest)
  counts alike, so soft notes and syllables keep their pitch as loud ones do;
- **onsets**: spectral flux of the log-mel spectrogram (the rise of each band, summed), whose
  time course is correlated with the content's;
- **loudness**: the log of each frame's mel energy, less its mean over time: the squared
  excess of each frame's distance to the content's over a slack (``slack_db``), relative to
  the content's own spread. It counts the course's *range*, not only its shape: a steady
  texture filling the content's pauses squeezes the course flat while its correlation with
  the content's stays high, and the soft notes and syllables under that texture lose their
  pitch; within the slack the texture may still swell and breathe.

The chroma and onset parts are ``1 − correlation`` (0 = the same course, 1 = unrelated, 2 =
opposite); the loudness part is 0 within the slack and below 1 for a flat course. The loss is
the parts' mean. None depends on overall level or spectral colour, so the style may change
both.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from ..dsp import Spectrogram
from .terms import Signal

#: STFT of the onset and loudness courses (at the extractor's rate): about 93 ms frames every
#: 23 ms at 22050 Hz.
N_FFT = 2048
HOP = 512
#: Mel bands of the onset and loudness envelopes.
MEL_BANDS = 40
#: Power floor of the log-mel spectrogram, relative to the content's loudest bin (-80 dB).
FLOOR_DB = -80.0
#: Pitch classes of the chroma.
PITCH_CLASSES = 12
#: The chroma's range: C1 … C8 (Hz); the STFT's bins outside it count for no pitch class.
CHROMA_HZ = (32.70, 4186.0)
#: Content frames whose chroma energy is this far below the loudest frame's count for nothing
#: in the chroma part (dB of power).
ACTIVE_DB = -40.0
#: The three parts, weighted alike.
PARTS = ("chroma", "onsets", "loudness")


class _Courses(nn.Module):
    """The three courses of an STFT power ``(batch, n_fft // 2 + 1, frames)``:
    ``{"chroma": (batch, PITCH_CLASSES, frames), "onsets": (batch, frames - 1), "loudness": (batch,
    frames)}`` (onsets and loudness in nepers of mel power above a floor)."""

    def __init__(self, sr: int, n_fft: int) -> None:
        super().__init__()
        import librosa

        chroma = librosa.filters.chroma(sr=sr, n_fft=n_fft, n_chroma=PITCH_CLASSES, tuning=0.0,
                                      octwidth=None)
        hz = np.fft.rfftfreq(n_fft, 1 / sr)
        chroma[:, (hz < CHROMA_HZ[0]) | (hz > CHROMA_HZ[1])] = 0
        mel = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=MEL_BANDS)
        # one matrix, chroma rows then mel rows: one product (and one in the gradient) for both
        self.register_buffer("basis", torch.from_numpy(np.concatenate([chroma, mel])
                                                       .astype(np.float32)), persistent=False)

    def floor(self, power: Tensor) -> float:
        """The log-mel floor for a content of STFT power ``power``: :data:`FLOOR_DB` below
        its loudest mel bin."""
        return max(float((self.basis[PITCH_CLASSES:].to(power.dtype) @ power).amax()), 1e-20) \
            * 10 ** (FLOOR_DB / 10)

    def forward(self, power: Tensor, floor: float) -> dict[str, Tensor]:
        bands = self.basis.to(power.dtype) @ power
        log_mel = torch.log(bands[..., PITCH_CLASSES:, :] + floor)
        return {
            "chroma": bands[..., :PITCH_CLASSES, :],
            "onsets": (log_mel[..., 1:] - log_mel[..., :-1]).clamp_min(0).mean(-2),
            "loudness": torch.logsumexp(log_mel, dim=-2),
        }


class StructureLoss(nn.Module):
    """The mean of the three parts (see the module), a scalar summed over the batch.

    Args:
        content: the content waveform ``(batch, time)`` at ``sr`` Hz (the batch are the
            channels being optimised).
        sr: its rate in Hz.
        spectrogram: the extractor's ``log(1 + |STFT|)`` front end, for the spectrogram domain
            (where only that is at hand); None for extractors without. Waveforms are
            analysed with their own :data:`N_FFT`-point STFT.
        slack_db: how far (dB of power) a frame's loudness may stray from the content's,
            both less their mean, before the loudness part counts it.

    As a loss term, it takes the :class:`~.terms.Signal` being optimised: the extractor's
    ``log(1 + |STFT|)`` (its input) is read whenever its frames are at least :data:`N_FFT` long
    (the random nets': the courses then cost no STFT of their own) or the domain has no
    waveform; otherwise the waveform is analysed.
    """

    def __init__(self, content: Tensor, sr: int, spectrogram: Spectrogram | None, *,
                 slack_db: float) -> None:
        super().__init__()
        device = content.device
        self.content = content
        self.slack = slack_db / 10 * math.log(10)  # in nepers of power, the course's unit
        self.stft = Spectrogram(N_FFT, HOP).to(device)
        self.spectrogram = spectrogram
        self.views = nn.ModuleDict({"waveform": _Courses(sr, N_FFT).to(device)})
        if spectrogram is not None:
            self.views["spectrogram"] = _Courses(sr, spectrogram.n_fft).to(device)
        #: the extractor's STFT resolves pitch classes as finely as our own
        self.reads_spectrogram = spectrogram is not None and spectrogram.n_fft >= N_FFT
        self._targets: dict[str, dict[str, Tensor]] = {}
        self._floors: dict[str, float] = {}

    def _power(self, view: str, x: Tensor) -> Tensor:
        """STFT power of ``x`` (a waveform, or ``log(1 + |STFT|)`` in the spectrogram view)."""
        if view == "waveform":
            spec = self.stft.stft(x)
            return spec.real.square() + spec.imag.square()
        return _LogMagnitudePower.apply(x)

    def _target(self, view: str) -> dict[str, Tensor]:
        if view not in self._targets:
            with torch.no_grad():
                x = self.content if view == "waveform" else self.spectrogram(self.content)
                power = self._power(view, x)
                self._floors[view] = self.views[view].floor(power)
                courses = self.views[view](power, self._floors[view])
            energy = courses["chroma"].sum(-2)
            active = (energy > energy.amax(-1, keepdim=True) * 10 ** (ACTIVE_DB / 10)).to(
                energy.dtype)
            self._targets[view] = {
                "weight": active / active.sum(-1, keepdim=True).clamp_min(1),
                **{part: _centred(courses[part], -2 if part == "chroma" else -1)
                   for part in PARTS},
            }
        return self._targets[view]

    def parts(self, x: Tensor) -> dict[str, Tensor]:
        """Each part's distance to the content, ``{part: (batch,)}``, for a waveform ``x``
        ``(batch, time)`` or a log-magnitude spectrogram ``(batch, bins, frames)``."""
        view = "waveform" if x.dim() == 2 else "spectrogram"
        target = self._target(view)
        courses = self.views[view](self._power(view, x), self._floors[view])
        chroma, target_chroma = _common(courses["chroma"], target["chroma"])
        weight = target["weight"][..., :chroma.shape[-1]]
        r_chroma = (_cosine(_centred(chroma, -2), target_chroma, -2) * weight).sum(-1)
        onsets, target_onsets = _common(courses["onsets"], target["onsets"])
        loudness, target_loudness = _common(courses["loudness"], target["loudness"])
        excess = ((_centred(loudness, -1) - target_loudness).abs() - self.slack).clamp_min(0)
        return {"chroma": 1 - r_chroma,
                "onsets": 1 - _cosine(_centred(onsets, -1), target_onsets, -1),
                "loudness": excess.square().sum(-1)
                / target_loudness.square().sum(-1).clamp_min(1e-30)}

    def forward(self, signal: Signal) -> Tensor:
        wave = signal.wave
        parts = self.parts(signal.inputs if wave is None or self.reads_spectrogram else wave)
        return sum(parts[p] for p in PARTS).sum() / len(PARTS)


class _LogMagnitudePower(torch.autograd.Function):
    """``(exp(max(x, 0)) − 1)²``: the power of a ``log(1 + |STFT|)`` spectrogram, with a
    hand-written gradient ``2 m (m + 1)`` (``m`` the magnitude; 0 where ``x ≤ 0``) that costs a
    third of autograd's chain on the extractor's full spectrogram (the term's largest tensor)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        magnitude = x.clamp_min(0).exp_().sub_(1)
        ctx.save_for_backward(magnitude)
        return magnitude * magnitude

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        (magnitude,) = ctx.saved_tensors
        return (magnitude + 1).mul_(magnitude).mul_(grad).mul_(2)


def _common(course: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """``course`` and ``target`` cut to the frames they share (the last axis)."""
    frames = min(course.shape[-1], target.shape[-1])
    return course[..., :frames], target[..., :frames]


def _centred(x: Tensor, dim: int) -> Tensor:
    return x - x.mean(dim, keepdim=True)


def _cosine(a: Tensor, b: Tensor, dim: int) -> Tensor:
    """Cosine of ``a`` and ``b`` along ``dim`` (0 where either is zero)."""
    norm = (a.square().sum(dim) * b.square().sum(dim)).clamp_min(1e-30).sqrt()
    return (a * b).sum(dim) / norm
