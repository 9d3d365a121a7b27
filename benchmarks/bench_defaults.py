"""What the content-keeping defaults cost, side by side with the defaults before them in one run.

- **10 s with the shallow net**: the whole default transfer with the code as it is against
  *today's*, the default transfer of the code when issue 17 was filed (commit
  :data:`TODAY_COMMIT`, unpacked from this repository's history: the style statistics alone,
  120 + 40 iterations), both at once in two processes of one thread each, so that whatever
  else loads a shared machine loads both alike (without the history: this code at
  ``strength=1``, the paper's method);
- **per extractor**: seconds per loss evaluation in the first stage of its default transfer,
  with the structure term (the default) and without (``strength=1``, same domain), which is
  what the term costs per iteration; the whole-run times of McDermott's and SoundNet's new
  defaults (which also change domain or iteration count) are in the frontier section.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from bench_shallow import _signals
from common import Section, machine, measure, table, unpacked_src

#: The code when issue 17 (keep the melody) was filed: "today's" default transfer.
TODAY_COMMIT = "86ff30342d2864b789ab280f96bdc83b232b5292"
SECONDS = 10.0
SR = 22050
#: Loss evaluations timed per extractor (after the style target is computed).
EVALUATIONS = 12


def whole_transfer(inputs: str, strength: float | None = None) -> dict:
    """The default shallow transfer of the content and style in ``inputs`` (``.npz``) with
    whichever audiostyle this process imports (``strength`` given only when not None), timed
    from the arrays to the result."""
    import torch

    import audiostyle

    torch.set_num_threads(1)
    signals = np.load(inputs)
    values = {} if strength is None else {"strength": strength}
    began = time.perf_counter()
    result = audiostyle.transfer(signals["content"], signals["style"], sr=SR,
                                 extractor="shallow", progress=False, **values)
    return {"seconds": time.perf_counter() - began,
            "stages": {k: t.seconds for k, t in result.stages.items()}}


def per_evaluation(extractor: str, strength: float | None) -> dict:
    """Seconds per loss evaluation of the first stage of ``extractor``'s default transfer
    (``strength=1``: without the structure term), :data:`SECONDS` of content."""
    import audiostyle
    from audiostyle.extractors.registry import extractor_class

    content, style = _signals(SECONDS)
    domain = extractor_class(extractor).defaults.transfer.domain
    result = audiostyle.transfer(content, style, sr=SR, extractor=extractor, strength=strength,
                                 domain=domain, iterations=EVALUATIONS, refine_iterations=0,
                                 progress=False)
    trace = result.stages[domain]
    return {"domain": domain, "s_per_evaluation": trace.seconds / trace.iterations}


def history(extractor: str, start: str, size: int) -> dict:
    """L-BFGS with ``size`` correction pairs on ``extractor``'s default first stage (a
    transfer from the content with the structure term, or a texture from noise), 8 s of the
    demo melody against 8 s of rain, one thread: seconds per iteration and the best loss (dB
    from the start) at a quarter, half and all of the default iterations."""
    import math

    import soxr
    import torch

    from audiostyle.demo import canon_melody, rain
    from audiostyle.extractors import get_extractor
    from audiostyle.extractors.registry import extractor_class
    from audiostyle.synthesis.domains import make_domain
    from audiostyle.synthesis.losses import StyleLoss, transfer_loss
    from audiostyle.synthesis.optimiser import optimise
    from audiostyle.synthesis.stages import START_DITHER
    from audiostyle.synthesis.structure import StructureLoss

    torch.set_num_threads(1)
    kind, net = extractor_class(extractor), get_extractor(extractor)
    rate = net.sample_rate
    content = np.tile(canon_melody(SR), 2)[: 8 * SR]
    signals = [torch.from_numpy(soxr.resample(x, SR, rate).astype(np.float32))[None]
               for x in (content, rain(SR, seconds=8.0))]
    style_loss = StyleLoss(net)
    style_loss.set_target([(net.analyse(signals[1]), 1.0)])
    if start == "content":
        structure = StructureLoss(signals[0], rate, net.spectrogram,
                                  slack_db=kind.defaults.loudness_slack_db)
        loss = transfer_loss(style_loss, structure=structure,
                             structure_weight=kind.defaults.structure_weight)
        begin = signals[0] + START_DITHER * torch.randn_like(signals[0])
        plan = kind.defaults.transfer
    else:
        loss = transfer_loss(style_loss)
        plan = kind.defaults.texture
        begin = net.noise(signals[1], signals[0].shape[-1], torch.Generator().manual_seed(0))
    domain, iterations = plan.domain, plan.iterations
    space = make_domain(domain, net, begin)
    _, trace = optimise(space.objective(loss), space.initial,
                        iterations=iterations, history_size=size, progress=False)
    marks = sorted({iterations // 4, iterations // 2, iterations})
    return {"domain": domain, "iterations": iterations,
            "s_per_iteration": trace.seconds / trace.iterations,
            "db": [10 * math.log10(min(trace.losses[:n])) for n in marks]}


def _installed(extractor: str) -> bool:
    """Whether the weights ``extractor`` needs (if any) are installed and intact."""
    from audiostyle.weights import available
    from audiostyle.weights.store import verify

    # (verify answers in words; it raises nothing for missing weights)
    return extractor not in available() or verify(extractor) == "verified"


def run(quick: bool = False) -> Section:
    from audiostyle.synthesis.optimiser import HISTORY  # (not at the top: today's code lacks it)

    rounds = 1 if quick else 3
    work = Path(tempfile.mkdtemp(prefix="bench-defaults-"))
    inputs = work / "signals.npz"
    np.savez(inputs, **dict(zip(("content", "style"), _signals(SECONDS), strict=True)))
    today = unpacked_src(TODAY_COMMIT, work)
    base = "today's" if today is not None else "strength 1"
    runs = {"new default": ({}, None),
            base: ({}, today) if today is not None else ({"strength": 1.0}, None)}
    times: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(rounds):  # each round runs them at once, one thread each
        with ThreadPoolExecutor(max_workers=len(runs)) as pool:
            started = {label: pool.submit(measure, "bench_defaults:whole_transfer",
                                          source=source, inputs=str(inputs), **values)
                       for label, (values, source) in runs.items()}
            for label, run_ in started.items():
                times[label].append(run_.result()["seconds"])
    shutil.rmtree(work, ignore_errors=True)
    median = {label: statistics.median(seconds) for label, seconds in times.items()}
    new, old = median["new default"], median[base]
    whole = table(["shallow, 10 s", f"{base} s", "new default s", f"new ÷ {base}"],
                  [["whole default transfer", f"{old:.1f}", f"{new:.1f}", f"{new / old:.3f}"]])
    if today is None:
        whole += "\n\n(today's code could not be unpacked, no git history here: strength 1)"

    rows, summary = [], []
    for extractor in ("shallow",) if quick else ("shallow", "mcdermott", "soundnet"):
        if not _installed(extractor):
            rows.append([extractor, "weights not installed", "", "", ""])
            continue
        without = measure("bench_defaults:per_evaluation", extractor=extractor, strength=1.0)
        with_term = measure("bench_defaults:per_evaluation", extractor=extractor, strength=None)
        ratio = with_term["s_per_evaluation"] / without["s_per_evaluation"]
        rows.append([extractor, with_term["domain"], f"{without['s_per_evaluation']:.3f}",
                     f"{with_term['s_per_evaluation']:.3f}", f"{ratio:.3f}"])
    per = table(["extractor", "first stage", "s/evaluation, strength 1",
                 "s/evaluation, default (structure term)", "ratio"], rows)
    memory = []
    cases = [("shallow", "content")] if quick else [
        ("shallow", "content"), ("mcdermott", "content"), ("mcdermott", "noise"),
        ("soundnet", "content"), ("vgg-mtt", "content")]
    for extractor, start in cases:
        if not _installed(extractor):
            continue
        full, short = (measure("bench_defaults:history", extractor=extractor, start=start,
                               size=size) for size in (100, HISTORY))
        memory.append([f"{extractor}, {'transfer' if start == 'content' else 'texture'}",
                       f"{full['domain']}, {full['iterations']}",
                       f"{full['s_per_iteration']:.3f}", f"{short['s_per_iteration']:.3f}",
                       f"{short['s_per_iteration'] / full['s_per_iteration']:.2f}",
                       " / ".join(f"{v:.1f}" for v in full["db"]),
                       " / ".join(f"{v:.1f}" for v in short["db"])])
    memory_table = table(["extractor, job", "first stage, iterations", "s/it, 100 pairs",
                          f"s/it, {HISTORY} pairs", "ratio",
                          "loss dB at ¼ / ½ / all, 100 pairs", f"… {HISTORY} pairs"], memory)
    summary.append({"extractor": "shallow", "setting": f"new default vs {base}",
                    "audio": f"{SECONDS:g} s", "total s": f"{new:.1f} vs {old:.1f}",
                    "real-time factor": f"{new / SECONDS:.1f}"})
    markdown = f"""
Machine: {machine()}. Medians of {rounds} rounds; in each, these ran at once, each in a
fresh process with one thread: the new default and today's (the default transfer of commit
{TODAY_COMMIT[:7]}, when issue 17 was filed).
Content: the demo melody looped to {SECONDS:g} s; style: {SECONDS:g} s of the bongo loop.

### The shallow net's default transfer

{whole}

### What the structure term costs per iteration

{EVALUATIONS} loss evaluations of the first stage; vgg-mtt's default (strength 1) has no
structure term.

{per}

### L-BFGS memory

The default first stage with torch's default memory (100 correction pairs) and ours
({HISTORY}), one thread each, one after the other; content 8 s of the demo melody, style 8 s of
rain. The two-loop recursion reads every stored pair twice per iteration, which on
signal-sized vectors is memory-bound work beside the loss.

{memory_table}
"""
    return Section("defaults", "Cost of the content-keeping defaults", markdown, summary)
