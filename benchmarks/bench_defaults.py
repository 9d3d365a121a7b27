"""What the content-keeping defaults cost, side by side with the paper's method in one run.

- **10 s with the shallow net**: the whole default transfer (structure term, strength 0.5)
  against today's before it (``strength=1``: the style statistics alone, the same stages and
  iteration counts), both at once in two processes of one thread each, so that whatever else
  loads a shared machine loads both alike;
- **per extractor**: seconds per loss evaluation in the first stage of its default transfer,
  with the structure term (the default) and without (``strength=1``, same domain), which is
  what the term costs per iteration; the whole-run times of McDermott's and SoundNet's new
  defaults (which also change domain or iteration count) are in the frontier section.
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from bench_shallow import _signals
from common import Section, machine, measure, table

SECONDS = 10.0
SR = 22050
#: Loss evaluations timed per extractor (after the style target is computed).
EVALUATIONS = 12


def whole_transfer(strength: float | None) -> dict:
    """The default shallow transfer of :data:`SECONDS` of content (``strength=None``: the
    extractor's default), timed from the arrays to the result."""
    import torch

    import audiostyle

    torch.set_num_threads(1)
    content, style = _signals(SECONDS)
    began = time.perf_counter()
    result = audiostyle.transfer(content, style, sr=SR, strength=strength, progress=False)
    return {"seconds": time.perf_counter() - began,
            "stages": {k: t.seconds for k, t in result.stages.items()}}


def per_evaluation(extractor: str, strength: float | None) -> dict:
    """Seconds per loss evaluation of the first stage of ``extractor``'s default transfer
    (``strength=1``: without the structure term), :data:`SECONDS` of content."""
    import audiostyle
    from audiostyle.extractors.registry import extractor_class

    content, style = _signals(SECONDS)
    domain = extractor_class(extractor).transfer_defaults.get(
        "domain", extractor_class(extractor).default_domain)
    result = audiostyle.transfer(content, style, sr=SR, extractor=extractor, strength=strength,
                                 domain=domain, iterations=EVALUATIONS, refine_iterations=0,
                                 progress=False)
    trace = result.stages[domain]
    return {"domain": domain, "s_per_evaluation": trace.seconds / trace.iterations}


def _installed(extractor: str) -> bool:
    """Whether the weights ``extractor`` needs (if any) are installed and intact."""
    from audiostyle.errors import AudioStyleError
    from audiostyle.weights import available
    from audiostyle.weights.store import verify

    if extractor not in available():
        return True  # no weights: random or fixed filters
    try:
        verify(extractor)
    except AudioStyleError:
        return False
    return True


def run(quick: bool = False) -> Section:
    rounds = 1 if quick else 3
    times: dict[str, list[float]] = {"today's": [], "new": []}
    strengths = {"today's": 1.0, "new": None}
    for _ in range(rounds):  # each round runs both at once
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = {label: pool.submit(measure, "bench_defaults:whole_transfer", strength=value)
                    for label, value in strengths.items()}
            for label, run_ in runs.items():
                times[label].append(run_.result()["seconds"])
    old, new = statistics.median(times["today's"]), statistics.median(times["new"])
    whole = table(["shallow, 10 s", "today's (strength 1) s", "new default s", "new ÷ today's"],
                  [["whole default transfer", f"{old:.1f}", f"{new:.1f}", f"{new / old:.3f}"]])

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
    summary.append({"extractor": "shallow", "setting": "new default vs strength 1",
                    "audio": f"{SECONDS:g} s", "total s": f"{new:.1f} vs {old:.1f}",
                    "real-time factor": f"{new / SECONDS:.1f}"})
    markdown = f"""
Machine: {machine()}. Medians of {rounds} rounds; in each, today's and the new default ran at
once, each in a fresh process with one thread.
Content: the demo melody looped to {SECONDS:g} s; style: {SECONDS:g} s of the bongo loop.

### The shallow net's default transfer

{whole}

### What the structure term costs per iteration

{EVALUATIONS} loss evaluations of the first stage; vgg-mtt's default (strength 1) has no
structure term.

{per}
"""
    return Section("defaults", "Cost of the content-keeping defaults", markdown, summary)
