"""Style models (issue 27): a style learned once, applied to content it never saw.

For each extractor of ``STYLE_MODELS_EXTRACTORS`` (default mcdermott and shallow) and each
style — the paper's (``../shared/paper/inputs``, read there, never copied) and two of our own
(rain and bells of the evaluation set, ``benchmarks/evalset.py``, when it is built; else the
demo's synthesised rain and bongo loop) — this learns a model with the default budget, then
applies it to contents never seen in training: pachelbel and woman_speaking_french (the
paper's) and two of our own (the evaluation set's speech_de and guitar; else the demo's canon
and bench_frontier's plucked melody). Per pair it records:

- learning minutes (the model's header) and the apply real-time factor (``StyleModel.apply``
  in this process, processing seconds ÷ audio seconds) beside its floor (the network's
  forward pass alone on the same number of frames, without the STFT and overlap-add);
- the result's scores by :class:`audiostyle.evaluation.Evaluator` (bench_frontier's
  ``_score``): the independent style gain (statistics the model's loss did not optimise), the
  McDermott statistics gain, chroma, onsets, note F1 when its model is installed, copy; beside
  the ``transfer`` default's for the same pair (taken from ``results/frontier/points.json``
  when that holds the pair and extractor with every score, else run here) and the paper's
  published output where there is one (bench_frontier's PAPER_PAIRS and OPENING_PAIRS).

A **speed** part runs 5 minutes of stereo 44.1 kHz content (a content tiled) through
``audiostyle apply`` as a subprocess per extractor (start-up included): seconds, real-time
factor, peak memory, and the peak memory for 10 minutes. ``STYLE_MODELS_SPEED=0`` skips it
(the last measured speed rows, ``results/style_models/speed.json``, are then shown again).

Models are cached in ``STYLE_MODELS_DIR`` (default ``~/.cache/audiostyle/style-models``) as
``<extractor>-<style>.style``: a cached model whose header names the style file's SHA-256 is
reused, so a run can be resumed and models learned elsewhere dropped in. ``STYLE_MODELS_LEARN=0``
learns nothing (pairs without a cached model are skipped and listed). Each pair's row goes to
``results/style_models/pairs.json`` as soon as it is measured; a row for the same model file
and content file (their SHA-256) is reused by a later run. Plot: ``results/style_models.png``.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench_frontier import OPENING_PAIRS, PAPER, PAPER_FOLDER, PAPER_PAIRS, _plucked_melody, _score
from common import RESULTS, Section, machine, measure, median_seconds, table

EXTRACTORS = tuple(name for name in os.environ.get(
    "STYLE_MODELS_EXTRACTORS", "mcdermott,shallow").split(",") if name)
MODELS = Path(os.environ.get("STYLE_MODELS_DIR",
                             Path.home() / ".cache" / "audiostyle" / "style-models"))
LEARN = os.environ.get("STYLE_MODELS_LEARN", "1") != "0"
SPEED = os.environ.get("STYLE_MODELS_SPEED", "1") != "0"
#: Extractors whose pairs also run a transfer started from the model's output (``--init
#: model:``; comma-separated, default all; empty: none): one more transfer per pair.
POLISH = tuple(name for name in os.environ.get("STYLE_MODELS_POLISH",
                                               "mcdermott,shallow").split(",") if name)
EVALSET = Path(os.environ.get("AUDIOSTYLE_EVALSET",
                              Path.home() / ".cache" / "audiostyle" / "evalset"))
FOLDER = RESULTS / "style_models"
PAPER_STYLES = ("cat_milk", "man_speaking_english", "crickets", "bongo-loop", "applause")
PAPER_CONTENTS = ("pachelbel", "woman_speaking_french")
OWN_STYLES = ("rain", "bells")
OWN_CONTENTS = ("speech_de", "guitar")
#: The speed part: minutes of stereo content at this rate, and the longer run for memory.
SPEED_MINUTES, MEMORY_MINUTES, SPEED_SR = 5, 10, 44100
#: The three ways of making a pair's result, in the table's and plot's order.
SOURCES = ("model", "transfer", "paper")


def _sounds(own: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    """Styles and contents by name: the paper's, and ours (the evaluation set's when it is
    built, else synthesised into ``own``)."""
    import soundfile as sf

    from audiostyle.demo import bongo_loop, canon_melody, rain

    styles: dict[str, Path] = {}
    contents: dict[str, Path] = {}
    if PAPER.is_dir():
        styles = {s: PAPER / "inputs" / f"{s}.mp3" for s in PAPER_STYLES}
        contents = {c: PAPER / "inputs" / f"{c}.mp3" for c in PAPER_CONTENTS}
    if all((EVALSET / f"{n}.wav").exists() for n in OWN_STYLES + OWN_CONTENTS):
        styles |= {n: EVALSET / f"{n}.wav" for n in OWN_STYLES}
        contents |= {n: EVALSET / f"{n}.wav" for n in OWN_CONTENTS}
        return styles, contents
    sr = 22050  # (written once into the models' folder: the same bytes, the same digest)
    made = {"rain (synthesised)": (styles, rain(sr, seconds=8.0)),
            "bongos (synthesised)": (styles, bongo_loop(sr)),
            "canon (synthesised)": (contents, canon_melody(sr)),
            "plucked (synthesised)": (contents, _plucked_melody())}
    for name, (where, samples) in made.items():
        path = own / f"{name.split()[0]}.wav"
        if not path.exists():
            sf.write(path, samples, sr, subtype="FLOAT")
        where[name] = path
    return styles, contents


def _paper_output(extractor: str, content: str, style: str) -> Path | None:
    """The paper's published output for this pair and extractor, if it exists."""
    for c, kind, s in PAPER_PAIRS:
        if (c, s) == (content, style) and extractor in PAPER_FOLDER:
            return PAPER / "outputs" / kind / PAPER_FOLDER[extractor] / f"{style}.mp3"
    for c, s, output in OPENING_PAIRS:
        if (c, s) == (content, style) and extractor == "shallow":
            return PAPER / "outputs" / f"{output}.mp3"
    return None


def model_for(extractor: str, style: str, path: Path, quick: Path | None = None) -> Path | None:
    """The cached model of ``style`` (file ``path``) for ``extractor``, learned (default
    budget) when there is none and learning is allowed; None otherwise. ``quick``: a folder
    where a model of two steps is learned instead (checking the script)."""
    from audiostyle import StyleModel, learn
    from audiostyle._util import file_digest
    from audiostyle.models.model import checkpoint_path

    if quick is not None:
        return learn(str(path), extractor=extractor, steps=2, progress=False).save(
            quick / f"{extractor}.style")
    cached = MODELS / f"{extractor}-{style.split()[0]}.style"
    digest = file_digest(path)
    if cached.exists():
        header = StyleModel.load(cached).header
        if header["extractor"] == extractor and [s["sha256"] for s in header["styles"]] == [
                digest]:
            return cached
        print(f"{cached}: made for another style or extractor; not used", flush=True)
    if not LEARN:
        return None
    MODELS.mkdir(parents=True, exist_ok=True)
    checkpoint = checkpoint_path(cached)
    model = learn(str(path), extractor=extractor, progress=False, checkpoint=checkpoint,
                  resume=checkpoint if checkpoint.exists() else None)
    model.save(cached)
    checkpoint.unlink(missing_ok=True)  # as `audiostyle learn` does once the model is written
    return cached


def _timings(model, audio) -> dict:
    """Apply's real-time factor on ``audio`` and its floor (the network alone)."""
    import torch

    seconds = audio.samples.shape[1] / audio.sr
    net = model.net
    config = net.config
    frames = audio.samples.shape[1] // model.grid(audio.sr).hop
    channels = audio.samples.shape[0]
    features = torch.randn(channels, config.bands, frames)

    def forward() -> None:
        with torch.no_grad():
            net(features, net.empty_history(channels, features))

    return dict(rtf=median_seconds(lambda: model.apply(audio), 3) / seconds,
                floor_rtf=median_seconds(forward, 3) / seconds)


def _transfer_default(extractor: str, content: Path, style: Path, evaluator, work: Path,
                      quick: bool, init: str = "content") -> dict:
    """The ``transfer`` default's scores for the pair, started from ``init`` (the content, or
    ``model:PATH``): bench_frontier's when it has them all, else run now (``quick``: a few
    iterations, checking the script)."""
    import audiostyle

    points = RESULTS / "frontier" / "points.json"
    for case in json.loads(points.read_text()) if points.exists() and init == "content" else []:
        point = case["points"].get("new default", {})
        if ((case["extractor"], case["content"], case["style"]) == (extractor, content.name,
                                                                     style.name)
                and "independent" in point):
            return {**point, "from": "frontier"}
    result = audiostyle.transfer(str(content), str(style), extractor=extractor, progress=False,
                                 init=init, **({"iterations": 3} if quick else {}))
    out = work / "transfer.wav"
    audiostyle.save_audio(out, result.audio)
    return {**_score(evaluator, str(out)), "seconds": result.seconds}


def run_pair(extractor: str, style: str, style_path: Path, content: str, content_path: Path,
             model_path: Path, work: Path, quick: bool, transfer: dict | None = None) -> dict:
    """One (model, content): timings and the scores of the model's, the transfer default's
    (``transfer``: measured before for the same pair), the transfer's from the model's output
    (extractors in :data:`POLISH`) and the paper's result."""
    import audiostyle
    from audiostyle import StyleModel
    from audiostyle.evaluation import Evaluator

    model = StyleModel.load(model_path)
    audio = audiostyle.load_audio(content_path)
    evaluator = Evaluator(str(style_path), str(content_path), extractors=["mcdermott"])
    applied = work / "model.wav"
    audiostyle.save_audio(applied, model.apply(audio))
    row = dict(extractor=extractor, style=style, content=content,
               learn_minutes=model.header["minutes"], steps=model.header["steps"],
               strength=model.header["strength"], **_timings(model, audio),
               model=_score(evaluator, str(applied)),
               transfer=transfer or _transfer_default(extractor, content_path, style_path,
                                                      evaluator, work, quick))
    if extractor in POLISH:
        row["polished"] = _transfer_default(extractor, content_path, style_path, evaluator,
                                            work, quick, init=f"model:{model_path}")
    paper = _paper_output(extractor, content, style) if PAPER.is_dir() else None
    if paper is not None and paper.exists():
        row["paper"] = _score(evaluator, str(paper))
    return row


def apply_command(model: str, content: str, out: str) -> dict:
    """``audiostyle apply`` as a subprocess: its wall seconds and peak memory (run through
    :func:`common.measure`, so this process's only child is that command)."""
    import time

    command = Path(sys.executable).with_name("audiostyle")
    began = time.perf_counter()
    subprocess.run([str(command), "apply", "-q", model, content, "-o", out], check=True)
    return dict(seconds=time.perf_counter() - began,
                child_peak_mib=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def _long_content(path: Path, minutes: float, source: Path) -> None:
    """``source`` tiled to ``minutes`` of stereo at :data:`SPEED_SR`, written to ``path``."""
    import audiostyle
    from audiostyle.io.audio import resample

    audio = resample(audiostyle.load_audio(source), SPEED_SR)
    samples = np.broadcast_to(audio.samples, (2, audio.samples.shape[1])) \
        if audio.samples.shape[0] == 1 else audio.samples[:2]
    length = int(minutes * 60 * SPEED_SR)
    tiled = np.tile(samples, (1, -(-length // samples.shape[1])))[:, :length]
    audiostyle.save_audio(path, audiostyle.Audio(tiled, SPEED_SR, path.name))


def _speed(models: dict[str, Path], source: Path, work: Path) -> list[dict]:
    rows = []
    inputs = {}
    for minutes in (SPEED_MINUTES, MEMORY_MINUTES):
        inputs[minutes] = work / f"content-{minutes}min.wav"
        _long_content(inputs[minutes], minutes, source)
    for extractor, model in models.items():
        runs = {m: measure("bench_style_models:apply_command", model=str(model),
                           content=str(path), out=str(work / f"out-{m}.wav"))
                for m, path in inputs.items()}
        five = runs[SPEED_MINUTES]
        rows.append(dict(extractor=extractor, model=model.name, content=source.name,
                         seconds=five["seconds"], rtf=five["seconds"] / (SPEED_MINUTES * 60),
                         peak_mib=five["child_peak_mib"],
                         peak_mib_long=runs[MEMORY_MINUTES]["child_peak_mib"]))
    return rows


def _fmt(point: dict | None) -> str:
    if point is None:
        return "—"
    f1 = point.get("notes_f1")
    return (f"{point['independent']:.1f} / {point['gain']:.1f} / {point['chroma']:.2f} / "
            f"{point['onsets']:.2f} / {'—' if f1 is None else f'{f1:.2f}'} / "
            f"{point['copy']:.2f}")


def _plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = dict(zip(EXTRACTORS, plt.rcParams["axes.prop_cycle"].by_key()["color"],
                       strict=False))
    markers = {"model": "o", "transfer": "s", "paper": "*"}
    fig, ax = plt.subplots(figsize=(7, 5))
    for row in rows:
        colour = colours.get(row["extractor"], "black")
        model, transfer = row["model"], row["transfer"]
        ax.plot([transfer["chroma"], model["chroma"]],
                [transfer["independent"], model["independent"]], "-", color=colour, alpha=0.3)
        ax.annotate(f"{row['style']} → {row['content']}", (model["chroma"], model["independent"]),
                    fontsize=5, color="0.3", xytext=(3, 3), textcoords="offset points")
        for source in SOURCES:
            if source in row:
                ax.scatter(row[source]["chroma"], row[source]["independent"], color=colour,
                           marker=markers[source], s=90 if source == "paper" else 35, zorder=3)
    handles = [plt.Line2D([], [], color=c, marker="o", ls="", label=e) for e, c in colours.items()]
    handles += [plt.Line2D([], [], color="0.4", marker=m, ls="", label=label)
                for label, m in (("style model", "o"), ("transfer default", "s"),
                                 ("paper's output", "*"))]
    ax.legend(handles=handles, fontsize=7)
    ax.set_xlabel("chroma correlation with the content (content kept)")
    ax.set_ylabel("independent style gain, dB")
    ax.grid(alpha=0.3)
    ax.set_title("Style models on unseen content against the transfer default\n(style gain "
                 "by the independent judge: statistics no model's loss optimised)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def run(quick: bool = False) -> Section:
    FOLDER.mkdir(parents=True, exist_ok=True)
    MODELS.mkdir(parents=True, exist_ok=True)
    from audiostyle._util import file_digest

    styles, contents = _sounds(MODELS)
    if quick:  # one pair of our own with a model of two steps, checking the script
        styles = {k: v for k, v in styles.items() if k.startswith("rain")}
        contents = dict([next(iter(reversed(contents.items())))])
    pairs_file = FOLDER / "pairs.json"
    kept = json.loads(pairs_file.read_text()) if pairs_file.exists() and not quick else []
    rows = [r for r in kept if r["extractor"] not in EXTRACTORS]  # a narrowed run keeps them
    skipped, models = [], {}
    work = Path(tempfile.mkdtemp(prefix="style-models-"))
    for extractor in EXTRACTORS:
        for style, style_path in styles.items():
            model_path = model_for(extractor, style, style_path, work if quick else None)
            if model_path is None:
                skipped.append(f"{extractor} × {style}")
                continue
            models.setdefault(extractor, model_path)
            digest = file_digest(model_path)
            for content, content_path in contents.items():
                key = dict(model_sha256=digest, content_sha256=file_digest(content_path))
                earlier = [r for r in kept if {k: r.get(k) for k in key} == key]
                same_pair = [r["transfer"] for r in kept if (r["extractor"], r["style"],
                                                             r["content"]) == (extractor, style,
                                                                               content)]
                row = earlier[0] if earlier else {
                    **run_pair(extractor, style, style_path, content, content_path, model_path,
                               work, quick, same_pair[0] if same_pair else None), **key}
                rows.append(row)
                print(f"{extractor} {style} → {content}: model {_fmt(row['model'])}, "
                      f"transfer {_fmt(row['transfer'])}", flush=True)
                if not quick:  # kept after each pair: a stopped run is resumed from here
                    pairs_file.write_text(json.dumps(rows, indent=1) + "\n")
    speed_file = FOLDER / "speed.json"
    speed = json.loads(speed_file.read_text()) if speed_file.exists() else []
    if SPEED and models and not quick:
        source = contents.get("guitar", next(iter(contents.values())))
        speed = _speed(models, source, work)
        speed_file.write_text(json.dumps(speed, indent=1) + "\n")
    if not quick and rows:
        _plot(rows, RESULTS / "style_models.png")
    shutil.rmtree(work, ignore_errors=True)
    header = ["extractor", "style → content", "learned: min (steps)", "apply RTF (floor)",
              "model: independent dB / McDermott dB / chroma / onsets / note F1 / copy",
              "transfer default", "transfer from the model", "paper's output"]
    table_rows = [[r["extractor"], f"{r['style']} → {r['content']}",
                   f"{r['learn_minutes']:.1f} ({r['steps']})",
                   f"{r['rtf']:.3f} ({r['floor_rtf']:.4f})",
                   _fmt(r["model"]),
                   _fmt(r["transfer"]) + (" ¹" if r["transfer"].get("from") else ""),
                   _fmt(r.get("polished")), _fmt(r.get("paper"))] for r in rows]
    speed_table = table(["extractor", "model", f"{SPEED_MINUTES} min content from", "seconds",
                         "RTF", "peak MiB", f"peak MiB, {MEMORY_MINUTES} min"],
                        [[s["extractor"], s["model"], s["content"], s["seconds"], s["rtf"],
                          s["peak_mib"], s["peak_mib_long"]] for s in speed]) if speed else (
        "Not measured yet (`STYLE_MODELS_SPEED=0`).")
    text = (
        f"Machine: {machine()}. A model per extractor and style (default budget, synthetic "
        "corpus; cached, see the module), applied to contents it never saw. *Independent*: "
        "style gain (result − content, dB) by the independent judge of "
        "`audiostyle.evaluation` (statistics the model's loss did **not** optimise: the fair "
        "judge of a model trained to match McDermott's statistics); *McDermott*: the "
        "McDermott statistics gain; chroma and onsets: correlation with the content (1 = "
        "kept); note F1: transcription of the result against the content's (— when its model "
        "is not installed); copy: the largest normalised cross-correlation with the style. "
        "*Apply RTF*: `StyleModel.apply` in process (seconds ÷ audio seconds); *floor*: the "
        "network's forward pass alone on as many frames. *Transfer default*: "
        "`audiostyle.transfer` with the extractor's defaults on the same pair (¹: from "
        "results/frontier/points.json). *Transfer from the model*: the same transfer started "
        "from the model's output (`--init model:`), where run. *Paper's output*: its "
        "published MP3, where one exists "
        "for the pair and extractor.\n\n"
        + table(header, table_rows)
        + ("\n\nNot run (no cached model; `STYLE_MODELS_LEARN=0`): " + ", ".join(skipped)
           if skipped else "")
        + "\n\nPlot: [style_models.png](results/style_models.png) (independent gain against "
        "chroma; circles: models, squares: transfer defaults, stars: the paper's outputs).\n\n"
        f"### Speed: `audiostyle apply` from the command line, start-up included\n\n"
        f"{SPEED_MINUTES} minutes of stereo {SPEED_SR} Hz content (a content tiled) per "
        f"extractor; peak memory is the command's max RSS.\n\n{speed_table}\n"
    )
    summary = [dict(extractor=s["extractor"], setting="style model apply (CLI)",
                    audio=f"{SPEED_MINUTES} min stereo", **{"total s": s["seconds"],
                    "real-time factor": s["rtf"], "peak memory": f"{s['peak_mib']:.0f} MiB"})
               for s in speed]
    return Section("style_models", "Style models: learned once, applied to unseen content",
                   text, summary)
