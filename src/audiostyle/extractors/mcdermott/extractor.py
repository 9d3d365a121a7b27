"""McDermott & Simoncelli (2011) sound texture statistics (Sound Texture Synthesis Toolbox v1.7).

The auditory model: a cochlear filterbank (30 ERB-spaced half-cosine bands between 20 Hz and
10 kHz plus the low and high ends: 32 subbands), subband envelopes compressed with ``|·|^0.3``
and sampled at 400 Hz, and two modulation filterbanks on each envelope (20 log-spaced bands
0.5–200 Hz with Q = 2; octave bands 1.56–100 Hz for C1/C2). The statistics, averaged over the
whole signal, are:

=============  ===================  ==============================================================
class          shape                meaning
=============  ===================  ==============================================================
subband_var    (32,)                variance of each subband (power)
env_mean       (32,)                mean of each compressed envelope
env_cv         (32,)                its coefficient of variation σ/μ (the toolbox's ``env_var``)
env_skew       (32,)                its skewness
env_kurt       (32,)                its kurtosis
env_C          (32, 8)              [k, i]: correlation of envelopes k and k + d_i,
                                    d = 1 2 3 5 8 11 16 21 (0 past the last channel)
mod_power      (32, 20)             power in each modulation band ÷ envelope variance
mod_C1         (32, 2, 6)           [k, i, b]: correlation of envelopes k and k + d_i (d = 1, 2)
                                    within octave modulation band b + 1 (3.1–100 Hz)
mod_C2         (32, 6, 2)           [k, b]: real and imaginary C2 between octave modulation bands
                                    b and b + 1 of channel k (1.56–100 Hz)
=============  ===================  ==============================================================

Channel offsets are those the toolbox imposes and scores (``P.C_offsets_to_impose``,
``P.mod_C1_offsets_to_impose``); correlations are symmetric, so only positive offsets are kept.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ...dsp.cochlea import Cochlea
from ...dsp.filterbanks import constq_cos_filters, octave_cos_filters
from ...errors import AudioStyleError
from ..base import Extractor, require_range
from ..defaults import ExtractorDefaults
from ..statistics import Identity
from . import texture_statistics as ts

CLASSES = ("subband_var", "env_mean", "env_cv", "env_skew", "env_kurt", "env_C", "mod_power",
           "mod_C1", "mod_C2")
#: Class weights of each preset. ``paper``: the set Grinstein et al. (2018) used, which is also
#: the toolbox's default constraint set (no envelope kurtosis, no C2).
PRESETS = {
    "full": dict.fromkeys(CLASSES, 1.0),
    "paper": {name: 1.0 for name in CLASSES if name not in ("env_kurt", "mod_C2")},
}
ENV_C_OFFSETS = (1, 2, 3, 5, 8, 11, 16, 21)
MOD_C1_OFFSETS = (1, 2)
#: Most cochlear and modulation bands: 256 is 8 × the toolbox's 30 cochlear bands (already a
#: band per ~0.13 ERB between 20 Hz and 10 kHz) and 13 × its 20 modulation bands; the filters
#: of each signal length grow with the count.
MAX_BANDS = 256


class McDermottExtractor(Extractor):
    """McDermott & Simoncelli sound texture statistics (auditory model, toolbox defaults).

    Outputs are the statistics themselves, ``{class: (batch, ...)}`` (see the module
    docstring), compared with :class:`~audiostyle.extractors.statistics.Identity`; the style loss is
    ``Σ_class w_class · ‖s − ŝ‖² / ‖s‖²``, i.e. ``Σ w · 10^(−SNR/10)`` with McDermott's
    per-class statistics SNR.

    Args:
        sample_rate: working rate in Hz (the toolbox's 20000; filters above ``sample_rate/2``
            are cut at Nyquist).
        preset: class weights, ``"full"`` (every class, weight 1) or ``"paper"`` (without
            envelope kurtosis and C2, as Grinstein et al. and the toolbox's defaults).
        weights: per-class weights overriding the preset, ``"class:weight,…"`` (e.g.
            ``"mod_C1:2,env_kurt:0"``); a class with weight 0 is not matched.
        bands: cochlear band-pass filters between ``low_hz`` and ``high_hz`` (plus 2 ends).
        low_hz, high_hz: cochlear filterbank range in Hz.
        env_sr: envelope rate in Hz.
        compression: envelope compression exponent.
        mod_bands: modulation filters between ``mod_low_hz`` and ``mod_high_hz``.
        mod_low_hz, mod_high_hz: modulation filterbank range in Hz (also the top of the
            octave bands).
        mod_q: Q of the modulation filters.
        c12_low_hz: lower limit of the octave modulation bands (C1, C2) in Hz.
        oversampling: envelope time grid per band, relative to its bandwidth (``inf`` = the
            toolbox's full-rate computation; 8 keeps the statistics close to it at a fraction
            of the cost: benchmarks/RESULTS.md, *McDermott & Simoncelli texture statistics*).
    """

    name = "mcdermott"
    statistic = Identity()
    #: a transfer the toolbox's way: the statistics act on the subband envelopes and the
    #: content's fine structure (its pitch) is kept; its chroma peaks at about a third of a
    #: texture's iterations and is then traded for gain (benchmarks/RESULTS.md, *frontier*;
    #: docs/research.md, *Keeping the melody*)
    defaults = ExtractorDefaults.of("waveform", 300, transfer_domain="subbands",
                                    transfer_iterations=100, structure_weight=4.0)

    def __init__(
        self,
        *,
        sample_rate: int = 20000,
        preset: str = "full",
        weights: str = "",
        bands: int = 30,
        low_hz: float = 20.0,
        high_hz: float = 10000.0,
        env_sr: float = 400.0,
        compression: float = 0.3,
        mod_bands: int = 20,
        mod_low_hz: float = 0.5,
        mod_high_hz: float = 200.0,
        mod_q: float = 2.0,
        c12_low_hz: float = 1.0,
        oversampling: float = 8.0,
    ) -> None:
        super().__init__(sample_rate)
        if preset not in PRESETS:
            raise AudioStyleError(
                f"mcdermott: unknown preset {preset!r}; use one of {', '.join(PRESETS)}"
            )
        require_range("mcdermott", MAX_BANDS, bands=bands, mod_bands=mod_bands)
        if not (0 < low_hz < high_hz and env_sr > 0 and compression > 0
                and oversampling >= 1):
            raise AudioStyleError(
                "mcdermott: need 0 < low_hz < high_hz, env_sr > 0, compression > 0 and "
                "oversampling >= 1"
            )
        self.cochlea = Cochlea(sample_rate, bands=bands, low_hz=low_hz, high_hz=high_hz,
                               env_sr=env_sr, compression=compression, oversampling=oversampling)
        self.modulation = {"bands": mod_bands, "low": mod_low_hz, "high": mod_high_hz,
                           "q": mod_q, "c12_low": c12_low_hz}
        self.layer_weights = _weights(preset, weights)
        self._mod_filters: dict[tuple, tuple[Tensor, Tensor]] = {}

    @property
    def min_samples(self) -> int:
        """A quarter of a second: shorter signals have too few envelope frames to be texture.
        (The lowest modulation bands need several seconds; below that they read 0.)"""
        return math.ceil(0.25 * self.sample_rate)

    def noise(self, like: Tensor, length: int, generator: torch.Generator) -> Tensor:
        """Gaussian noise with the subband variances of ``like``, ``(1, length)`` on the CPU.

        What the toolbox's first iteration makes of its white-noise start (it imposes the
        subband variances first); with :meth:`spectral_scale` it also starts the waveform
        domain's preconditioner at the style's spectral envelope.
        """
        with torch.no_grad():
            variances = self.cochlea.subband_variance(like.double()).mean(0, keepdim=True).cpu()
        white = torch.fft.rfft(torch.randn(1, length, generator=generator, dtype=torch.float64))
        shaped = torch.fft.irfft(white * self.cochlea.band_amplitude(variances, length), n=length)
        return shaped.to(like.dtype)

    def spectral_scale(self, wave: Tensor) -> Tensor:
        """The waveform domain's preconditioner: ``wave``'s spectral envelope, smoothed over
        each cochlear band, ``(batch, time // 2 + 1)``; optimised coefficients are then about
        as large in every band (unit complex Gaussian for noise), so that quiet and loud bands
        converge alike. Floored 100 dB below its peak."""
        samples = wave.shape[-1]
        with torch.no_grad():
            variances = self.cochlea.subband_variance(wave)
            amplitude = self.cochlea.band_amplitude(variances, samples)
        amplitude = amplitude * samples**0.5
        peak = amplitude.amax(-1, keepdim=True)
        return amplitude.clamp_min(1e-5 * peak).clamp_min(1e-12)

    def modulation_filters(self, samples: int, dtype: torch.dtype = torch.float32,
                           device: torch.device | None = None) -> tuple[Tensor, Tensor]:
        """``(modulation filters (20, bins), octave filters (7, bins))`` on the envelope's
        rfft bins for a signal of ``samples`` samples."""
        key = (samples, dtype, device)
        if key not in self._mod_filters:
            frames = self.cochlea.env_frames(samples)
            rate = frames * self.sample_rate / samples  # the envelope's exact rate
            m = self.modulation
            power = constq_cos_filters(frames, rate, m["bands"], m["low"], m["high"], m["q"])[0]
            octave = octave_cos_filters(frames, rate, m["c12_low"], m["high"])[0]
            if len(self._mod_filters) >= 4:
                self._mod_filters.pop(next(iter(self._mod_filters)))
            self._mod_filters[key] = (torch.from_numpy(power).to(device, dtype),
                                      torch.from_numpy(octave).to(device, dtype))
        return self._mod_filters[key]

    def features(self, inputs: Tensor) -> dict[str, Tensor]:
        """Waveform ``(batch, time)`` at :attr:`sample_rate` → ``{class: (batch, ...)}``."""
        subband_var, envelopes = self.cochlea(inputs)
        frames = envelopes.shape[-1]
        power_filters, octave_filters = self.modulation_filters(
            inputs.shape[-1], inputs.dtype, inputs.device)
        spectrum = torch.fft.rfft(envelopes)
        return {
            "subband_var": subband_var,
            **ts.envelope_moments(envelopes),
            "env_C": ts.envelope_correlations(spectrum, frames, ENV_C_OFFSETS),
            "mod_power": ts.modulation_power(spectrum, frames, power_filters),
            "mod_C1": ts.modulation_correlations(spectrum, frames, octave_filters[1:],
                                                 MOD_C1_OFFSETS),
            "mod_C2": ts.modulation_phase_correlations(spectrum, frames, octave_filters),
        }


def _weights(preset: str, overrides: str) -> dict[str, float]:
    """The preset's class weights with ``"class:weight,…"`` overrides; zero weights dropped."""
    weights = dict(PRESETS[preset])
    for item in filter(None, (part.strip() for part in overrides.split(","))):
        name, sep, value = item.partition(":")
        name = name.strip()
        if name not in CLASSES or not sep:
            raise AudioStyleError(
                f"mcdermott: weights entry {item!r} should be CLASS:WEIGHT with CLASS one of "
                f"{', '.join(CLASSES)}"
            )
        try:
            weight = float(value)
        except ValueError:
            weight = -1.0
        if not weight >= 0 or not math.isfinite(weight):
            raise AudioStyleError(
                f"mcdermott: weight {value.strip()!r} for {name} is not a non-negative number"
            )
        weights[name] = weight
    kept = {name: w for name, w in weights.items() if w > 0}
    if not kept:
        raise AudioStyleError("mcdermott: every class has weight 0; nothing would be matched")
    return kept
