"""Every extractor's default transfer of 10 s on the GPU beside the CPU (benchmarks/gpu_check.sh).

For each extractor whose weights are installed: the demo melody (10 s) re-made from the bongo
loop with the default settings, once on ``cpu`` and once on ``cuda``, each timed. The GPU's
result must match the CPU's where it matters: its style statistics (McDermott's SNR of the GPU
result against the CPU result's statistics, at least :data:`MATCH_DB`) and its loss (within
:data:`LOSS_DB` dB). Writes ``benchmarks/results/gpu.md`` and reassembles RESULTS.md; exits 1
when a result does not match.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import audiostyle
from audiostyle.demo import bongo_loop, canon_melody
from audiostyle.errors import AudioStyleError
from common import Section, assemble, machine, table, write_section

SR = 22050
SECONDS = 10.0
#: McDermott statistics SNR of the GPU's result against the CPU's that counts as the same
#: result (McDermott & Simoncelli's own criterion for "the same texture").
MATCH_DB = 20.0
#: Largest difference of the two results' losses (dB from their start).
LOSS_DB = 1.0


def _run(extractor: str, device: str) -> tuple[audiostyle.Result, float]:
    n = int(SECONDS * SR)
    content = np.resize(canon_melody(SR), n)
    style = bongo_loop(SR, seconds=SECONDS)
    if device == "cuda":
        torch.cuda.synchronize()
    began = time.perf_counter()
    result = audiostyle.transfer(content, style, sr=SR, extractor=extractor, device=device,
                                 progress=False)
    if device == "cuda":
        torch.cuda.synchronize()
    return result, time.perf_counter() - began


def main() -> int:
    if not torch.cuda.is_available():
        print("gpu_check.py: no CUDA GPU: nothing measured")
        return 0
    rows, failed = [], []
    for name in audiostyle.extractors.available():
        try:
            cpu, cpu_s = _run(name, "cpu")
        except AudioStyleError as exc:
            print(f"  {name}: skipped ({exc})")
            continue
        gpu, gpu_s = _run(name, "cuda")
        match = audiostyle.statistics_snr(gpu.audio, cpu.audio, extractor="mcdermott")["mean"]
        loss_gap = abs(gpu.loss_db - cpu.loss_db)
        ok = match >= MATCH_DB and loss_gap <= LOSS_DB
        if not ok:
            failed.append(name)
        rows.append([name, f"{cpu_s:.1f}", f"{gpu_s:.1f}", f"{cpu_s / gpu_s:.1f}",
                     f"{gpu_s / SECONDS:.2f}", f"{cpu.loss_db:.1f}", f"{gpu.loss_db:.1f}",
                     f"{match:.1f}", "yes" if ok else "NO"])
        print("  " + " | ".join(rows[-1]), flush=True)
    markdown = (
        f"Machine: {machine()}; GPU: {torch.cuda.get_device_name(0)}. Default transfer of "
        f"{SECONDS:g} s (demo melody × bongo loop), run by `benchmarks/gpu_check.sh`. *match*: "
        "McDermott statistics SNR of the GPU's result against the CPU's (≥ "
        f"{MATCH_DB:g} dB, with losses within {LOSS_DB:g} dB, counts as the same result).\n\n"
        + table(["extractor", "CPU s", "GPU s", "speed-up", "GPU real-time factor",
                 "CPU loss dB", "GPU loss dB", "match dB", "same"], rows))
    write_section(Section("gpu", "CUDA: default transfers on the GPU beside the CPU",
                          markdown))
    assemble()
    if failed:
        print(f"gpu_check.py: the GPU's result differs from the CPU's for {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
