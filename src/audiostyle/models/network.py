"""The style model's network and its causal signal path.

The sound is cut into the short STFT frames of :mod:`.frames`. For each frame the network sees
the log powers of the sound's ERB bands, through a stack of causal dilated convolutions over
frames (it hears :attr:`NetConfig.receptive_frames` frames of the past, 1.5 s by default), and
predicts two curves over the bands: a log gain for the sound's own spectrum (its phase, and
with it the pitch, is kept) and a log level for the style's texture played along
(:mod:`.excitation`: the model's texture of the style, re-timed by the content's onsets; it
brings the style's fine structure and fills the sound's pauses). The gain also takes away a learned
share of each band's running level (a power-weighted mean of its log amplitude over about a
second), so that the output's band levels need not depend on the content's. Each curve is
interpolated to the STFT bins and added to a learned static curve per bin (on a finer ERB
grid); frames are overlap-added back:

``Y = X · exp(A·(g − a ⊙ L̄) + S·s) + T · exp(A·h + S·t)``, ``y = overlap-add(√Hann · irfft(Y))``

with ``X`` the sound's frame spectrum, ``L̄`` its running band levels, ``T`` the spectrum of
the texture's frame, ``A``/``S`` the band and fine interpolations. Everything is causal, so a
sound can be processed in blocks of any size with state carried between them
(:class:`Renderer`); processing it whole is the same computation in one block. Bins above the
extractor's Nyquist (``top_hz``) keep the sound.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.signal import lfilter
from torch import Tensor, nn

from .excitation import ReaderState, TextureReader
from .frames import HOP_SECONDS, POWER_FLOOR, Grid, analyse

#: Length of the running level's exponential window, in time constants.
LEVEL_SPAN = 3
#: Log gains are bounded to ±this (nepers of amplitude: ±35 dB) by a soft clamp.
LOG_GAIN_LIMIT = 4.0
#: Starting log level of the texture path (nepers; −78 dB re the texture's unit RMS): low
#: enough to leave a quiet content's pauses alone (at −52 dB white noise filled them, and the
#: structure term of the untrained model was 0.6), high enough for its gradient to let it grow.
TEXTURE_START = -9.0


@dataclass(frozen=True)
class NetConfig:
    """The network's sizes (stored in a model's header).

    Attributes:
        bands: ERB bands of the input powers and of the predicted gain curves.
        fine_bands: ERB bands of the learned static curves.
        channels: width of the convolution stack.
        dilations: dilation of each causal convolution (kernel 3), in frames.
        texture_path: whether the model plays the style's texture along (:mod:`.excitation`).
        level_seconds: time constant of each band's running level (:class:`Renderer`).
    """

    bands: int = 32
    fine_bands: int = 128
    channels: int = 64
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
    texture_path: bool = True
    level_seconds: float = 1.0

    @property
    def receptive_frames(self) -> int:
        return 1 + 2 * sum(self.dilations)

    def as_dict(self) -> dict:
        return {**asdict(self), "dilations": list(self.dilations)}

    @classmethod
    def from_dict(cls, values: dict) -> NetConfig:
        return cls(**{**values, "dilations": tuple(values["dilations"])})


class _Block(nn.Module):
    """A gated causal convolution (kernel 3) with a residual connection."""

    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.dilation = dilation
        self.conv = nn.Conv1d(channels, 2 * channels, 3, dilation=dilation)
        self.mix = nn.Conv1d(channels, channels, 1)

    @property
    def history(self) -> int:
        return 2 * self.dilation

    def forward(self, x: Tensor) -> Tensor:
        """``x`` ``(batch, channels, history + frames)`` → ``(batch, channels, frames)``."""
        a, b = self.conv(x).chunk(2, dim=1)
        return x[..., self.history:] + self.mix(torch.tanh(a) * torch.sigmoid(b))


class StyleNet(nn.Module):
    """The network: band log powers per frame → the two log-gain curves per band, plus the
    static per-bin curves (as fine-band values)."""

    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        self.inputs = nn.Conv1d(config.bands, c, 1)
        self.blocks = nn.ModuleList(_Block(c, d) for d in config.dilations)
        outputs = 2 * config.bands if config.texture_path else config.bands
        self.outputs = nn.Conv1d(c, outputs, 1)
        nn.init.zeros_(self.outputs.weight)  # starts as the identity: the content itself
        with torch.no_grad():
            self.outputs.bias.zero_()
            if config.texture_path:
                self.outputs.bias[config.bands:] = TEXTURE_START
        self.static_gain = nn.Parameter(torch.zeros(config.fine_bands))
        self.static_texture = nn.Parameter(torch.zeros(config.fine_bands))
        #: how much of each band's running level the content gain takes away (0: none)
        self.levelling = nn.Parameter(torch.zeros(config.bands))

    def levels(self) -> list[nn.Parameter]:
        """The parameters that are levels in nepers (the static curves and the output
        biases): they need larger steps than the weights."""
        return [self.static_gain, self.static_texture, self.levelling, self.outputs.bias]

    def forward(self, x: Tensor, history: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        """``x`` ``(batch, bands, frames)`` with each block's input history
        (``(batch, channels, 2·dilation)``) → ``(log gains (batch, 2·bands or bands, frames),
        the new histories)``."""
        h = self.inputs(x)
        kept = []
        for block, past in zip(self.blocks, history, strict=True):
            joined = torch.cat([past, h], dim=-1)
            kept.append(joined[..., joined.shape[-1] - block.history:])
            h = block(joined)
        return LOG_GAIN_LIMIT * torch.tanh(self.outputs(h) / LOG_GAIN_LIMIT), kept

    def empty_history(self, batch: int, like: Tensor) -> list[Tensor]:
        """Zero histories (silence before the sound) for ``batch`` signals."""
        return [like.new_zeros(batch, self.config.channels, block.history)
                for block in self.blocks]


@dataclass
class RenderState:
    """What a :class:`Renderer` carries from one block to the next.

    Attributes:
        pending: input samples not yet in a frame ``(batch, < window)`` (starts as
            ``window − hop`` zeros: the silence before the sound).
        history: each network block's past inputs.
        tail: the overlap-add's unfinished samples ``(batch, window − hop)``.
        level: the running level's last frames (band powers × log amplitudes, then band
            powers, ``(batch, 2·bands, K)``: zeros before the sound, which weigh nothing) and
            its last sums ``(batch, 2·bands)``.
        seeds: ``(seed, channel)`` of each signal: where its texture jumps
            (:class:`~.excitation.TextureReader`).
        reader: where each signal reads the texture (None without a texture path).
    """

    pending: Tensor
    history: list[Tensor]
    tail: Tensor
    level: tuple[Tensor, Tensor]
    seeds: list[tuple[int, int]]
    reader: ReaderState | None


class Renderer(nn.Module):
    """The causal signal path of :class:`StyleNet` at one rate (see the module).

    Args:
        net: the network.
        grid: the frames at the sound's rate.
        texture: the model's texture (mono ``(time,)`` at ``texture_sr`` Hz); needed when the
            network has a texture path.
    """

    def __init__(self, net: StyleNet, grid: Grid, texture: np.ndarray | None = None,
                 texture_sr: int | None = None) -> None:
        super().__init__()
        self.net = net
        self.grid = grid
        config = net.config
        self.register_buffer("window", grid.analysis_window(), persistent=False)
        self.register_buffer("power", grid.band_power(config.bands), persistent=False)
        self.register_buffer("coarse", grid.interpolation(config.bands).T.contiguous(),
                             persistent=False)
        self.register_buffer("fine", grid.interpolation(config.fine_bands).T.contiguous(),
                             persistent=False)
        self.register_buffer("heard", grid.heard(), persistent=False)
        self.reader = None
        if config.texture_path:
            if texture is None or texture_sr is None:
                raise ValueError("a network with a texture path needs its texture")
            self.reader = TextureReader(texture, texture_sr, grid, config.bands)
            self.register_buffer("texture", self.reader.texture, persistent=False)
        frames = max(1, round(config.level_seconds / HOP_SECONDS))
        self.level_decay = math.exp(-1 / frames)
        self.level_span = LEVEL_SPAN * frames

    def start(self, seeds: list[tuple[int, int]], like: Tensor | None = None) -> RenderState:
        """The state before the first sample (silence before it) for one signal per
        ``(seed, channel)`` of ``seeds``."""
        like = self.window if like is None else like
        g = self.grid
        batch = len(seeds)
        pad = like.new_zeros(batch, g.window - g.hop)
        rows = 2 * self.net.config.bands
        level = (like.new_zeros(batch, rows, self.level_span, dtype=torch.float64),
                 like.new_zeros(batch, rows, dtype=torch.float64))
        return RenderState(pad, self.net.empty_history(batch, like),
                           like.new_zeros(batch, g.window - g.hop), level, list(seeds),
                           None if self.reader is None else self.reader.start(batch))

    def forward(self, state: RenderState, x: Tensor) -> tuple[Tensor, RenderState]:
        """Process the next samples ``x`` ``(batch, n)``; returns the finished output samples
        ``(batch, m)`` (a whole number of hops: output sample ``t`` is finished once input
        sample ``t + window − hop`` has arrived) and the next state."""
        g = self.grid
        joined = torch.cat([state.pending, x], dim=-1)
        count = (joined.shape[-1] - g.window) // g.hop + 1 if joined.shape[-1] >= g.window else 0
        if count == 0:
            return x.new_zeros(x.shape[0], 0), dataclasses.replace(state, pending=joined)
        used = count * g.hop
        frames = joined[..., : used + g.window - g.hop].unfold(-1, g.window, g.hop)
        spectrum, power = analyse(frames, self.window, self.power)
        features = torch.log10(power + POWER_FLOOR) / 2  # (batch, count, bands), about −5 … 0
        gains, history = self.net(features.transpose(1, 2), state.history)
        gains = gains.transpose(1, 2)  # (batch, count, outputs)
        bands = self.net.config.bands
        mean_level, level = self._running_level(power, state.level)
        log_gain = (gains[..., :bands] - self.net.levelling * mean_level) @ self.coarse \
            + self.net.static_gain @ self.fine
        out = spectrum * torch.exp(log_gain)
        reader = state.reader
        if self.reader is not None:
            levels = (20 * features).detach().cpu().double().numpy()  # dB
            starts, gate, reader = self.reader(levels, state.seeds, state.reader)
            index = torch.from_numpy(starts).to(x.device)[..., None] \
                + torch.arange(g.window, device=x.device)
            gate = torch.from_numpy(gate).to(x)[..., None]
            texture = torch.fft.rfft(self.texture[index] * (gate * self.window))
            log_level = gains[..., bands:] @ self.coarse + self.net.static_texture @ self.fine
            out = out + texture * (torch.exp(log_level) * self.heard)
        pieces = torch.fft.irfft(out, n=g.window) * (self.window * g.synthesis_scale())
        added = F.fold(pieces.transpose(1, 2), (1, used + g.window - g.hop), (1, g.window),
                       stride=(1, g.hop)).flatten(1)
        added = torch.cat([added[:, : g.window - g.hop] + state.tail,
                           added[:, g.window - g.hop:]], dim=-1)
        return added[:, :used], RenderState(joined[..., used:], history, added[:, used:],
                                            level, state.seeds, reader)

    def _running_level(self, power: Tensor, past: tuple[Tensor, Tensor]
                       ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """Each band's running level: the mean log amplitude (nepers) of its recent frames,
        weighted by their power and by an exponential window of ``level_seconds`` over
        :data:`LEVEL_SPAN` time constants (silent frames, and the silence before the sound,
        weigh nothing), ``(batch, count, bands)``; and the new history. Taking part of it away
        from the content's gain (``levelling``) makes the output's band levels independent of
        the content's.

        The window's sums run as ``y[n] = a·y[n − 1] + x[n] − a^K·x[n − K]`` (float64, the
        content alone: no gradient), which is the window's convolution at a cost per frame
        that does not grow with its length."""
        bands = power.shape[-1]
        frames, last = past
        log_amplitude = 0.5 * torch.log(power + POWER_FLOOR)
        x = torch.cat([power * log_amplitude, power], dim=-1).detach().transpose(1, 2)
        joined = torch.cat([frames, x.double()], dim=-1)  # (batch, 2·bands, K + count)
        span = frames.shape[-1]
        count = x.shape[-1]
        decay = self.level_decay
        fresh = (joined[..., span:] - decay**span * joined[..., :count]).cpu().numpy()
        sums, _ = lfilter([1.0], [1.0, -decay], fresh, axis=-1,
                          zi=decay * last.cpu().numpy()[..., None])
        sums = torch.from_numpy(sums).to(power.device)
        tiny = POWER_FLOOR * 1e-2
        mean = (sums[:, :bands] + tiny * 0.5 * math.log(POWER_FLOOR)) / (sums[:, bands:] + tiny)
        return mean.transpose(1, 2).to(power.dtype), (joined[..., count:], sums[..., -1])
