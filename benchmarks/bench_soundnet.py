"""SoundNet extractor: cost per iteration, the default job, and convergence.

Per-iteration cost is one loss + gradient evaluation in the waveform domain (the samples are
optimised) on content of 5/10/30 s against a 10 s style, compared with: the floor (the network
alone, forward to conv7 plus the gradient with respect to the waveform, without any Gram
matrix), and the same loss with conv1 as the plain strided convolution instead of its
polyphase form. Convergence is measured for transfer (from the content) and texture (from
noise), and for the waveform parametrised through a preconditioned STFT (the spectral
extractors' waveform domain) to see whether it would pay here.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from common import Section, machine, measure, table

STYLE_SECONDS = 10.0
SR = 22050
MARKS = (10, 25, 50, 100, 150)


def _signals(seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """Content: the demo melody looped to ``seconds``; style: 10 s of the bongo loop."""
    from audiostyle.demo import bongo_loop, canon_melody

    melody = canon_melody(SR)
    reps = int(np.ceil(seconds * SR / melody.size))
    return np.tile(melody, reps)[: int(seconds * SR)], bongo_loop(SR, seconds=STYLE_SECONDS)


def _plain_first_conv(net) -> None:
    """Make ``net`` compute conv1 as the strided convolution of the original."""
    import torch.nn.functional as F

    from audiostyle.networks.soundnet.network import LAYERS

    layer = LAYERS[0]
    out, stride, taps = net.conv1_weight.shape
    weight = net.conv1_weight.transpose(1, 2).reshape(out, 1, stride * taps).contiguous()
    net._first_conv = lambda x: F.conv1d(x, weight, net.conv1_bias, stride=layer.stride,
                                         padding=layer.padding)


def iteration_time(seconds: float, conv1: str = "polyphase", threads: int = 1,
                   repeats: int = 9) -> dict:
    """Median seconds of one loss + gradient evaluation, and of the floor (the features'
    sum and its gradient: the network alone), measured alternately in one process.

    ``conv1``: ``"polyphase"`` (ours) or ``"plain"`` (the original strided convolution).
    """
    from audiostyle.extractors import get_extractor
    from audiostyle.synthesis.losses import StyleLoss, transfer_loss
    from audiostyle.synthesis.terms import Signal

    torch.set_num_threads(threads)
    content, style = _signals(seconds)
    extractor = get_extractor("soundnet")
    if conv1 == "plain":
        _plain_first_conv(extractor.net)
    style_loss = StyleLoss(extractor)
    style_loss.set_target([(torch.from_numpy(style)[None], 1.0)])
    loss = transfer_loss(style_loss)
    x = torch.from_numpy(content)[None].requires_grad_(True)
    steps = {
        "ours": lambda: torch.autograd.grad(loss(Signal(x, x, extractor=extractor)), x),
        "floor": lambda: torch.autograd.grad(sum(f.sum() for f in extractor(x).values()), x),
    }
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats + 1):
        for name, step in steps.items():
            began = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - began)
    return {name: float(np.median(t[1:])) for name, t in times.items()}


def default_transfer(seconds: float, threads: int = 1) -> dict:
    """``audiostyle.transfer(content, style, extractor="soundnet")`` with all defaults."""
    import audiostyle

    torch.set_num_threads(threads)
    content, style = _signals(seconds)
    began = time.perf_counter()
    result = audiostyle.transfer(content, style, sr=SR, extractor="soundnet", progress=False)
    total = time.perf_counter() - began
    trace = result.stages["waveform"]
    return {"total_s": total, "iterations": result.iterations, "best_db": trace.best_db,
            "optimise_s": trace.seconds, "loss_db": result.loss_db,
            "style_distance_db": result.style_distance_db}


def convergence(seconds: float, iterations: int, init: str, parametrisation: str,
                threads: int = 1) -> dict:
    """Best loss (dB from the start) after each evaluation, and seconds per evaluation.

    ``parametrisation``: ``raw`` (the samples) or ``stft`` (``x = iSTFT(D ⊙ W)`` with
    ``D = (1 + |STFT(x₀)|)^½``, n_fft 2048, hop 512, as the spectral extractors' domain).
    """
    from audiostyle.dsp import Spectrogram
    from audiostyle.extractors import get_extractor
    from audiostyle.synthesis.losses import StyleLoss, transfer_loss
    from audiostyle.synthesis.optimiser import optimise
    from audiostyle.synthesis.terms import Signal

    torch.set_num_threads(threads)
    content, style = _signals(seconds)
    extractor = get_extractor("soundnet")
    style_loss = StyleLoss(extractor)
    style_wave = torch.from_numpy(style)[None]
    style_loss.set_target([(style_wave, 1.0)])
    loss = transfer_loss(style_loss)
    if init == "content":
        start = torch.from_numpy(content)[None]
    else:
        generator = torch.Generator().manual_seed(0)
        start = style_wave.square().mean().sqrt() * torch.randn(1, content.size,
                                                                generator=generator)
    if parametrisation == "raw":
        initial, to_wave = start, (lambda z: z)
    else:
        spectrogram = Spectrogram(2048, 512)
        stft = spectrogram.stft(start)
        scale = (1 + stft.abs()) ** 0.5
        initial = torch.view_as_real(stft / scale).contiguous()

        def to_wave(z):
            return spectrogram.istft(torch.view_as_complex(z) * scale, start.shape[-1])

    def objective(z):
        wave = to_wave(z)
        return loss(Signal(wave, wave, extractor=extractor))

    _, trace = optimise(objective, initial, iterations=iterations, progress=False)
    return {"best": np.minimum.accumulate(trace.losses).tolist(),
            "s_per_iteration": trace.seconds / trace.iterations}


def _db(x: float) -> str:
    return f"{10 * np.log10(x):.1f}"


def run(quick: bool = False) -> Section:
    lengths = [5.0] if quick else [5.0, 10.0, 30.0]
    rows, per_iteration = [], {}
    for seconds in lengths:
        m = {conv1: measure("bench_soundnet:iteration_time", seconds=seconds, conv1=conv1)
             for conv1 in ("polyphase", "plain")}
        ours, floor = m["polyphase"]["ours"], m["polyphase"]["floor"]
        plain = m["plain"]["ours"]
        per_iteration[seconds] = (ours, floor, m["polyphase"]["peak_mib"])
        rows.append([f"{seconds:g} s", f"{ours:.3f}", f"{plain:.3f}", f"{floor:.3f}",
                     f"{ours / floor:.2f}", f"{plain / ours:.2f}",
                     f"{m['polyphase']['peak_mib']:.0f}"])
    cost = table(["content", "ours s/it", "plain conv1 s/it", "floor s/it", "ours ÷ floor",
                  "plain ÷ ours", "peak MiB"], rows)
    two = measure("bench_soundnet:iteration_time", seconds=5.0, threads=2)
    threads_note = (
        f"With 2 threads (5 s): ours {two['ours']:.3f} s/it, floor {two['floor']:.3f} s/it, "
        f"i.e. {two['ours'] / per_iteration[5.0][0]:.1f}× the 1-thread time."
    )

    job_seconds = 5.0 if quick else 10.0
    job = measure("bench_soundnet:default_transfer", seconds=job_seconds)
    ours, floor, peak = per_iteration[job_seconds if job_seconds in per_iteration else 5.0]
    summary = [
        {"extractor": "soundnet", "setting": "waveform domain", "audio": f"{job_seconds:g} s",
         "s/iteration": f"{ours:.3f}", "peak memory": f"{peak:.0f} MiB",
         "floor": f"{floor:.3f} s (network fwd+grad, no Gram)",
         "s/iteration ÷ floor": f"{ours / floor:.2f}"},
        {"extractor": "soundnet", "setting": "default transfer", "audio": f"{job_seconds:g} s",
         "iterations": job["iterations"], "total s": f"{job['total_s']:.1f}",
         "real-time factor": f"{job['total_s'] / job_seconds:.1f}",
         "peak memory": f"{job['peak_mib']:.0f} MiB"},
    ]

    budget = 50 if quick else 150
    runs = [("transfer", "content", "raw"), ("transfer", "content", "stft"),
            ("texture", "noise", "raw"), ("texture", "noise", "stft")]
    curve_rows = []
    for kind, init, parametrisation in runs:
        r = measure("bench_soundnet:convergence", seconds=5.0, iterations=budget, init=init,
                    parametrisation=parametrisation)
        best = r["best"]
        curve_rows.append([kind, parametrisation, f"{r['s_per_iteration']:.3f}",
                           *(_db(best[n - 1]) if n <= len(best) else "" for n in MARKS)])
    curves = table(["job (5 s)", "parametrisation", "s/it",
                    *(f"{n} it dB" for n in MARKS)], curve_rows)

    markdown = f"""
Machine: {machine()}.

### Cost of one iteration

Content is the demo melody looped to the given length, style 10 s of the bongo loop; all seven
layers conv1–conv7 are matched. *ours*: the loss and its gradient with respect to the samples
(conv1 computed as a stride-1 convolution of the two polyphase components of the signal);
*plain conv1*: the same with conv1 as the original stride-2 convolution; *floor*: the network
alone (forward to conv7 and the gradient of the features' sum with respect to the waveform,
no Gram matrix): what any loss on these features must pay. *ours* and *floor* are measured
alternately in one process (median of 9).

{cost}

All rows ran with 1 thread (`torch.set_num_threads(1)`), as the first runs of this benchmark
did on a shared, oversubscribed machine, where SoundNet's many small convolutions scaled badly
over threads; on a quiet machine 2 threads help:
{threads_note}

### Default transfer of {job_seconds:g} s

`audiostyle.transfer(content, style, extractor="soundnet")` with all defaults (run on 1
thread; waveform domain, {job['iterations']} L-BFGS evaluations): best loss
{job['best_db']:.1f} dB from the start; result loss {job['loss_db']:.1f} dB (style distance
{job['style_distance_db']:.1f} dB);
**{job['total_s']:.1f} s in total ({job['optimise_s']:.1f} s optimising), real-time factor
{job['total_s'] / job_seconds:.1f}**, peak memory {job['peak_mib']:.0f} MiB.

### Convergence (5 s, best loss in dB from the start)

Transfer starts from the content, texture from white noise at the style's RMS. *raw*: L-BFGS
on the samples (the default); *stft*: the samples parametrised through their STFT with the
per-bin scale `(1 + |STFT(x₀)|)^½` (n_fft 2048, hop 512), as the spectral extractors' waveform
domain does.

{curves}
"""
    return Section("soundnet", "SoundNet, pretrained (issue 5)", markdown, summary)
