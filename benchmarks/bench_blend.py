"""Blends of two very different styles: does the result move towards both, and keep the content
as well as a single-style transfer does?

For each case (content, style A, style B, extractor) this runs the default transfer with A alone,
with B alone and with the even blend of A and B (``style_weights`` 0.5 / 0.5), and scores each
result with the independent judge (:class:`audiostyle.evaluation.Evaluator`): the McDermott
statistics gain towards A and towards B (result minus content, dB), chroma and onset
correlation with the content. The paper's inputs are read from ``../shared/paper`` when it is
there; our own (the demo's melody and bongos, synthetic insects) always run.
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench_frontier import PAPER, _own_sounds
from common import Section, machine, table

EXTRACTORS = tuple(os.environ.get("BLEND_EXTRACTORS", "mcdermott,shallow").split(","))


def _cases(own: dict[str, Path]) -> list[dict]:
    cases = [dict(name="canon × bongos + insects (ours)", content=str(own["canon"]),
                  a=str(own["bongos"]), b=str(own["insects"]), extractor=e) for e in EXTRACTORS]
    if PAPER.is_dir():
        inputs = PAPER / "inputs"
        cases += [dict(name="pachelbel × bongo-loop + crickets",
                       content=str(inputs / "pachelbel.mp3"), a=str(inputs / "bongo-loop.mp3"),
                       b=str(inputs / "crickets.mp3"), extractor=e) for e in EXTRACTORS]
    return cases


def run_case(case: dict) -> dict:
    """A alone, B alone and the even blend, scored under both styles; in a worker process."""
    import torch

    import audiostyle
    from audiostyle.evaluation import Evaluator

    torch.set_num_threads(1)
    judges = {key: Evaluator(case[key], case["content"], extractors=["mcdermott"])
              for key in ("a", "b")}
    rows = {}
    work = Path(tempfile.mkdtemp(prefix="blend-"))
    for label, style, weights in (("A alone", case["a"], None), ("B alone", case["b"], None),
                                  ("A + B, 0.5 / 0.5", [case["a"], case["b"]], [0.5, 0.5])):
        result = audiostyle.transfer(case["content"], style, extractor=case["extractor"],
                                     style_weights=weights, progress=False)
        path = work / "result.wav"
        audiostyle.save_audio(path, result.audio)
        scores = {key: judge(str(path)) for key, judge in judges.items()}
        rows[label] = dict(gain_a=scores["a"].style_match["mcdermott"].gain_db,
                           gain_b=scores["b"].style_match["mcdermott"].gain_db,
                           chroma=scores["a"].content.chroma, onsets=scores["a"].content.onsets)
    return {**case, "rows": rows}


def run(quick: bool = False) -> Section:
    folder = Path(tempfile.mkdtemp(prefix="blend-own-"))
    cases = _cases(_own_sounds(folder))
    if quick:
        cases = cases[:1]
    with ProcessPoolExecutor(max_workers=2) as pool:
        done = list(pool.map(run_case, cases))
    rows = []
    for case in done:
        for label, r in case["rows"].items():
            rows.append([case["name"], case["extractor"], label, f"{r['gain_a']:.1f}",
                         f"{r['gain_b']:.1f}", f"{r['chroma']:.2f}", f"{r['onsets']:.2f}"])
    markdown = f"""
Machine: {machine()}. Default transfers (each extractor's default strength); gains are the
McDermott statistics SNR of the result towards each style minus the content's.

{table(["content × styles", "extractor", "style", "gain towards A dB", "gain towards B dB",
        "chroma", "onsets"], rows)}
"""
    return Section("blend", "Blends of two styles", markdown)
