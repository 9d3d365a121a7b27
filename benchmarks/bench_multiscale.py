"""Multi-scale shallow nets (``shallow-multi``) against the single-width net, at equal time.

Per-iteration cost: one loss + gradient evaluation in the spectrogram domain on 10 s of the
demo melody against a 10 s style, for the single net (4096 filters, width 11), the
multi-scale net (widths 2 … 64 frames, 4096 … 128 filters) and the multi-scale net's floor
(its convolutions alone, forward + input gradient). Texture synthesis from noise: the single
net with its default schedule, the multi-scale net with its iterations scaled so that it gets
the same time; each result is scored by both nets' Gram losses and by McDermott &
Simoncelli's statistics SNR.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from common import Section, machine, measure, median_seconds, table

SR = 22050
SECONDS = 5.0
TEXTURES = ("rain", "bongos", "insects")
NETS = ("shallow", "shallow-multi")


def _texture(name: str, seconds: float) -> np.ndarray:
    from audiostyle.demo import bongo_loop, insects, rain

    if name == "bongos":
        return bongo_loop(SR, seconds=seconds, room=0.01)
    return {"rain": rain, "insects": insects}[name](SR, seconds=seconds)


def iteration_time(extractor: str, seconds: float, floor: bool = False, repeats: int = 5) -> dict:
    """Median seconds of one loss + gradient evaluation on ``seconds`` of the melody against
    10 s of the bongo loop (``floor``: the convolutions alone)."""
    import torch.nn.functional as F

    from audiostyle.demo import bongo_loop, canon_melody
    from audiostyle.extractors import get_extractor
    from audiostyle.synthesis.losses import StyleLoss

    melody = canon_melody(SR)
    content = np.tile(melody, int(np.ceil(seconds * SR / melody.size)))[: int(seconds * SR)]
    net = get_extractor(extractor)
    loss = StyleLoss(net)
    loss.set_target([(net.analyse(torch.from_numpy(bongo_loop(SR, seconds=10.0))[None]), 1.0)])
    x = net.analyse(torch.from_numpy(content)[None]).requires_grad_(True)
    weights = [b for name, b in net.named_buffers() if name.startswith("weight")]

    def step() -> None:
        if floor:
            outputs = [F.conv1d(x, w) for w in weights]
            torch.autograd.grad(outputs, x, [torch.ones_like(o) for o in outputs])
        else:
            loss(net.features(x)).backward()

    return {"s_per_iteration": median_seconds(step, repeats)}


def synthesis(texture: str, extractor: str, scale: float = 1.0) -> dict:
    """Texture synthesis of :data:`SECONDS` from the same length of ``texture``, with the
    default schedule × ``scale``; the result's Gram losses under both nets and its
    statistics SNR."""
    import audiostyle
    from audiostyle.extractors import get_extractor
    from audiostyle.synthesis.losses import StyleLoss

    style = _texture(texture, SECONDS)
    net = get_extractor(extractor)
    plan = net.defaults.texture.scaled(scale)
    iterations, refine = plan.iterations, plan.refine_iterations
    began = time.perf_counter()
    result = audiostyle.texture(style, seconds=SECONDS, sr=SR, extractor=net,
                                iterations=iterations, refine_iterations=refine, progress=False)
    total = time.perf_counter() - began
    losses = {}
    with torch.no_grad():
        for name in NETS:
            judge = get_extractor(name)
            loss = StyleLoss(judge)
            loss.set_target([(judge.analyse(torch.from_numpy(style)[None]), 1.0)])
            value = loss(judge(torch.from_numpy(result.audio.samples)))
            losses[name] = float(10 * np.log10(float(value) / len(judge.layer_weights)))
    return {"total_s": total, "iterations": iterations, "refine": refine, "gram_db": losses,
            "snr": audiostyle.statistics_snr(result.audio, style, SR)["mean"]}


def run(quick: bool = False) -> Section:
    cost = {(length, name, floor): measure("bench_multiscale:iteration_time", extractor=name,
                                           seconds=length, floor=floor)
            for length in (SECONDS, 10.0) for name in NETS for floor in (False, True)}
    seconds = {key: m["s_per_iteration"] for key, m in cost.items()}
    cost_rows = [[f"{length:g} s", name, f"{seconds[(length, name, False)]:.3f}",
                  f"{seconds[(length, name, True)]:.3f}",
                  f"{seconds[(length, name, False)] / seconds[(length, name, True)]:.2f}",
                  f"{seconds[(length, name, False)] / seconds[(length, 'shallow', False)]:.2f}",
                  f"{cost[(length, name, False)]['peak_mib']:.0f}"]
                 for length in (SECONDS, 10.0) for name in NETS]
    multi, floor = seconds[(10.0, "shallow-multi", False)], seconds[(10.0, "shallow-multi", True)]

    # the multi-scale net's iterations for equal time, from the cost at the synthesis length
    scale = seconds[(SECONDS, "shallow", False)] / seconds[(SECONDS, "shallow-multi", False)]
    scale *= 0.25 if quick else 1.0
    textures = TEXTURES[:1] if quick else TEXTURES
    rows, wins = [], 0
    for texture in textures:
        runs = {name: measure("bench_multiscale:synthesis", texture=texture, extractor=name,
                              scale=scale if name == "shallow-multi" else 0.25 if quick else 1.0)
                for name in NETS}
        for name, r in runs.items():
            rows.append([texture, name, f"{r['iterations']} + {r['refine']}",
                         f"{r['total_s']:.0f}", f"{r['gram_db']['shallow']:.1f}",
                         f"{r['gram_db']['shallow-multi']:.1f}", f"{r['snr']:.1f}"])
        a, b = runs["shallow"], runs["shallow-multi"]
        wins += (b["gram_db"]["shallow-multi"] < a["gram_db"]["shallow-multi"]
                 and b["snr"] > a["snr"])

    summary = [{
        "extractor": "shallow-multi", "setting": "spectrogram domain", "audio": "10 s",
        "s/iteration": f"{multi:.3f}",
        "peak memory": f"{cost[(10.0, 'shallow-multi', False)]['peak_mib']:.0f} MiB",
        "floor": f"{floor:.3f} s (6 conv1d fwd+grad)",
        "s/iteration ÷ floor": f"{multi / floor:.2f}",
    }]
    markdown = f"""
Machine: {machine()}.

### Cost of one iteration (spectrogram domain)

*floor*: the net's convolutions alone (forward + gradient with respect to the input).

{table(["content", "extractor", "s/it", "floor s/it", "÷ floor", "÷ single net s/it",
        "peak MiB"], cost_rows)}

### Texture synthesis from noise at equal time ({SECONDS:g} s from {SECONDS:g} s)

The single net runs its default schedule (spectrogram iterations + waveform refinement); the
multi-scale net the same schedule × {scale:.2f} (the ratio of the two nets' s/iteration at
{SECONDS:g} s), so both take about the same time. *Gram loss*: the result's style loss under
each net (sum over its layers of relative squared Gram distances, divided by the number of
layers), dB, lower is closer; *SNR*: McDermott & Simoncelli's statistics SNR to the style,
mean over classes, dB, higher is closer. Textures as in the McDermott section (bongos over a
room-noise bed).

{table(["texture", "extractor", "iterations", "seconds", "Gram loss, single net dB",
        "Gram loss, multi-scale net dB", "statistics SNR dB"], rows)}

The multi-scale net reaches a lower Gram loss (under its own Gram matrices) and a higher
statistics SNR than the single net on {wins} of {len(textures)} textures.
"""
    return Section("multiscale", "Multi-scale shallow nets (issue 10)", markdown, summary)
