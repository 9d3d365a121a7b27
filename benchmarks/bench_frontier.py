"""Trade-off frontier: how much style each result gains against how much content it keeps.

For every extractor on the paper's own pairs (its table: pachelbel × cat_milk and ×
man_speaking_english, woman_speaking_french × crickets and × man_speaking_english, plus the
shallow net's pachelbel × bongo-loop and × applause; read from ``../shared/paper`` when it is
there, never copied) and on pairs of our own (the demo; a plucked melody against rain; speech
from espeak-ng against insects, when espeak-ng is installed), this runs:

- the **new default** (the extractor's default strength), recording snapshots of the result
  along its optimisation path (at a quarter, half and three quarters of the first stage);
- **today's default** before this change (``strength=1``: the full style statistics, no
  structure term; McDermott: 300 iterations in the waveform domain; SoundNet: 200);
- the **strength knob** at 0.25, 0.75 and 1 (strength 0 is the content: gain 0, chroma 1);

and scores every result, and the paper's published output, with the same judges
(:class:`audiostyle.evaluation.Evaluator`): the style gain (result minus content, dB) under
the **independent judge** (:mod:`audiostyle.evaluation.independent`, statistics no loss
optimises: what "dominates" is decided on) and under our McDermott statistics (what ``-e
mcdermott`` optimises, so it overstates that extractor's results), chroma, onset and envelope
correlation with the content, note F1 of a transcription when its model is installed, and the
copy score. The extractor's own style distance is listed too. One PNG per pair (chroma and
onsets against the independent gain; the paper's output, today's and the new default marked)
goes to ``benchmarks/results/frontier/``.

Runs two pairs at a time (one thread each) on a 2-core machine; about an hour in all on a quiet
one (the shallow net's nine cases take most of it). ``FRONTIER_EXTRACTORS``
(comma-separated) and ``FRONTIER_KNOB`` (strengths, comma-separated; empty for none) narrow a
run; its cases replace theirs in
``results/frontier/points.json`` and the rest are kept (an empty ``FRONTIER_EXTRACTORS`` only
renders the table and plots again). ``FRONTIER_KEEP`` (point labels, comma-separated, e.g.
``today's default,strength 1``) takes those points from the earlier run instead of running
them again: for a change that cannot move them (the structure term does not act at strength 1).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from common import HERE, RESULTS, Section, machine, table

PAPER = Path(os.environ.get("AUDIOSTYLE_PAPER", HERE.parent.parent / "shared" / "paper"))
SR = 22050
EXTRACTORS = tuple(name for name in os.environ.get(
    "FRONTIER_EXTRACTORS", "shallow,mcdermott,soundnet,vgg-mtt").split(",") if name)
#: The paper's table: (content file stem, kind folder, style stem); the paper's VGG column is
#: ImageNet VGG-19, compared here with vgg-mtt (the VGG we have real weights for).
PAPER_PAIRS = (("pachelbel", "music", "cat_milk"), ("pachelbel", "music", "man_speaking_english"),
               ("woman_speaking_french", "speech", "crickets"),
               ("woman_speaking_french", "speech", "man_speaking_english"))
OPENING_PAIRS = (("pachelbel", "bongo-loop", "cp/pachelbel_bongo"),
                 ("pachelbel", "applause", "cp/pachelbel_applause"))
PAPER_FOLDER = {"shallow": "shallow", "mcdermott": "mcdermott", "soundnet": "soundnet",
                "vgg-mtt": "vgg"}
KNOB = tuple(float(s) for s in os.environ.get("FRONTIER_KNOB", "0.25,0.75,1").split(",") if s)
#: The defaults before the structure term (besides strength 1: statistics only).
TODAY = {"mcdermott": {"domain": "waveform", "iterations": 300}, "soundnet": {"iterations": 200},
         "vgg-mtt": {"domain": "spectrogram", "iterations": 100}}
#: Points taken from the earlier run's ``points.json`` instead of being run again.
KEEP = tuple(label for label in os.environ.get("FRONTIER_KEEP", "").split(",") if label)
#: Fractions of the first stage at which the new default's path is sampled.
PATH_MARKS = (0.25, 0.5, 0.75)


def _own_sounds(folder: Path) -> dict[str, Path]:
    """Our own inputs, synthesised (and spoken by espeak-ng when it is installed)."""
    import soundfile as sf

    from audiostyle.demo import bongo_loop, canon_melody, insects, rain

    sounds = {"canon": canon_melody(SR), "bongos": bongo_loop(SR), "rain": rain(SR, seconds=6.0),
              "insects": insects(SR, seconds=6.0), "plucked": _plucked_melody()}
    paths = {}
    for name, samples in sounds.items():
        paths[name] = folder / f"{name}.wav"
        sf.write(paths[name], samples, SR)
    if shutil.which("espeak-ng"):
        spoken = folder / "speech-raw.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(spoken),
                        "The quick brown fox jumps over the lazy dog, and then it runs away "
                        "into the forest before night falls."], check=True)
        paths["speech"] = spoken
    return paths


def _plucked_melody(seconds_per_note: float = 0.4) -> np.ndarray:
    """Ode to Joy on a Karplus-Strong string, ``(samples,)`` at :data:`SR`, peak 0.5."""
    rng = np.random.default_rng(3)
    notes = [64, 64, 65, 67, 67, 65, 64, 62, 60, 60, 62, 64, 64, 62, 62]
    step = int(seconds_per_note * SR)
    out = np.zeros(step * len(notes) + SR)
    for i, midi in enumerate(notes):
        period = round(SR / (440 * 2 ** ((midi - 69) / 12)))
        buffer = rng.uniform(-1, 1, period)
        ring = np.empty(SR)
        for t in range(SR):
            ring[t] = buffer[t % period]
            buffer[t % period] = 0.498 * (buffer[t % period] + buffer[(t + 1) % period])
        out[i * step: i * step + SR] += ring
    out = out[: step * len(notes)]
    return (0.5 * out / np.abs(out).max()).astype(np.float32)


def _cases(own: dict[str, Path]) -> list[dict]:
    """Every (pair, extractor) to run: content, style, the paper's output if any."""
    cases = []
    if PAPER.is_dir():
        for content, kind, style in PAPER_PAIRS:
            for extractor in EXTRACTORS:
                cases.append(dict(
                    pair=f"{content} × {style}", extractor=extractor,
                    content=str(PAPER / "inputs" / f"{content}.mp3"),
                    style=str(PAPER / "inputs" / f"{style}.mp3"),
                    paper=str(PAPER / "outputs" / kind / PAPER_FOLDER[extractor]
                              / f"{style}.mp3")))
        for content, style, output in OPENING_PAIRS if "shallow" in EXTRACTORS else ():
            cases.append(dict(pair=f"{content} × {style}", extractor="shallow",
                              content=str(PAPER / "inputs" / f"{content}.mp3"),
                              style=str(PAPER / "inputs" / f"{style}.mp3"),
                              paper=str(PAPER / "outputs" / f"{output}.mp3")))
    ours = [("canon", "bongos"), ("plucked", "rain")] + (
        [("speech", "insects")] if "speech" in own else [])
    for content, style in ours:
        for extractor in EXTRACTORS:
            if extractor == "soundnet" and style == "bongos":  # a 4 s loop: SoundNet needs 4.6
                continue
            cases.append(dict(pair=f"{content} × {style} (ours)", extractor=extractor,
                              content=str(own[content]), style=str(own[style]), paper=None))
    return cases


def _score(evaluator, path: str, own_db: float | None = None) -> dict:
    e = evaluator(path)
    match = e.style_match["mcdermott"]
    row = dict(gain=match.gain_db, chroma=e.content.chroma, onsets=e.content.onsets,
               envelopes=e.content.envelopes, copy=e.copy,
               independent=e.style_match["independent"].gain_db)
    notes = getattr(e.content, "transcription", None)  # note F1, when its model is installed
    if notes is not None:
        row["notes_f1"] = notes.f1
    if own_db is not None:
        row["own_db"] = own_db
    return row


def run_case(case: dict) -> dict:
    """All runs of one (pair, extractor), scored; executed in a worker process."""
    import torch

    import audiostyle
    from audiostyle.evaluation import Evaluator
    from audiostyle.extractors.registry import extractor_class

    torch.set_num_threads(1)
    evaluator = Evaluator(case["style"], case["content"], extractors=["mcdermott"])
    extractor = case["extractor"]
    out: dict = {**{k: v for k, v in case.items() if k != "kept"}, "points": {}}
    work = Path(tempfile.mkdtemp(prefix="frontier-"))

    def transfer(label: str, observer=None, **settings) -> None:
        if label in case.get("kept", {}):
            out["points"][label] = case["kept"][label]
            return
        result = audiostyle.transfer(case["content"], case["style"], extractor=extractor,
                                     progress=False, observer=observer, **settings)
        path = str(work / f"{label}.wav")
        audiostyle.save_audio(path, result.audio)
        out["points"][label] = {**_score(evaluator, path, result.style_distance_db),
                                "seconds": result.seconds}

    snapshots: dict[str, audiostyle.Audio] = {}

    def watch(progress) -> None:
        if progress.chunk == 0 and progress.stage == first_stage:
            for mark in PATH_MARKS:
                if progress.iteration == round(mark * progress.iterations):
                    snapshots[f"path {mark:.2f}"] = progress.snapshot()

    kind = extractor_class(extractor)
    first_stage = kind.defaults.transfer.domain
    transfer("new default", watch)
    for label, audio in snapshots.items():
        path = str(work / f"{label}.wav")
        audiostyle.save_audio(path, audio)
        out["points"][label] = _score(evaluator, path)
    transfer("today's default", **TODAY.get(extractor, {}), strength=1.0)
    for strength in KNOB:
        if strength == 1 and extractor not in TODAY:  # the same run as today's default
            out["points"]["strength 1"] = out["points"]["today's default"]
        else:
            transfer(f"strength {strength:g}", strength=strength)
    if case["paper"]:
        out["points"]["paper"] = _score(evaluator, case["paper"])
    shutil.rmtree(work, ignore_errors=True)
    return out


#: The gain "dominates" is decided on: the independent judge's, which no loss optimises.
JUDGE = "independent"


def dominates(ours: dict, paper: dict) -> bool:
    """The acceptance rule: independent style gain ≥ the paper's, chroma and onsets ≥ the
    paper's − 0.02."""
    return (ours[JUDGE] >= paper[JUDGE] and ours["chroma"] >= paper["chroma"] - 0.02
            and ours["onsets"] >= paper["onsets"] - 0.02)


def _shortfall(point: dict, paper: dict) -> float:
    """How far ``point`` is from dominating ``paper``: its missing independent gain in tens of
    dB plus its missing chroma and onsets (beyond the 0.02 allowed); 0 when it dominates."""
    return (max(paper[JUDGE] - point[JUDGE], 0) / 10
            + sum(max(paper[axis] - 0.02 - point[axis], 0) for axis in ("chroma", "onsets")))


def nearest(points: dict) -> str | None:
    """For a pair whose new default does not dominate the paper's output: the label of the
    measured point (knob, path, today's default) nearest to dominating it — among those that do,
    the one with the most gain (the nearest to the default's style). None when the default
    dominates or there is no paper."""
    paper = points.get("paper")
    if paper is None or dominates(points["new default"], paper):
        return None
    others = {k: v for k, v in points.items() if k not in ("paper", "new default")}
    return min(others, key=lambda k: (_shortfall(others[k], paper), -others[k][JUDGE]))


def _plot(case: dict, folder: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from audiostyle.extractors.registry import extractor_class

    points = case["points"]
    closest = nearest(points)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2), sharey=True)
    for ax, axis in zip(axes, ("chroma", "onsets"), strict=True):
        # the new default is the knob's point at the extractor's default strength
        at = {float(k.split()[1]): v for k, v in points.items() if k.startswith("strength ")}
        at[extractor_class(case["extractor"]).defaults.transfer.strength] = points["new default"]
        knob = [(0.0, 1.0, 0.0)] + [(at[s][JUDGE], at[s][axis], s) for s in sorted(at)]
        ax.plot([k[1] for k in knob], [k[0] for k in knob], "-", color="0.6", zorder=1,
                label="strength 0 … 1")
        for gain, kept, strength in knob[1:]:
            ax.annotate(f"{strength:g}", (kept, gain), fontsize=6, color="0.4",
                        xytext=(3, -8), textcoords="offset points")
        if "paper" in points:  # where a point dominates the paper's output (on this axis)
            paper, top = points["paper"], max(p[JUDGE] for p in points.values()) + 0.5
            ax.fill_between([paper[axis] - 0.02, 1.0], paper[JUDGE], top, color="tab:green",
                            alpha=0.1, zorder=0, label="dominates the paper")
        path = [points[k] for k in points if k.startswith("path")] + [points["new default"]]
        ax.plot([p[axis] for p in path], [p[JUDGE] for p in path], ":", color="tab:blue")
        marks = {"today's default": ("s", "tab:red"), "new default": ("o", "tab:blue"),
                 "paper": ("*", "tab:green")}
        for label, (marker, colour) in marks.items():
            if label in points:
                ax.scatter(points[label][axis], points[label][JUDGE], marker=marker,
                           color=colour, s=90 if marker == "*" else 50, label=label, zorder=3)
        if closest is not None:
            ax.scatter(points[closest][axis], points[closest][JUDGE], marker="o", s=160,
                       facecolors="none", edgecolors="black", zorder=4,
                       label=f"nearest to dominating: {closest}")
        ax.set_xlabel(f"{axis} (content kept)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("independent judge's gain, dB (style)")
    fig.legend(*axes[0].get_legend_handles_labels(), fontsize=7, loc="lower center", ncol=3)
    fig.suptitle(f"{case['pair']}, {case['extractor']}", fontsize=10)
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    name = f"{case['pair']}-{case['extractor']}".replace(" × ", "-x-").replace(" ", "_")
    name = "".join(c for c in name if c.isalnum() or c in "-_") + ".png"
    fig.savefig(folder / name, dpi=80)
    plt.close(fig)
    return name


def _merged(points: Path, done: list[dict]) -> list[dict]:
    """The cases of earlier runs (``points``) with those just ``done`` put in their place.

    A run narrowed by ``FRONTIER_EXTRACTORS`` thus updates its rows and keeps the others;
    cases are ordered by pair, then by extractor as in the full run.
    """
    key = lambda case: (case["pair"], case["extractor"])  # noqa: E731
    earlier = json.loads(points.read_text()) if points.exists() else []
    # cases scored before the independent judge cannot be compared: left out until run again
    cases = {key(case): case for case in earlier
             if all(JUDGE in point for point in case["points"].values())}
    cases.update({key(case): case for case in done})
    pairs = list(dict.fromkeys(pair for pair, _ in cases))
    order = {name: i for i, name in enumerate(("shallow", "mcdermott", "soundnet", "vgg-mtt"))}
    return sorted(cases.values(), key=lambda case: (pairs.index(case["pair"]),
                                                    order.get(case["extractor"], 9)))


def run(quick: bool = False) -> Section:
    folder = RESULTS / "frontier"
    folder.mkdir(parents=True, exist_ok=True)
    own_folder = Path(tempfile.mkdtemp(prefix="frontier-own-"))
    cases = _cases(_own_sounds(own_folder))
    if KEEP and (folder / "points.json").exists():
        earlier = {(c["pair"], c["extractor"]): c["points"]
                   for c in json.loads((folder / "points.json").read_text())}
        for case in cases:
            points = earlier.get((case["pair"], case["extractor"]), {})
            case["kept"] = {label: points[label] for label in KEEP
                            if JUDGE in points.get(label, {})}
    if quick:
        cases = [c for c in cases if c["pair"].startswith("canon")][:1]
    with ProcessPoolExecutor(max_workers=2) as pool:
        done = list(pool.map(run_case, cases))
    named = [{**case, **{key: Path(case[key]).name for key in ("content", "style", "paper")
                         if case[key]}} for case in done]  # no machine paths in the results
    done = named
    if not quick:  # a quick run checks the script; its numbers are not kept
        done = _merged(folder / "points.json", named)
        (folder / "points.json").write_text(json.dumps(done, indent=1, default=float) + "\n")
    rows, dominated, with_paper = [], 0, 0
    for case in done:
        p = case["points"]
        new, old, paper = p["new default"], p["today's default"], p.get("paper")
        wins = paper is not None and dominates(new, paper)
        with_paper += paper is not None
        dominated += wins
        fmt = lambda r: ("—" if r is None else  # noqa: E731
                         f"{r[JUDGE]:.1f} ({r['gain']:.1f}) / {r['chroma']:.2f} / "
                         f"{r['onsets']:.2f}")
        closest = nearest(p)
        verdict = "yes" if wins else "—" if paper is None else (
            f"no; nearest: {closest}, {fmt(p[closest])}"
            + (" (dominates)" if dominates(p[closest], paper) else ""))
        rows.append([case["pair"], case["extractor"], fmt(paper), fmt(old), fmt(new),
                     f"{new['copy']:.2f}", verdict,
                     f"{old['seconds']:.0f} / {new['seconds']:.0f}",
                     f"[png](results/frontier/{_plot(case, folder)})"])
    header = ["pair", "extractor", "paper: gain dB (McDermott) / chroma / onsets",
              "today's default",
              "new default", "copy", "dominates the paper", "s today / new", "plot"]
    text = (
        f"Machine: {machine()}. Gain: style gained (result − content, dB) under the "
        "independent judge, which no loss optimises, and in brackets under our McDermott "
        "statistics, which `-e mcdermott` optimises (so they overstate its results); chroma "
        "and onset correlation with the content (1 = kept); copy score (max normalised "
        "cross-correlation with the style). *Dominates*: independent gain ≥ the paper's and "
        "chroma and onsets ≥ the paper's − 0.02 (its outputs are 64 kbps MP3s). The paper's "
        "VGG column is ImageNet VGG-19; ours is vgg-mtt.\n\n"
        f"New defaults dominate the paper's output on {dominated} of {with_paper} pairs.\n\n"
        + table(header, rows)
    )
    shutil.rmtree(own_folder, ignore_errors=True)
    return Section("frontier", "Frontier: style gained against content kept", text)
