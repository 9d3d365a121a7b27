"""STFT and spectrogram against an independent NumPy computation."""

from __future__ import annotations

import numpy as np
import torch

from audiostyle.dsp import Spectrogram
from conftest import SR, tone


def numpy_stft(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Reference: zero-pad n_fft/2 on both sides, periodic Hann, rfft of each frame."""
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    padded = np.pad(x, n_fft // 2)
    frames = 1 + (len(padded) - n_fft) // hop
    return np.stack(
        [np.fft.rfft(window * padded[i * hop : i * hop + n_fft]) for i in range(frames)], axis=1
    )


def test_stft_matches_numpy_reference():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(5000)
    spec = Spectrogram(n_fft=512, hop_length=128).double()
    ours = spec.stft(torch.from_numpy(x)[None])[0].numpy()
    reference = numpy_stft(x, 512, 128)
    assert ours.shape == reference.shape == (257, spec.frames(5000))
    # the window is stored in float32, hence ~1e-7 relative agreement
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-6 * np.abs(reference).max())


def test_log_magnitude_of_a_tone_peaks_in_its_bin():
    spec = Spectrogram()
    logmag = spec(torch.from_numpy(tone(1000.0, 1.0))[None])[0]
    middle = logmag[:, logmag.shape[1] // 2]
    assert int(middle.argmax()) == round(1000.0 * 2048 / SR)
    # |STFT| of a sine of amplitude a is a·Σw/2 = a·n_fft/4 at its bin (Hann window sum n_fft/2).
    np.testing.assert_allclose(float(torch.expm1(middle.max())), 0.5 * 2048 / 4, rtol=0.1)


def test_istft_inverts_stft():
    x = torch.randn(2, 10000, dtype=torch.float64)
    spec = Spectrogram(n_fft=1024, hop_length=256).double()
    torch.testing.assert_close(spec.istft(spec.stft(x), 10000), x)


def test_spectrogram_gradient_is_finite_on_silence():
    x = torch.zeros(1, 4096, requires_grad=True)
    Spectrogram()(x).sum().backward()
    assert torch.isfinite(x.grad).all()
