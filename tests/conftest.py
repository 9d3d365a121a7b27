"""Shared fixtures: deterministic torch settings and synthesised test signals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from audiostyle.demo import bongo_loop, canon_melody
from helpers.cli_harness import Server

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


@pytest.fixture(scope="module")
def cli():
    """A CLI server (tests/helpers/cli_harness.py): ``cli.run(argv, folder)`` runs a command in a
    child process of its own."""
    server = Server()
    yield server
    server.close()


@pytest.fixture
def files(tmp_path, melody, bongos):
    """``inputs/`` with content.wav (1 s melody) and style.wav (1 s bongos); ``out/`` empty
    (the folder of CLI runs; some modules have a ``files`` fixture of their own)."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    sf.write(folder / "content.wav", melody[:SR], SR)
    sf.write(folder / "style.wav", bongos[:SR], SR)
    (tmp_path / "out").mkdir()
    return tmp_path


#: Settings that make a transfer take about a second (for tests of what surrounds it).
TINY_CLI = ["-e", "shallow", "-n", "3", "--refine", "1", "--gl-iterations", "4", "--quiet"]
#: A style file name that is also HTML: the page must show it as text.
NASTY_NAME = "<img src=x onerror=alert(1)>.wav"


@pytest.fixture(scope="session")
def grid_page(tmp_path_factory, melody, bongos) -> Path:
    """``audiostyle grid`` of 1 s of melody × (bongos, noise) × shallow: its index.html."""
    from audiostyle.cli import main

    folder = tmp_path_factory.mktemp("grid")
    sf.write(folder / "tune.wav", melody[:SR], SR)
    sf.write(folder / NASTY_NAME, bongos[:SR], SR)
    noise = 0.1 * np.random.default_rng(0).standard_normal(SR)
    sf.write(folder / "noise.flac", noise, SR)
    code = main(["grid", "-c", str(folder / "tune.wav"), "-s", str(folder / NASTY_NAME),
                 str(folder / "noise.flac"), "-o", str(folder / "page"), *TINY_CLI])
    assert code == 0
    return folder / "page" / "index.html"
