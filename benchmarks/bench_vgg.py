"""VGG extractors (vgg19 on the spectrogram image, musicnn's vgg-mtt): cost and convergence.

Per-iteration cost is one loss + gradient evaluation, content the demo melody looped to the
given length, style 10 s of the bongo loop. The floor is the network alone: the forward pass
to the deepest matched layer plus the gradient of its outputs with respect to the input, which
every Gram formulation must do. vgg19 timings use the installed weights, or a random
checkpoint of the same structure when ImageNet weights are not installed (same cost).
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from common import Section, machine, measure, median_seconds, table

SR = 22050
STYLE_SECONDS = 10.0


def _signals(seconds: float) -> tuple[np.ndarray, np.ndarray]:
    from audiostyle.demo import bongo_loop, canon_melody

    melody = canon_melody(SR)
    reps = int(np.ceil(seconds * SR / melody.size))
    return np.tile(melody, reps)[: int(seconds * SR)], bongo_loop(SR, seconds=STYLE_SECONDS)


def iteration_time(extractor: str, seconds: float, domain: str, options: dict, form: str,
                   repeats: int = 3) -> dict:
    """Median seconds of one evaluation (``form``: "loss" or "floor"), and the image size."""
    from audiostyle.extractors import get_extractor
    from audiostyle.io.audio import Audio, resample
    from audiostyle.synthesis.domains import make_domain
    from audiostyle.synthesis.losses import StyleLoss, transfer_loss

    net = get_extractor(extractor, **options)
    content, style = (torch.from_numpy(resample(Audio(s[None], SR, "x"), net.sample_rate)
                                       .samples) for s in _signals(seconds))
    loss = StyleLoss(net)
    loss.set_target([(net.analyse(style), 1.0)])
    space = make_domain(domain, net, content)
    objective = space.objective(transfer_loss(loss))
    x = space.initial.clone().requires_grad_(True)

    def step() -> None:
        if form == "floor":
            inputs = space.signal(space.initial).inputs.detach().requires_grad_(True)
            outputs = list(net.features(inputs).values())
            torch.autograd.grad(outputs, inputs, [torch.ones_like(o) for o in outputs])
        else:
            objective(x).backward()

    seconds = median_seconds(step, repeats)
    shapes = {k: list(v.shape) for k, v in net.features(net.analyse(content)).items()}
    return {"s_per_iteration": seconds, "shapes": shapes}


def default_transfer(extractor: str, seconds: float, options: dict | None = None) -> dict:
    """The default transfer (all stages) of ``seconds`` of content; time and losses."""
    import audiostyle

    content, style = _signals(seconds)
    began = time.perf_counter()
    result = audiostyle.transfer(content, style, sr=SR, extractor=extractor, options=options,
                                 progress=False)
    return {
        "total_s": time.perf_counter() - began,
        "iterations": result.iterations,
        "stages": {k: {"iterations": t.iterations, "best_db": t.best_db, "seconds": t.seconds,
                       "curve": t.losses} for k, t in result.stages.items()},
        "loss_db": result.loss_db,
    }


@contextlib.contextmanager
def _vgg19_weights():
    """Yields a note; installs a random VGG-19 in a temporary cache if none is installed."""
    from audiostyle import weights

    if weights.verify("vgg19") == "verified":
        yield "installed weights"
        return
    import hashlib

    from audiostyle.extractors.vgg19 import conv_shapes

    previous = os.environ.get("AUDIOSTYLE_CACHE")
    with tempfile.TemporaryDirectory() as folder:
        generator, state = torch.Generator().manual_seed(0), {}
        for index, (cin, cout) in conv_shapes().items():
            state[f"features.{index}.weight"] = torch.randn(
                cout, cin, 3, 3, generator=generator) * math.sqrt(2 / (9 * cin))
            state[f"features.{index}.bias"] = torch.zeros(cout)
        path = Path(folder) / "vgg19.pth"
        torch.save(state, path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
        named = path.rename(path.with_name(f"vgg19-{digest}.pth"))
        os.environ["AUDIOSTYLE_CACHE"] = folder
        try:
            weights.install("vgg19", named)
            yield "a random checkpoint of VGG-19's structure (ImageNet weights not installed)"
        finally:
            if previous is None:
                os.environ.pop("AUDIOSTYLE_CACHE", None)
            else:
                os.environ["AUDIOSTYLE_CACHE"] = previous


def _db(x: float) -> str:
    return f"{10 * math.log10(x):.1f}" if x > 0 else "-inf"


def _cost_rows(extractor: str, settings: list[tuple[float, str, dict]]) -> tuple[list, dict]:
    rows, kept = [], {}
    for seconds, domain, options in settings:
        ours = measure("bench_vgg:iteration_time", extractor=extractor, seconds=seconds,
                       domain=domain, options=options, form="loss")
        floor = measure("bench_vgg:iteration_time", extractor=extractor, seconds=seconds,
                        domain=domain, options=options, form="floor")
        a, b = ours["s_per_iteration"], floor["s_per_iteration"]
        deepest = list(ours["shapes"].values())[-1]
        label = ", ".join(f"{k}={v}" for k, v in options.items()) or "defaults"
        rows.append([f"{seconds:g} s", domain, label, f"{a:.2f}", f"{b:.2f}", f"{a / b:.2f}",
                     f"{ours['peak_mib']:.0f}", f"{deepest[1]}×{deepest[2]}"])
        kept[(seconds, domain, label)] = (a, b, ours["peak_mib"])
    return rows, kept


def run(quick: bool = False) -> Section:
    lengths = [5.0] if quick else [5.0, 10.0]
    header = ["content", "domain", "options", "s/it", "floor s/it", "s/it ÷ floor",
              "peak MiB", "deepest layer (channels × positions)"]
    summary = []

    mtt_rows, mtt = _cost_rows("vgg-mtt", [(s, d, {}) for s in lengths
                                           for d in ("spectrogram", "waveform")])
    mtt_job = measure("bench_vgg:default_transfer", extractor="vgg-mtt",
                      seconds=lengths[-1])
    layer_runs = {}
    for label, options in (("pool1–pool4 (default)", {}),
                           ("pool1–pool5", {"layers": "pool1,pool2,pool3,pool4,pool5"})):
        layer_runs[label] = measure("bench_vgg:default_transfer", extractor="vgg-mtt",
                                    seconds=5.0, options=options)

    with _vgg19_weights() as source:
        downsamples = [2] if quick else [1, 2, 4]
        vgg_rows, vgg = _cost_rows("vgg19", [(10.0 if not quick else 5.0, "spectrogram",
                                              {"downsample": d}) for d in downsamples]
                                   + [(5.0, "waveform", {"downsample": 2})])
        vgg_job = None if quick else measure("bench_vgg:default_transfer", extractor="vgg19",
                                             seconds=10.0)

    job_seconds = lengths[-1]
    a, b, peak = mtt[(job_seconds, "spectrogram", "defaults")]
    summary.append({"extractor": "vgg-mtt", "setting": "spectrogram domain",
                    "audio": f"{job_seconds:g} s", "s/iteration": f"{a:.3f}",
                    "peak memory": f"{peak:.0f} MiB", "floor": f"{b:.3f} s (network fwd+grad)",
                    "s/iteration ÷ floor": f"{a / b:.2f}"})
    summary.append({"extractor": "vgg-mtt", "setting": "default transfer",
                    "audio": f"{job_seconds:g} s", "iterations": mtt_job["iterations"],
                    "total s": f"{mtt_job['total_s']:.1f}",
                    "real-time factor": f"{mtt_job['total_s'] / job_seconds:.1f}",
                    "peak memory": f"{mtt_job['peak_mib']:.0f} MiB"})
    vgg_key = next(k for k in vgg if k[2] == "downsample=2")
    a, b, peak = vgg[vgg_key]
    summary.append({"extractor": "vgg19", "setting": "spectrogram domain, downsample 2",
                    "audio": f"{vgg_key[0]:g} s", "s/iteration": f"{a:.3f}",
                    "peak memory": f"{peak:.0f} MiB", "floor": f"{b:.3f} s (VGG fwd+grad)",
                    "s/iteration ÷ floor": f"{a / b:.2f}"})
    if vgg_job is not None:
        summary.append({"extractor": "vgg19", "setting": "default transfer", "audio": "10 s",
                        "iterations": vgg_job["iterations"], "total s": f"{vgg_job['total_s']:.1f}",
                        "real-time factor": f"{vgg_job['total_s'] / 10:.1f}",
                        "peak memory": f"{vgg_job['peak_mib']:.0f} MiB"})

    def stage_text(job: dict) -> str:
        return ", ".join(f"{k} {v['iterations']} it ({v['best_db']:.1f} dB, {v['seconds']:.0f} s)"
                         for k, v in job["stages"].items())

    marks = [10, 25, 50, 100]
    curve_rows = []
    for label, job in layer_runs.items():
        curve = job["stages"]["spectrogram"]["curve"]
        curve_rows.append([label] + [_db(min(curve[:n])) for n in marks if n <= len(curve)]
                          + [f"{job['loss_db']:.1f}"])
    vgg_job_text = (f"{stage_text(vgg_job)}; result loss {vgg_job['loss_db']:.1f} dB; "
                    f"**{vgg_job['total_s']:.0f} s in total** (real-time factor "
                    f"{vgg_job['total_s'] / 10:.1f}), peak {vgg_job['peak_mib']:.0f} MiB"
                    if vgg_job else "not run (--quick)")

    markdown = f"""
Machine: {machine()}.

### vgg-mtt (musicnn MTT_vgg, real weights)

Log-mel at 16 kHz (10 s = 626 frames × 96 bands). *floor*: the network alone (forward to
pool4 and the input gradient of its outputs); the rest is the mel front end, the Gram
matrices (128 × 128 over every time × mel position) and the loss.

{table(header, mtt_rows)}

Default transfer of {job_seconds:g} s: {stage_text(mtt_job)}; result loss
{mtt_job['loss_db']:.1f} dB from the start; **{mtt_job['total_s']:.0f} s in total**
(real-time factor {mtt_job['total_s'] / job_seconds:.1f}), peak {mtt_job['peak_mib']:.0f} MiB.

Which layers (default transfer of 5 s, loss in dB relative to the start, best so far after
N spectrogram-domain evaluations, then the written sound's loss): pool5 has one position per
second, so its Gram matrix comes from a handful of vectors and the optimisation stalls on it.

{table(["layers"] + [f"{n} it" for n in marks] + ["result dB"], curve_rows)}

### vgg19 (VGG-19 on the spectrogram image)

Weights: {source}. A 10-s spectrogram (n_fft 2048, hop 512) is a 1025 × 431 image; *downsample
d* averages d × d blocks before the network. *floor*: VGG-19 alone to relu5_1 (forward and
input gradient).

{table(header, vgg_rows)}

Default transfer of 10 s (downsample 2): {vgg_job_text}.
"""
    return Section("vgg", "VGG extractors: vgg19 and vgg-mtt (issue 6)", markdown, summary)
