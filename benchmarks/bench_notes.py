"""Note F1 (Basic Pitch in onnxruntime, one thread): what one transcription costs.

For each signal, the median wall time of the network over all windows, of the note creation
(onset pass and melodia trick, pure Python loops whose work grows with the frame activity),
and of a whole ``NoteReference.score`` (both plus mir_eval's matching), with the notes found.
Signals: the demo Canon, a rain texture (dense, noisy: the note creation's worst case) and
their mix, looped to each length.
"""

from __future__ import annotations

import time

import numpy as np

from common import Section, machine, measure, median_seconds, table

SR = 22050


def _signal(kind: str, seconds: float) -> np.ndarray:
    from audiostyle.demo import canon_melody, rain

    n = int(seconds * SR)
    canon = np.resize(canon_melody(SR), n)
    noise = rain(SR, seconds=seconds)[:n]
    return {"canon": canon, "rain": noise, "canon + rain": canon + 0.5 * noise}[kind]


def transcription_time(kind: str, seconds: float, repeats: int = 3) -> dict:
    """Median seconds of the network, the note creation and a whole score of one signal."""
    import os

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from audiostyle.evaluation import transcription
    from audiostyle.evaluation.note_score import NoteReference

    y = _signal(kind, seconds)
    began = time.perf_counter()
    reference = NoteReference(_signal("canon", seconds))
    setup = time.perf_counter() - began  # loading the model and transcribing the content
    model = reference.transcriber
    post = model.posteriors(y)
    network = median_seconds(lambda: model.posteriors(y), repeats)
    decode = median_seconds(lambda: transcription.decode_notes(post["note"], post["onset"]),
                            repeats)
    total = median_seconds(lambda: reference.score(y), repeats)
    return {"network": network, "decode": decode, "total": total, "setup": setup,
            "notes": len(model.notes(y)), "f1": reference.score(y).f1}


def run(quick: bool = False) -> Section:
    lengths = [7.0] if quick else [7.0, 60.0]
    rows = []
    for seconds in lengths:
        for kind in ("canon", "rain", "canon + rain"):
            r = measure("bench_notes:transcription_time", kind=kind, seconds=seconds,
                        repeats=1 if quick else 3)
            rows.append([kind, f"{seconds:g} s", r["network"], r["decode"], r["total"],
                         r["total"] / seconds, r["setup"], r["notes"], round(r["f1"], 2),
                         f"{r['peak_mib']:.0f} MiB"])
    markdown = (
        f"{__doc__.split(chr(10), 1)[1].strip()}\n\nMachine: {machine()}. *score s*: "
        "transcribing the output and matching it against the content's notes; *setup s*: "
        "loading the model and transcribing the content, once per content.\n\n"
        + table(["signal", "audio", "network s", "note creation s", "score s",
                 "score s / audio s", "setup s", "notes", "F1 vs the Canon", "peak memory"],
                rows)
    )
    return Section("notes", "Note F1: Basic Pitch transcription cost", markdown)
