"""The CUDA path (run by benchmarks/gpu_check.sh on a machine with a GPU; skipped elsewhere):
a transfer and a texture on the GPU give the CPU's result, within what float differences in
an optimisation allow."""

from __future__ import annotations

import pytest
import torch

import audiostyle
from conftest import SR

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")]

#: Small options: the check is about the device, not the network's size.
SMALL = {"shallow": {}, "mcdermott": {"bands": 12, "mod_bands": 8}}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_a_transfer_on_the_gpu_is_the_cpus(name, melody, bongos):
    runs = {device: audiostyle.transfer(melody[: 2 * SR], bongos[: 2 * SR], sr=SR,
                                        extractor=name, options=SMALL[name], iterations=20,
                                        device=device, progress=False)
            for device in ("cpu", "cuda")}
    assert runs["cuda"].audio.samples.shape == runs["cpu"].audio.samples.shape
    match = audiostyle.statistics_snr(runs["cuda"].audio, runs["cpu"].audio,
                                      extractor="mcdermott")["mean"]
    assert match > 20  # McDermott & Simoncelli's criterion for the same texture
    assert abs(runs["cuda"].loss_db - runs["cpu"].loss_db) < 1.0


def test_a_texture_on_the_gpu_matches_its_style(bongos):
    result = audiostyle.texture(bongos[: 2 * SR], seconds=2, sr=SR, extractor="mcdermott",
                                options=SMALL["mcdermott"], device="cuda", progress=False)
    assert result.loss_db < -10
