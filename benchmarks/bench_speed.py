"""Speed of every extractor's default transfer, before and after (issue 29), and the studio's
overhead.

- **Default transfers**: for every extractor, :func:`audiostyle.transfer` with its defaults
  only, of the demo melody looped to each length in ``SPEED_SECONDS`` (default ``10,60``)
  against 10 s of the bongo loop, with the code *before* (commit :data:`BASE_COMMIT`, its
  ``src`` unpacked from git history, or a ``src`` folder of it in ``SPEED_BASE``; the process
  checks which ``audiostyle`` it imported) and *after* (this checkout), the two at once in two fresh
  processes of one torch thread each, so that whatever else loads a shared machine loads both
  alike. Each records seconds per iteration (optimisation seconds ÷ loss evaluations),
  iterations, the whole call's seconds (from the arrays to the result), the real-time factor
  and, in the same process after the transfer, the *floor*: the extractor's style loss
  (features and statistics) and its gradient on the same content at each stage's input (the
  spectrogram for the spectrogram domain, the waveform otherwise), weighted by the stage's
  iterations. Then this checkout's transfer once more *alone*, on every core
  (``SPEED_ALONE=0`` leaves it out): the real-time factor a user gets. ``SPEED_EXTRACTORS``
  (comma-separated) narrows the run.
- **Frontier point** (``SPEED_FRONTIER=1``): the same two default transfers on two of the
  paper's pairs (pachelbel × cat_milk and × bongo-loop, from ``../shared/paper``, never
  copied), both results judged by this checkout's :class:`audiostyle.evaluation.Evaluator`:
  the independent judge's style gain (dB), chroma and onset correlation with the content.
- **Studio**: 3 s of the melody against the bongo loop through the studio's HTTP API in this
  process (Starlette's test client; the worker is the studio's own process, one thread), for
  every extractor whose weights are installed, at the ``preview`` and ``default`` presets:
  the studio's ``/api/estimate`` against the job's synthesis time, and for the default
  extractor the same settings (the job record's) from the command line, ``audiostyle
  transfer`` in a fresh process, run at the same time as the studio's job.

``SPEED_STUDIO=0`` leaves the studio out; ``SPEED_PRESETS`` (default ``preview,default``)
narrows it. Results are written after each case (``results/speed.json``, ``results/speed.md``,
the raw numbers in ``results/speed/raw.json``: the summary reads every ``results/*.json`` as
rows); the cases of an earlier run are kept unless measured again.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from bench_defaults import _installed
from bench_shallow import SR, STYLE_SECONDS, _signals
from common import (
    HERE,
    RESULTS,
    Section,
    machine,
    median_seconds,
    table,
    unpacked_src,
    write_section,
)

#: The code before issue 29's changes.
BASE_COMMIT = "fe8a0f2"
SECONDS = tuple(float(s) for s in os.environ.get("SPEED_SECONDS", "10,60").split(",") if s)
FRONTIER = os.environ.get("SPEED_FRONTIER", "") == "1"
#: After the side-by-side runs, this checkout's transfer once more on its own, on every core
#: (``SPEED_ALONE=0`` leaves it out): the real-time factor a user gets.
ALONE = os.environ.get("SPEED_ALONE", "1") == "1"
ALONE_THREADS = os.cpu_count() or 1
PAPER = Path(os.environ.get("AUDIOSTYLE_PAPER", HERE.parent.parent / "shared" / "paper"))
#: The paper's pairs the frontier point is judged on: (content, style) file stems.
PAPER_PAIRS = (("pachelbel", "cat_milk"), ("pachelbel", "bongo-loop"))
#: The studio's jobs: content seconds, presets; and the length of a long style, against which
#: the default preset of the extractors whose iteration grows with the style's length runs too.
STUDIO_SECONDS = 3.0
LONG_STYLE_SECONDS = 60.0
STUDIO_PRESETS = tuple(p for p in os.environ.get("SPEED_PRESETS", "preview,default").split(",")
                       if p)
#: Floor: untimed warm-up, then the median of this many forward + gradient passes.
FLOOR_REPEATS = 3


def _extractors() -> list[str]:
    from audiostyle.extractors import available

    chosen = os.environ.get("SPEED_EXTRACTORS")
    return [n for n in chosen.split(",") if n] if chosen else list(available())


def _floor(net, wave, style, domain: str) -> float:
    """Median seconds of ``net``'s style loss (features and statistics against ``style``'s)
    and its gradient with respect to its input at ``domain`` (the spectrogram, else the
    waveform), ``wave`` and ``style`` ``(1, time)`` at its rate: what every iteration
    computes."""
    import torch

    from audiostyle.synthesis.losses import StyleLoss

    loss = StyleLoss(net)
    loss.set_target([(net.analyse(style), 1.0)])

    def once() -> None:
        if domain == "spectrogram":
            inputs = net.analyse(wave).detach().requires_grad_(True)
            value = loss(net.features(inputs))
        else:
            inputs = wave.detach().clone().requires_grad_(True)
            value = loss(net(inputs))
        torch.autograd.grad(value, inputs)

    return median_seconds(once, FLOOR_REPEATS)


def default_transfer(extractor: str, content: str, style: str, output: str | None = None,
                     floor: bool = True, threads: int = 1) -> dict:
    """``extractor``'s default transfer of ``content`` with ``style`` (sound files) by whichever
    audiostyle this process imports, on ``threads`` threads: the whole call's seconds, the
    stages' seconds and iterations, the floor per iteration; the result written to ``output``
    when given."""
    import soxr
    import torch

    import audiostyle
    from audiostyle.extractors import get_extractor

    torch.set_num_threads(threads)
    began = time.perf_counter()
    result = audiostyle.transfer(content, style, extractor=extractor, progress=False)
    whole = time.perf_counter() - began
    if output:
        audiostyle.save_audio(output, result.audio)
    out = {"code": audiostyle.__file__, "whole_s": whole, "threads": threads,
           "audio_s": result.audio.seconds,
           "stages": {k: {"seconds": t.seconds, "iterations": t.iterations}
                      for k, t in result.stages.items()}}
    if floor:
        net = get_extractor(extractor)

        def read(path: str) -> torch.Tensor:
            sound = audiostyle.load_audio(path)
            return torch.from_numpy(soxr.resample(sound.samples.mean(axis=0), sound.sr,
                                                  net.sample_rate).astype(np.float32))[None]

        out["floor_s"] = {k: _floor(net, read(content), read(style), k) for k in result.stages}
    return out


def _measure(python: str, source: Path | None, **kwargs) -> dict:
    """:func:`default_transfer` (``kwargs``) in a fresh process of ``python``, importing
    ``audiostyle`` from ``source`` when given; checks that it did."""
    threads = str(kwargs.get("threads", 1))
    code = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(HERE)!r})\n"
        "from bench_speed import default_transfer\n"
        f"print('@@' + json.dumps(default_transfer(**{kwargs!r})))\n"
    )
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": threads,
           "MKL_NUM_THREADS": threads}
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(source), env.get("PYTHONPATH", "")])
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"default_transfer({kwargs}) failed:\n{proc.stderr[-3000:]}")
    out = json.loads([ln for ln in proc.stdout.splitlines() if ln.startswith("@@")][-1][2:])
    expected = source if source is not None else HERE.parent / "src"
    if not Path(out["code"]).resolve().is_relative_to(expected.resolve()):
        raise RuntimeError(f"expected the audiostyle of {expected}, imported {out['code']}")
    out["code"] = BASE_COMMIT if source is not None else "this checkout"  # (checked above)
    return out


@functools.cache
def _base() -> Path:
    """The ``src`` of :data:`BASE_COMMIT` (``SPEED_BASE``, or unpacked from git history)."""
    given = os.environ.get("SPEED_BASE")
    src = Path(given) if given else unpacked_src(
        BASE_COMMIT, Path(tempfile.mkdtemp(prefix="bench-speed-base-")))
    if src is None:
        raise RuntimeError(f"no git history here to unpack {BASE_COMMIT} from: set SPEED_BASE "
                           "to a src folder of it")
    return src


def _side_by_side(**kwargs) -> dict[str, dict]:
    """The before and after runs of :func:`default_transfer` at once."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        before = pool.submit(_measure, sys.executable, _base(), **{
            **kwargs, **({"output": kwargs["output"] + ".before.wav"}
                         if kwargs.get("output") else {})})
        after = pool.submit(_measure, sys.executable, None, **{
            **kwargs, **({"output": kwargs["output"] + ".after.wav"}
                         if kwargs.get("output") else {})})
        return {"before": before.result(), "after": after.result()}


def _row(run: dict) -> dict:
    """The numbers of one run: s/iteration, iterations, whole seconds, RTF, floor."""
    stages = run["stages"]
    iterations = sum(s["iterations"] for s in stages.values())
    optimisation = sum(s["seconds"] for s in stages.values())
    floor = sum(run["floor_s"][k] * s["iterations"] for k, s in stages.items()) / iterations
    return {"s_per_iteration": optimisation / iterations, "iterations": iterations,
            "plan": " + ".join(f"{k} {s['iterations']}" for k, s in stages.items()),
            "total_s": run["whole_s"], "rtf": run["whole_s"] / run["audio_s"],
            "floor_s": floor, "over_floor": optimisation / iterations / floor}


def _frontier(extractor: str, work: Path) -> dict:
    """Before and after default transfers on :data:`PAPER_PAIRS`, judged alike."""
    from audiostyle.evaluation import Evaluator

    points = {}
    for content_stem, style_stem in PAPER_PAIRS:
        content = PAPER / "inputs" / f"{content_stem}.mp3"
        style = PAPER / "inputs" / f"{style_stem}.mp3"
        stem = str(work / f"{extractor}-{content_stem}-{style_stem}")
        _side_by_side(extractor=extractor, content=str(content), style=str(style),
                      output=stem, floor=False)
        evaluator = Evaluator(str(style), str(content), extractors=[])
        for label in ("before", "after"):
            e = evaluator(f"{stem}.{label}.wav")
            points[f"{content_stem} × {style_stem}, {label}"] = {
                "gain": e.style_match["independent"].gain_db, "chroma": e.content.chroma,
                "onsets": e.content.onsets}
    return points


# --- the studio -----------------------------------------------------------------------------


def _studio_run(client, runner, body: dict) -> dict:
    """Estimate (waiting for the studio's measurement), then the job, to its end."""
    deadline = time.monotonic() + 600
    while (estimate := client.post("/api/estimate", json=body).json()).get("seconds") is None:
        if "errors" in estimate or estimate.get("note", "").startswith("could not"):
            return {"refused": estimate.get("errors") or estimate["note"]}
        if time.monotonic() > deadline:
            raise TimeoutError(f"no estimate for {body}")
        time.sleep(0.5)
    job = client.post("/api/jobs", json=body).json()
    while runner.jobs[job["id"]].state not in ("done", "failed", "cancelled"):
        time.sleep(0.2)
    events = runner.jobs[job["id"]].events
    end = events[-1]
    if end["event"] != "done":
        raise RuntimeError(f"studio job {body}: {end}")
    running = next(e for e in events if e["event"] == "running")
    record = end["record"]
    return {"estimate_s": estimate["seconds"], "synthesis_s": record["seconds"],
            "optimisation_s": sum(s["seconds"] for s in record["stages"].values()),
            "job_s": end["time"] - running["time"], "snapshots": len(record["snapshots"]),
            "settings": record["settings"], "job": record["job"]}


def _cli(job: dict, content: Path, style: Path, output: Path) -> dict:
    """The command line's ``audiostyle transfer`` with the studio job's settings, timed."""
    command = [str(Path(sys.executable).with_name("audiostyle")), "transfer", str(content),
               str(style), "-o", str(output), "-q", "-e", job["extractor"],
               "--domain", job["domain"], "--iterations", str(job["iterations"]),
               "--refine", str(job["refine_iterations"]), "--strength", str(job["strength"]),
               "--seed", str(job["seed"])]
    for key, value in job["options"].items():
        command += ["-X", f"{key}={value}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONWARNINGS": "ignore"}
    began = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - began
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {proc.stderr[-2000:]}")
    said = re.search(r"in ([\d.]+) s \(([\d.]+) s of optimisation\)", proc.stdout + proc.stderr)
    shown = " ".join(command[1:]).replace(f"{content.parent}/", "")  # (no machine paths)
    return {"wall_s": wall, "command": shown,
            **({"transfer_s": float(said[1]), "optimisation_s": float(said[2])} if said else {})}


def studio(extractors: list[str], presets: tuple[str, ...], out: dict, save) -> None:
    """The studio's estimates and jobs into ``out`` (``save()`` after each), and the CLI
    beside the default extractor's jobs."""
    import soundfile as sf
    from starlette.testclient import TestClient

    from audiostyle.demo import bongo_loop
    from audiostyle.extractors import DEFAULT_EXTRACTOR, sketch_extractor
    from audiostyle.studio.app import create_app
    from audiostyle.studio.config import StudioConfig

    work = Path(tempfile.mkdtemp(prefix="bench-speed-studio-"))
    content, _ = _signals(STUDIO_SECONDS)
    files = {"content": work / "content.wav", "style": work / "style.wav",
             "long style": work / "long-style.wav"}
    sf.write(files["content"], content, SR)
    sf.write(files["style"], bongo_loop(SR, seconds=STYLE_SECONDS), SR)
    sf.write(files["long style"], bongo_loop(SR, seconds=LONG_STYLE_SECONDS), SR)
    config = StudioConfig(data=work / "data", threads=1).with_token()
    with TestClient(create_app(config), base_url="http://127.0.0.1:7860") as client:
        runner = client.app.app.state.runner
        ids = {}
        for kind, path in files.items():
            answer = client.post("/api/inputs", params={"name": path.name},
                                 content=path.read_bytes())
            ids[kind] = answer.json()["id"]
        for preset in presets:  # every extractor's preview first: the cheaper jobs
            for extractor in extractors:
                body = {"content": ids["content"], "styles": [{"id": ids["style"]}],
                        "extractor": extractor, "preset": preset}
                key = f"{extractor}, {preset}"
                if extractor != DEFAULT_EXTRACTOR:
                    out[key] = _studio_run(client, runner, body)
                    save()
                    continue
                # the CLI at the same time as the job, with the job's settings (checked here
                # as the studio checks them; the record's settings are compared afterwards)
                job = client.post("/api/estimate", json=body).json()
                settings = {**job, "extractor": extractor, "options": {}, "seed": 0}
                with ThreadPoolExecutor(max_workers=1) as pool:
                    cli = pool.submit(_cli, settings, files["content"], files["style"],
                                      work / f"cli-{preset}.wav")
                    out[key] = _studio_run(client, runner, body)
                    out[key]["cli"] = cli.result()
                print(key, out[key], flush=True)
                save()
        for extractor in extractors:  # the estimate follows the style's length where it counts
            if "default" in presets and sketch_extractor(extractor).cost_grows_with_style:
                body = {"content": ids["content"], "styles": [{"id": ids["long style"]}],
                        "extractor": extractor, "preset": "default"}
                out[f"{extractor}, default, {LONG_STYLE_SECONDS:g}-s style"] = _studio_run(
                    client, runner, body)
                save()


# --- the section ----------------------------------------------------------------------------


def _markdown(cases: dict, studio_out: dict | None, frontier: dict, notes: list[str]) -> str:
    rows = []
    for (extractor, seconds), runs in cases.items():
        if "skipped" in runs:
            rows.append([extractor, f"{seconds:g} s", "—", runs["skipped"], "", "", "", "", ""])
            continue
        b, a = _row(runs["before"]), _row(runs["after"])
        for label, r in (("before", b), ("after", a)):
            rows.append([extractor if label == "before" else "", f"{seconds:g} s", label,
                         f"{r['s_per_iteration']:.3f}", r["plan"], f"{r['total_s']:.1f}",
                         f"{r['rtf']:.2f}", f"{r['floor_s']:.3f}", f"{r['over_floor']:.2f}"])
        rows.append(["", "", "after ÷ before", f"{a['s_per_iteration'] / b['s_per_iteration']:.2f}",
                     "", f"{a['total_s'] / b['total_s']:.2f}", "", "", ""])
        if "alone" in runs:
            r = _row(runs["alone"])
            rows.append(["", "", f"after, alone ({runs['alone']['threads']} threads)",
                         f"{r['s_per_iteration']:.3f}", r["plan"],
                         f"{r['total_s']:.1f}", f"**{r['rtf']:.2f}**", f"{r['floor_s']:.3f}",
                         f"{r['over_floor']:.2f}"])
    text = [
        f"Machine: {machine()} (each job: one thread); load average when last written: "
        f"{os.getloadavg()[0]:.1f}. Before: commit {BASE_COMMIT} (issue 29 filed), after: this "
        "checkout; in each case both ran at once, each in a fresh process with one torch "
        "thread. The machine is shared with other work, so compare the after ÷ before ratios "
        "within a case rather than absolute seconds. Content: the demo melody looped to the "
        f"length; style: {STYLE_SECONDS:g} s of the demo bongo loop; every extractor's default "
        "transfer (`audiostyle.transfer` with no settings). *s/iteration*: optimisation "
        "seconds ÷ loss evaluations over all stages; *total s*: the whole call, from the arrays "
        "to the result (style target, Griffin-Lim, final analysis included); *RTF*: total s ÷ "
        "audio s; *floor*: the extractor's style loss (features and statistics against the "
        "style's) and its gradient with respect to its input (the spectrogram in the "
        "spectrogram stage, the waveform in the others) on the "
        "same content, median of 3, in the same process, weighted by each stage's iterations. "
        "*After, alone*: this checkout's transfer once more, by itself on every core (what a "
        "user gets, and what issue 29's real-time factor ≤ 2 is about).",
        table(["extractor", "audio", "code", "s/iteration", "iterations", "total s", "RTF",
               "floor s", "s/it ÷ floor"], rows),
    ]
    from audiostyle.extractors import available

    missing = [f"{e}, {s:g} s" for s in (10.0, 60.0) for e in available() if (e, s) not in cases]
    if missing:
        text.append(f"Not measured in the runs so far: {'; '.join(missing)}.")
    if frontier:
        frows = []
        for extractor, points in frontier.items():
            for pair in PAPER_PAIRS:
                name = f"{pair[0]} × {pair[1]}"
                b, a = points[f"{name}, before"], points[f"{name}, after"]
                frows.append([extractor, name] + [f"{p['gain']:.1f} / {p['chroma']:.2f} / "
                                                  f"{p['onsets']:.2f}" for p in (b, a)]
                             + [f"{a['gain'] - b['gain']:+.1f} / {a['chroma'] - b['chroma']:+.2f}"
                                f" / {a['onsets'] - b['onsets']:+.2f}"])
        text += ["### Frontier point\n\nEach extractor's default transfer on two of the paper's "
                 "pairs, before and after (run side by side), judged by the same Evaluator: "
                 "the independent judge's style gain (dB, result − content), chroma and onset "
                 "correlation with the content. Issue 29 allows gain −0.3 dB, chroma and "
                 "onsets −0.02.",
                 table(["extractor", "pair", "before: gain / chroma / onsets", "after",
                        "after − before"], frows)]
    if studio_out:
        srows, crows = [], []
        for key, r in studio_out.items():
            if "refused" in r:
                why = r["refused"]
                why = "; ".join(why.values()) if isinstance(why, dict) else why
                srows.append([key, f"refused: {why}", "", "", "", "", "", "", ""])
                continue
            refine = r["job"]["refine_iterations"]
            srows.append([key, f"{r['job']['domain']} {r['job']['iterations']}"
                          + (f" + waveform {refine}" if refine else ""), f"{r['estimate_s']:.1f}",
                          f"{r['optimisation_s']:.1f}", f"{r['synthesis_s']:.1f}",
                          f"{r['job_s']:.1f}", r["snapshots"],
                          f"{r['estimate_s'] / r['synthesis_s']:.2f}",
                          f"{r['estimate_s'] / r['job_s']:.2f}"])
            if r.get("cli"):
                c = r["cli"]
                crows.append([key, f"{r['synthesis_s']:.1f}", f"{r['job_s']:.1f}",
                              f"{c.get('transfer_s', float('nan')):.1f}", f"{c['wall_s']:.1f}",
                              f"{r['synthesis_s'] / c.get('transfer_s', c['wall_s']):.2f}",
                              f"{r['job_s'] / c['wall_s']:.2f}"])
        text += [
            f"### The studio\n\n{STUDIO_SECONDS:g} s of the melody against the bongo loop "
            "through the studio's HTTP API (its worker process, one thread); the estimate is "
            "`/api/estimate`'s, after its measurement on this machine (a preset's first job: "
            "the previews, which run first) and then updated by every finished job (the "
            "default presets). *Optimisation*: the stages' seconds; *synthesis*: the job's "
            "transfer with its snapshots (the record's seconds); *job*: from its running event "
            "to its done event (the evaluation and the pictures too), what the estimate "
            "stands for. SoundNet needs 4.6 s of content, so the studio's 3 s are refused. "
            f"*…, {LONG_STYLE_SECONDS:g}-s style*: the same content against {LONG_STYLE_SECONDS:g}"
            " s of the loop, for the extractors whose iteration compares every frame with the "
            "style's (the infinite random nets): their estimate grows with the style's length "
            "by a second measurement with a longer style.",
            table(["extractor, preset", "plan", "estimate s", "optimisation s", "synthesis s",
                   "job s", "snapshots", "estimate ÷ synthesis", "estimate ÷ job"], srows),
            "The default extractor's jobs against `audiostyle transfer` with the job's settings "
            "(domain, iterations, refinement, strength, seed), run in a fresh process at the "
            "same time as the studio's job, one thread each. *CLI transfer s*: the time the "
            "CLI reports from reading the files to writing the result; *CLI wall s*: with the "
            "process's start-up.",
            table(["extractor, preset", "studio synthesis s", "studio job s", "CLI transfer s",
                   "CLI wall s", "synthesis ÷ CLI transfer", "job ÷ CLI wall"], crows),
        ]
    text += notes
    return "\n\n".join(text)


def _summary(cases: dict) -> list[dict]:
    rows = []
    for (extractor, seconds), runs in cases.items():
        if "after" in runs:
            label = "alone" if "alone" in runs else "after"
            r = _row(runs[label])
            rows.append({"extractor": extractor, "setting": f"default (speed, {label})",
                         "audio": f"{seconds:g} s", "s/iteration": f"{r['s_per_iteration']:.3f}",
                         "iterations": r["iterations"], "total s": f"{r['total_s']:.1f}",
                         "real-time factor": f"{r['rtf']:.1f}",
                         "floor": f"{r['floor_s']:.3f} s (style loss + grad)",
                         "s/iteration ÷ floor": f"{r['over_floor']:.2f}"})
    return rows


def run(quick: bool = False) -> Section:
    import soundfile as sf

    from audiostyle.extractors import DEFAULT_EXTRACTOR

    extractors = _extractors()
    work = Path(tempfile.mkdtemp(prefix="bench-speed-"))
    raw = RESULTS / "speed" / "raw.json"
    raw.parent.mkdir(exist_ok=True)
    # an earlier run's cases are kept, and those this run measures replace them
    earlier = json.loads(raw.read_text()) if raw.exists() and not quick else {}
    cases: dict = {(e, float(s)): r for e, s, r in earlier.get("cases", [])}
    frontier: dict = earlier.get("frontier", {})
    studio_out: dict | None = earlier.get("studio")
    notes: list[str] = []

    def save() -> Section:
        section = Section("speed", "Speed of the default transfers (issue 29)",
                          _markdown(cases, studio_out, frontier, notes), _summary(cases))
        if not quick:
            write_section(section)
            raw.write_text(json.dumps({"cases": [[e, s, r] for (e, s), r in cases.items()],
                                       "frontier": frontier, "studio": studio_out},
                                      indent=1, default=float) + "\n")
        return section

    def lengths(chosen: tuple[float, ...]) -> None:
        for seconds in chosen:
            content, style = _signals(2.0 if quick else seconds)
            files = (work / f"content-{seconds:g}.wav", work / "style.wav")
            sf.write(files[0], content, SR)
            sf.write(files[1], style, SR)
            for extractor in extractors[:1] if quick else extractors:
                if not _installed(extractor):
                    cases[(extractor, seconds)] = {"skipped": "weights not installed"}
                else:
                    runs = _side_by_side(extractor=extractor, content=str(files[0]),
                                         style=str(files[1]))
                    if ALONE and not quick:  # issue 29's acceptance: the job on its own
                        runs["alone"] = _measure(sys.executable, None, extractor=extractor,
                                                 content=str(files[0]), style=str(files[1]),
                                                 threads=ALONE_THREADS)
                    cases[(extractor, seconds)] = runs
                print(extractor, seconds, cases[(extractor, seconds)], flush=True)
                save()

    # the shortest length first, then the studio and the frontier, then the longer lengths
    lengths(SECONDS[:1])
    if os.environ.get("SPEED_STUDIO", "1") == "1":
        # the default extractor first: its preview against the CLI is issue 29's acceptance
        chosen = sorted((e for e in extractors if _installed(e)),
                        key=lambda e: e != DEFAULT_EXTRACTOR)
        studio_out = studio_out or {}
        studio(chosen[:1] if quick else chosen, STUDIO_PRESETS[:1] if quick else STUDIO_PRESETS,
               studio_out, save)
    if FRONTIER and PAPER.is_dir():
        for extractor in extractors:
            if _installed(extractor):
                frontier[extractor] = _frontier(extractor, work)
                save()
    if not quick:
        lengths(SECONDS[1:])
    if DEFAULT_EXTRACTOR not in extractors:
        notes.append(f"(The default extractor {DEFAULT_EXTRACTOR} was not in this run.)")
    return save()
