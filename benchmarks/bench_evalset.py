"""The default transfer on the wider evaluation set, judged independently (issue 28, points 3–4).

For each extractor (``EVALSET_EXTRACTORS``, comma-separated; default ``mcdermott,shallow``)
and every (content, style) pair of a part of the set built by ``benchmarks/evalset.py``
(``EVALSET_PART``: ``held-out``, the default, ``tuning`` or ``all``; ``EVALSET_PAIRS``, e.g.
``speech_fr:crowd,guitar:insects``, narrows it to those pairs), this runs the **default
transfer**: :func:`audiostyle.transfer` with the extractor's defaults and nothing else set
(seed 0, the default), one at a time. Each result is scored by
:class:`audiostyle.evaluation.Evaluator`:

- **gain**: the independent judge's style gain (result minus content, dB;
  :mod:`audiostyle.evaluation.independent`, statistics no loss optimises), the number every
  verdict here uses;
- **own**: the gain under the extractor's own statistics (what its loss optimised);
- **chroma** and **onsets**: correlation with the content (1 = kept); **copy**: the largest
  normalised cross-correlation with the style (near 1 = a replay);
- **seconds**: wall time of the whole transfer call (loading, optimisation, phase recovery).

Issue 28's acceptance on the held-out part: every pair gains ≥ 2 dB with chroma ≥ 0.6 and
onsets ≥ 0.75, the mean gain is ≥ 4 dB per extractor, and copy ≤ 0.6 on every pair.

Each scored pair is merged into ``results/evalset/points.json`` as soon as it is done, so an
interrupted run loses at most the pair in progress; a pair already there with the same
extractor defaults is not run again (``EVALSET_REDO=1`` runs it anyway; an empty
``EVALSET_EXTRACTORS`` only renders the tables and plots again). One plot per part and
extractor (independent gain against chroma, pairs labelled, the worst marked) goes to
``results/evalset/``. Without the set on disk the section is skipped with one line and its
earlier results are kept. Run it with ``OMP_NUM_THREADS=1`` on a shared machine.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from common import RESULTS, Section, machine, table
from evalset import CACHE, pairs

EXTRACTORS = tuple(name for name in os.environ.get(
    "EVALSET_EXTRACTORS", "mcdermott,shallow").split(",") if name)
PART = os.environ.get("EVALSET_PART", "held-out")
PARTS = {"held-out": ("held-out",), "tuning": ("tuning",), "all": ("tuning", "held-out")}
#: Only these pairs ("content:style", comma-separated; default: every pair of the part).
ONLY = tuple(tuple(pair.split(":", 1)) for pair in os.environ.get("EVALSET_PAIRS", "").split(",")
             if pair)
REDO = os.environ.get("EVALSET_REDO") == "1"
FOLDER = RESULTS / "evalset"
POINTS = FOLDER / "points.json"
#: Issue 28's acceptance: per pair, independent gain (dB), chroma and onsets at least these,
#: copy at most; per extractor, mean independent gain (dB) at least.
MIN_GAIN, MIN_CHROMA, MIN_ONSETS, MAX_COPY, MIN_MEAN_GAIN = 2.0, 0.6, 0.75, 0.6, 4.0
#: The columns of a point, in table order, with their formats.
COLUMNS = {"gain": "+.1f", "own": "+.1f", "chroma": ".2f", "onsets": ".2f", "copy": ".2f",
           "seconds": ".0f"}


def _key(point: dict) -> tuple[str, str, str]:
    return point["extractor"], point["content"], point["style"]


def _load() -> dict[tuple[str, str, str], dict]:
    return {_key(p): p for p in json.loads(POINTS.read_text())} if POINTS.exists() else {}


def _ordered(points: dict[tuple[str, str, str], dict]) -> list[dict]:
    """The points by part, extractor, then pair in the set's order."""
    order = {name: i for i, name in enumerate(("mcdermott", "shallow", "soundnet", "vgg-mtt"))}
    place = {pair: i for part in PARTS["all"] for i, pair in enumerate(pairs(part))}
    return sorted(points.values(), key=lambda p: (
        p["part"], order.get(p["extractor"], 9), place[p["content"], p["style"]]))


def _save(points: dict[tuple[str, str, str], dict]) -> None:
    """Write every point, atomically (a run stopped mid-write keeps the earlier file)."""
    part = POINTS.with_suffix(".json.part")
    part.write_text(json.dumps(_ordered(points), indent=1, default=float, ensure_ascii=False)
                    + "\n")
    part.replace(POINTS)


def defaults_text(extractor: str) -> str:
    """The extractor's defaults as a string: a stored point is reused only while it holds."""
    from audiostyle.extractors.registry import extractor_class

    return repr(extractor_class(extractor).defaults)


def run_pair(extractor: str, content: str, style: str, part: str, **settings) -> dict:
    """The default transfer of ``content`` × ``style`` (names in the set) by ``extractor``,
    scored; ``settings`` only for a quick check."""
    import audiostyle
    from audiostyle.evaluation import Evaluator

    content_path, style_path = CACHE / f"{content}.wav", CACHE / f"{style}.wav"
    evaluator = Evaluator(style_path, content_path, extractors=[extractor])
    began = time.perf_counter()
    result = audiostyle.transfer(content_path, style_path, extractor=extractor, progress=False,
                                 **settings)
    seconds = time.perf_counter() - began
    with tempfile.TemporaryDirectory(prefix="evalset-") as work:
        path = Path(work) / "result.wav"
        audiostyle.save_audio(path, result.audio)
        e = evaluator(path)
    point = dict(part=part, extractor=extractor, content=content, style=style,
                 gain=e.style_match["independent"].gain_db,
                 own=e.style_match[extractor].gain_db, chroma=e.content.chroma,
                 onsets=e.content.onsets, envelopes=e.content.envelopes, copy=e.copy,
                 seconds=seconds, style_distance_db=result.style_distance_db,
                 defaults=defaults_text(extractor))
    if e.content.transcription is not None:
        point["notes_f1"] = e.content.transcription.f1
    return point


def passes(point: dict) -> bool:
    """Issue 28's per-pair acceptance (independent gain, chroma, onsets)."""
    return (point["gain"] >= MIN_GAIN and point["chroma"] >= MIN_CHROMA
            and point["onsets"] >= MIN_ONSETS)


def _pair(point: dict) -> str:
    return f"{point['content']} × {point['style']}"


def _table(points: list[dict], plot: str) -> str:
    """One extractor's pairs of one part: every pair, the mean, the worst, the acceptance."""
    rows = [[_pair(p)] + [format(p[c], f) for c, f in COLUMNS.items()]
            + ["yes" if passes(p) else "**no**"] for p in points]
    means = {c: float(np.mean([p[c] for p in points])) for c in COLUMNS}
    rows.append(["**mean**"] + [f"**{format(means[c], f)}**" for c, f in COLUMNS.items()]
                + [""])
    worst = min(points, key=lambda p: p["gain"])
    passed = sum(passes(p) for p in points)
    copies = sum(p["copy"] <= MAX_COPY for p in points)
    header = ["pair", "gain dB (independent)", "own-loss gain dB", "chroma", "onsets", "copy",
              "s", "passes"]
    verdict = "yes" if means["gain"] >= MIN_MEAN_GAIN else "**no**"
    return (
        table(header, rows) + "\n\n"
        f"Worst pair by independent gain: **{_pair(worst)}** ({worst['gain']:+.1f} dB, chroma "
        f"{worst['chroma']:.2f}, onsets {worst['onsets']:.2f}; [plot]({plot})). "
        f"Acceptance (issue 28): {passed} of {len(points)} pairs gain ≥ {MIN_GAIN:g} dB with "
        f"chroma ≥ {MIN_CHROMA:g} and onsets ≥ {MIN_ONSETS:g}; mean gain "
        f"{means['gain']:+.1f} dB ≥ {MIN_MEAN_GAIN:g}: {verdict}; copy ≤ {MAX_COPY:g} on "
        f"{copies} of {len(points)}."
    )


def _plot(points: list[dict], title: str, path: Path) -> None:
    """Independent gain against chroma, one labelled dot per pair, the worst ringed, the
    acceptance region shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    gains = [p["gain"] for p in points]
    top = max(max(gains) + 1, MIN_GAIN + 2)
    ax.fill_between([MIN_CHROMA, 1.0], MIN_GAIN, top, color="tab:green", alpha=0.1,
                    label=f"gain ≥ {MIN_GAIN:g} dB, chroma ≥ {MIN_CHROMA:g}")
    ax.axhline(float(np.mean(gains)), color="tab:blue", ls="--", lw=1,
               label=f"mean gain {np.mean(gains):+.1f} dB")
    for p in points:
        colour = "tab:blue" if passes(p) else "tab:red"
        ax.scatter(p["chroma"], p["gain"], color=colour, s=30, zorder=3)
        ax.annotate(_pair(p).replace(" × ", "×"), (p["chroma"], p["gain"]), fontsize=6,
                    xytext=(3, 2), textcoords="offset points")
    worst = min(points, key=lambda p: p["gain"])
    ax.scatter(worst["chroma"], worst["gain"], s=160, facecolors="none", edgecolors="black",
               zorder=4, label=f"worst: {_pair(worst)}")
    ax.set_xlim(min(min(p["chroma"] for p in points) - 0.05, MIN_CHROMA - 0.05), 1.0)
    ax.set_ylim(min(min(gains) - 1, 0), top)
    ax.set_xlabel("chroma (content kept)")
    ax.set_ylabel("independent style gain, dB")
    ax.set_title(title + " (red: fails onsets, chroma or gain)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _report(points: dict[tuple[str, str, str], dict]) -> str:
    blocks, ordered = [], _ordered(points)
    for part in ("held-out", "tuning"):
        for extractor in dict.fromkeys(p["extractor"] for p in ordered):
            chosen = [p for p in ordered if p["part"] == part and p["extractor"] == extractor]
            if not chosen:
                continue
            name = f"{part}-{extractor}.png"
            _plot(chosen, f"{extractor}, {part} part", FOLDER / name)
            blocks.append(f"### {extractor}, {part} part ({len(chosen)} of "
                          f"{len(pairs(part))} pairs)\n\n"
                          + _table(chosen, f"results/evalset/{name}"))
    return "\n\n".join(blocks)


def run(quick: bool = False) -> Section | None:
    if not (CACHE / "manifest.json").is_file():
        print(f"evalset: skipped, the set is not built in {CACHE} "
              "(.venv/bin/python benchmarks/evalset.py)")
        return None
    import torch

    torch.set_num_threads(1)
    if PART not in PARTS:
        raise SystemExit(f"EVALSET_PART={PART!r}: choose from {', '.join(PARTS)}")
    if quick:  # checks the script on one pair, a few iterations; nothing is kept
        content, style = pairs("held-out")[0]
        point = run_pair(EXTRACTORS[0], content, style, "held-out", iterations=4,
                         refine_iterations=0)
        return Section("evalset", "Evalset (quick check)", _table([point], "-"))
    FOLDER.mkdir(parents=True, exist_ok=True)
    points = _load()
    for extractor in EXTRACTORS:
        defaults = defaults_text(extractor)
        for part in PARTS[PART]:
            for content, style in pairs(part):
                done = points.get((extractor, content, style))
                left_out = bool(ONLY) and (content, style) not in ONLY
                kept = done is not None and done["defaults"] == defaults and not REDO
                if left_out or kept:
                    continue
                point = run_pair(extractor, content, style, part)
                points[_key(point)] = point
                _save(points)
                print(f"{extractor:10} {content} × {style}: gain {point['gain']:+.1f} dB, "
                      f"chroma {point['chroma']:.2f}, onsets {point['onsets']:.2f}, "
                      f"{point['seconds']:.0f} s", flush=True)
    text = (
        f"Machine: {machine()}; one transfer at a time. The **default transfer** of each "
        "extractor (`audiostyle.transfer(content, style, extractor=...)`, nothing else set, "
        "seed 0) on the evaluation set of `benchmarks/evalset.py` (8-s sounds from Debian "
        "packages; tuning part: speech_en, piano, drums, flute × rain, fire, wind, bells; "
        "held-out part: speech_fr, speech_de, singing, guitar × water, crowd, insects, "
        "machines). *gain*: the independent judge's style gain (result − content, dB; "
        "statistics no loss optimises); *own-loss gain*: the same under the extractor's own "
        "statistics; chroma and onsets: correlation with the content; copy: max normalised "
        "cross-correlation with the style; s: wall seconds of the transfer call. *Passes*: "
        f"gain ≥ {MIN_GAIN:g} dB, chroma ≥ {MIN_CHROMA:g}, onsets ≥ {MIN_ONSETS:g} (issue 28). "
        "Per-pair numbers: `results/evalset/points.json`.\n\n" + _report(points)
    )
    return Section("evalset", "Evaluation set: default transfers judged independently", text)
