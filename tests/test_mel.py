"""The Slaney mel filterbank (musicnn's front end)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiostyle.dsp import mel_filterbank
from audiostyle.dsp.mel import hz_to_mel, mel_to_hz


def test_slaney_mel_scale_known_values():
    hz = torch.tensor([0.0, 500.0, 1000.0, 6400.0], dtype=torch.float64)
    # linear at 200/3 Hz per mel up to 1 kHz (15 mel), then 27 mel per factor 6.4
    np.testing.assert_allclose(hz_to_mel(hz).numpy(), [0.0, 7.5, 15.0, 42.0], atol=1e-12)
    grid = torch.linspace(0, 8000, 81, dtype=torch.float64)
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(grid)).numpy(), grid.numpy(), atol=1e-9)


def test_filters_are_unit_area_triangles_at_mel_spaced_centres():
    sr, n_fft, n_mels = 16000, 512, 96
    bank = mel_filterbank(sr, n_fft, n_mels).numpy()
    assert bank.shape == (n_mels, n_fft // 2 + 1) and bank.min() >= 0
    bin_hz = sr / n_fft
    edges = mel_to_hz(torch.linspace(0, float(hz_to_mel(torch.tensor(8000.0).double())),
                                     n_mels + 2, dtype=torch.float64)).numpy()
    for i in (10, 40, 70, 95):
        peak_hz = bank[i].argmax() * bin_hz
        assert abs(peak_hz - edges[i + 1]) <= bin_hz
        if i >= 70:  # wide enough (≥ 7 bins) for the sampled sum to approach the area
            assert bank[i].sum() * bin_hz == pytest.approx(1.0, rel=0.01)  # area 1 in Hz
        outside = (np.arange(bank.shape[1]) * bin_hz <= edges[i]) | (
            np.arange(bank.shape[1]) * bin_hz >= edges[i + 2])
        assert np.all(bank[i][outside] == 0)


def test_matches_librosa_values():
    # librosa 0.11.0: librosa.filters.mel(sr=16000, n_fft=512, n_mels=96) (float32)
    bank = mel_filterbank(16000, 512, 96).numpy()
    assert bank.sum() == pytest.approx(3.0719137, rel=1e-6)
    np.testing.assert_allclose(bank[0, :4], [0.0, 0.031999223, 0.0, 0.0], rtol=1e-6)
    assert bank[50].argmax() == 59 and bank[50].max() == pytest.approx(0.013077741, rel=1e-6)
    assert bank[95].argmax() == 248 and bank[95].max() == pytest.approx(0.0039845603, rel=1e-6)
