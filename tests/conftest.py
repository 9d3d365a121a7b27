"""Shared fixtures: deterministic torch settings and synthesised test signals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiostyle.demo import bongo_loop, canon_melody

SR = 22050


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    torch.set_num_threads(2)
    yield


@pytest.fixture(scope="session")
def melody() -> np.ndarray:
    """3 s of the demo melody at 22050 Hz, ``(samples,)``."""
    return canon_melody(SR, note_seconds=0.375)


@pytest.fixture(scope="session")
def bongos() -> np.ndarray:
    """2 s of the demo bongo loop at 22050 Hz, ``(samples,)``."""
    return bongo_loop(SR, seconds=2.0)


def tone(freq: float, seconds: float, sr: int = SR, amplitude: float = 0.5) -> np.ndarray:
    """A pure sine, ``(samples,)`` float32."""
    t = np.arange(int(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
