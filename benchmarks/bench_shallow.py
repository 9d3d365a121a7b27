"""Shallow random-CNN extractor: cost per iteration, convergence, and the default job.

Per-iteration cost is one loss + gradient evaluation on content of 5/10/30 s against a 10 s
style, for: our loss (Gram distance in the cheaper form), the straightforward loss (explicit
4096 × 4096 Gram), and the floor (the 1025 → 4096 convolution alone, forward + input gradient,
which every form must do). The convergence curves and the split between the spectrogram stage
and the waveform refinement justify the default iteration counts.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from common import Section, machine, measure, median_seconds, table

STYLE_SECONDS = 10.0
SR = 22050


def _signals(seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """Content: the demo melody looped to ``seconds``; style: 10 s of the bongo loop."""
    from audiostyle.demo import bongo_loop, canon_melody

    melody = canon_melody(SR)
    reps = int(np.ceil(seconds * SR / melody.size))
    return np.tile(melody, reps)[: int(seconds * SR)], bongo_loop(SR, seconds=STYLE_SECONDS)


def iteration_time(seconds: float, domain: str, form: str, repeats: int = 5) -> dict:
    """Median seconds of one loss + gradient evaluation (``form``: auto, explicit, floor)."""
    import torch.nn.functional as F

    from audiostyle.extractors import get_extractor
    from audiostyle.extractors.statistics import Gram
    from audiostyle.synthesis.domains import make_domain
    from audiostyle.synthesis.losses import StyleLoss, transfer_loss

    content, style = _signals(seconds)
    net = get_extractor("shallow", form="drawn")  # the drawn net's Gram forms and convolution
    if form != "floor":
        net.statistic = Gram(form)
    style_loss = StyleLoss(net)
    style_loss.set_target([(net.analyse(torch.from_numpy(style)[None]), 1.0)])
    space = make_domain(domain, net, torch.from_numpy(content)[None])
    objective = space.objective(transfer_loss(style_loss))
    x = space.initial.clone().requires_grad_(True)

    def step() -> None:
        if form == "floor":
            inputs = space.signal(space.initial).inputs.detach().requires_grad_(True)
            out = F.conv1d(inputs, net.weight)
            torch.autograd.grad(out, inputs, torch.ones_like(out))
        else:
            objective(x).backward()

    return {"s_per_iteration": median_seconds(step, repeats)}


def default_transfer(seconds: float) -> dict:
    """The default transfer (all stages, Griffin-Lim, resampling) of ``seconds`` of content."""
    import audiostyle

    content, style = _signals(seconds)
    began = time.perf_counter()
    result = audiostyle.transfer(content, style, sr=SR, extractor="shallow", progress=False)
    total = time.perf_counter() - began
    return {
        "total_s": total,
        "iterations": result.iterations,
        "stages": {k: {"iterations": t.iterations, "best_db": t.best_db, "seconds": t.seconds}
                   for k, t in result.stages.items()},
        "loss_db": result.loss_db,
        "style_distance_db": result.style_distance_db,
    }


def schedule(spectrogram: int, refine: int, domain: str = "spectrogram") -> dict:
    """The demo transfer with a given split; losses per evaluation and the result's loss."""
    import audiostyle
    from audiostyle.demo import bongo_loop, canon_melody

    began = time.perf_counter()
    result = audiostyle.transfer(canon_melody(SR), bongo_loop(SR), sr=SR, extractor="shallow",
                                 domain=domain, iterations=spectrogram, refine_iterations=refine,
                                 progress=False)
    return {
        "seconds": time.perf_counter() - began,
        "curves": {k: t.losses for k, t in result.stages.items()},
        "loss_db": result.loss_db,
    }


def _db(x: float) -> float:
    return 10 * np.log10(x)


def run(quick: bool = False) -> Section:
    lengths = [5.0] if quick else [5.0, 10.0, 30.0]
    rows, summary = [], []
    per_iteration = {}
    for seconds in lengths:
        for domain in ("spectrogram", "waveform"):
            m = {form: measure("bench_shallow:iteration_time", seconds=seconds, domain=domain,
                               form=form) for form in ("auto", "explicit", "floor")}
            ours, floor = m["auto"]["s_per_iteration"], m["floor"]["s_per_iteration"]
            explicit = m["explicit"]["s_per_iteration"]
            per_iteration[(seconds, domain)] = (ours, floor, m["auto"]["peak_mib"])
            rows.append([f"{seconds:g} s", domain, f"{ours:.3f}", f"{explicit:.3f}",
                         f"{floor:.3f}", f"{ours / floor:.2f}", f"{explicit / ours:.2f}",
                         f"{m['auto']['peak_mib']:.0f}", f"{m['explicit']['peak_mib']:.0f}"])
    cost = table(
        ["content", "domain", "ours s/it", "explicit Gram s/it", "floor s/it", "ours ÷ floor",
         "explicit ÷ ours", "ours peak MiB", "explicit peak MiB"], rows)

    job_seconds = 5.0 if quick else 10.0
    job = measure("bench_shallow:default_transfer", seconds=job_seconds)
    stage_text = ", ".join(
        f"{k} {v['iterations']} it ({v['best_db']:.1f} dB, {v['seconds']:.0f} s)"
        for k, v in job["stages"].items()
    )
    for domain in ("spectrogram", "waveform"):
        ours, floor, peak = per_iteration[(job_seconds, domain)]
        summary.append({
            "extractor": "shallow", "setting": f"{domain} domain", "audio": f"{job_seconds:g} s",
            "s/iteration": f"{ours:.3f}", "peak memory": f"{peak:.0f} MiB",
            "floor": f"{floor:.3f} s (conv1d fwd+grad)",
            "s/iteration ÷ floor": f"{ours / floor:.2f}",
        })
    summary.append({
        "extractor": "shallow", "setting": "default transfer", "audio": f"{job_seconds:g} s",
        "iterations": job["iterations"], "total s": f"{job['total_s']:.1f}",
        "real-time factor": f"{job['total_s'] / job_seconds:.1f}",
        "peak memory": f"{job['peak_mib']:.0f} MiB",
    })

    splits = [(40, 0), (40, 20)] if quick else [
        (120, 0), (80, 40), (100, 40), (120, 40), (160, 0), (0, 160)]
    split_rows, curves = [], {}
    for spectral, refine in splits:
        domain = "waveform" if spectral == 0 else "spectrogram"
        r = measure("bench_shallow:schedule", spectrogram=spectral or refine, refine=refine,
                    domain=domain)
        curve = r["curves"]
        first = curve.get("spectrogram", [])
        split_rows.append([
            domain if spectral else "waveform only", spectral, refine if spectral else
            "", f"{_db(min(first)):.1f}" if first else "", f"{r['loss_db']:.1f}",
            f"{r['seconds']:.0f}"])
        curves[(spectral, refine)] = curve
    split_table = table(["first domain", "spectrogram it", "waveform refine it",
                         "optimised spectrogram loss dB", "result loss dB (re-analysed)",
                         "seconds"], split_rows)

    key = max(curves, key=lambda k: (k[0], k[1]))
    reference = curves[(120, 40)] if (120, 40) in curves else curves[key]
    marks = [10, 20, 30, 40, 60, 80, 100, 120]
    spectral_curve = reference.get("spectrogram", [])
    curve_rows = [[n, f"{_db(min(spectral_curve[:n])):.1f}"] for n in marks
                  if n <= len(spectral_curve)]
    refine_curve = reference.get("waveform", [])
    curve_rows += [[f"+{n} refine", f"{_db(min(refine_curve[:n])):.1f}"] for n in (1, 5, 10, 20, 40)
                   if n <= len(refine_curve)]
    waveform_only = curves.get((0, 160), {}).get("waveform", [])
    waveform_rows = [[n, f"{_db(min(waveform_only[:n])):.1f}"] for n in (10, 20, 40, 80, 160)
                     if n <= len(waveform_only)]

    markdown = f"""
Machine: {machine()}.

### Cost of one iteration

Content is the demo melody looped to the given length, style 10 s of the bongo loop
(431 frames). *ours*: the Gram distance in the cheaper form (factored
‖YᵀY‖²/T² − 2‖LᵀY‖²/T + ‖LᵀL‖² while T + Ts < 4096, explicit otherwise); *explicit*: the
4096 × 4096 Gram formed every time; *floor*: `conv1d` 1025 → 4096, width 11, forward plus the
gradient with respect to its input: the part no formulation avoids. The waveform domain adds
the STFT, its inverse and their gradients.

{cost}

### Default transfer of {job_seconds:g} s

`audiostyle.transfer(content, style)` with all defaults: {stage_text}; result loss
{job['loss_db']:.1f} dB relative to the start (style distance {job['style_distance_db']:.1f} dB);
**{job['total_s']:.1f} s in total, real-time factor {job['total_s'] / job_seconds:.1f}**,
peak memory {job['peak_mib']:.0f} MiB.

### Choosing the defaults (demo: 6 s melody, 4 s bongo loop)

Loss relative to the start, best so far, in the spectrogram stage (L-BFGS, strong-Wolfe line
search, content initialisation) and then in the waveform refinement that follows Griffin-Lim
(the default schedule, 120 + 40):

{table(["evaluations", "loss dB"], curve_rows)}

The same budget spent differently. *Optimised spectrogram loss* is the loss of the magnitude
the optimiser produced; *result loss* is the loss of the sound actually written, analysed
again:

{split_table}

Waveform domain alone (preconditioned STFT parametrisation), from the content:

{table(["evaluations", "loss dB"], waveform_rows)}
"""
    return Section("shallow", "Shallow random CNN (issue 3)", markdown, summary)
