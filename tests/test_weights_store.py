"""The weights cache: safetensors + SHA-256 record, tamper detection, clear messages."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiostyle import weights
from audiostyle.cli import main
from audiostyle.errors import AudioStyleError

TOY = weights.WeightsSpec(
    name="toy",
    description="a tiny test network",
    convert=lambda source: {"conv.weight": np.arange(12, dtype=np.float32).reshape(3, 4),
                            "conv.bias": torch.ones(3)},
    how_to_get="run `audiostyle weights install toy`",
)


@pytest.fixture
def toy(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOSTYLE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(weights.REGISTRY, "toy", "test_weights_store:TOY")
    return tmp_path / "cache" / "weights" / "toy.safetensors"


def test_install_then_load_round_trips(toy):
    with pytest.raises(AudioStyleError, match="not installed: run `audiostyle weights install"):
        weights.load("toy")
    record = weights.install("toy")
    assert record.path == str(toy) and len(record.sha256) == 64
    loaded = weights.load("toy")
    np.testing.assert_array_equal(loaded["conv.weight"].numpy(),
                                  np.arange(12, dtype=np.float32).reshape(3, 4))
    assert weights.verify("toy") == "verified"


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_tampered_or_truncated_file_is_refused(toy, damage):
    weights.install("toy")
    data = bytearray(toy.read_bytes())
    if damage == "flip":
        data[-1] ^= 0xFF
    else:
        data = data[: len(data) // 2]
    toy.write_bytes(bytes(data))
    with pytest.raises(AudioStyleError, match="do not match their recorded SHA-256"):
        weights.load("toy")
    weights.install("toy", force=True)
    assert weights.verify("toy") == "verified"


def test_unknown_weights_name_suggests(toy):
    with pytest.raises(AudioStyleError, match="Did you mean 'toy'"):
        weights.spec("tyo")


def test_cli_install_and_list(toy, capsys):
    assert main(["weights", "install", "toy"]) == 0
    assert main(["weights", "list"]) == 0
    out = capsys.readouterr().out
    assert "toy" in out and "verified" in out and str(toy) in out
