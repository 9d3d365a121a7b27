"""Judges against judges: style gain under three families of statistics, on the same sounds.

A result's style gain (its statistics SNR to the style minus the content's, dB) is measured
under the project's McDermott statistics (what the McDermott extractor optimises), under the
shallow random net's Gram matrices (what the shallow extractor optimises) and under the
independent judge (:mod:`audiostyle.evaluation.independent`, which no loss optimises), for

- the paper's 18 published outputs (its table: 4 pairs × 4 extractors, and the two shallow
  results its blog opens with), read from ``../shared/paper`` (never copied), which none of our
  losses produced: the judges should roughly agree on them;
- our McDermott and shallow defaults on the same pairs (run once, one at a time, and kept in
  :data:`WORK` under their job names, so a run with unchanged defaults reuses them): a result
  judged by its own loss should score higher there than under the other judges.

Copy scores (largest normalised cross-correlation with the style) and chroma / onset
correlation with the content are listed too, and the seconds each judge takes for a 10-s
sound. ``JUDGES_SCATTERING=1`` adds a fourth judge, kymatio's time-averaged 1-D scattering
(orders 1 and 2, when ``kymatio`` is importable): a cross-check, not a dependency (see
docs/ARCHITECTURE.md, *The independent style judge*). Per-output numbers also go to
``results/judges/scores.json``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from common import HERE, RESULTS, Section, machine, median_seconds, table

PAPER = Path(os.environ.get("AUDIOSTYLE_PAPER", HERE.parent.parent / "shared" / "paper"))
#: Where our own transfers are kept between runs (named by their job key, so a change of
#: defaults makes new ones); outside git.
WORK = Path(os.environ.get("JUDGES_WORK", Path.home() / ".cache" / "audiostyle" / "bench-judges"))
SCATTERING = os.environ.get("JUDGES_SCATTERING") == "1"
#: The paper's table (content stem, content kind, style stem) and its two opening results.
PAPER_PAIRS = (("pachelbel", "music", "cat_milk"), ("pachelbel", "music", "man_speaking_english"),
               ("woman_speaking_french", "speech", "crickets"),
               ("woman_speaking_french", "speech", "man_speaking_english"))
OPENING_PAIRS = (("pachelbel", "bongo-loop", "cp/pachelbel_bongo"),
                 ("pachelbel", "applause", "cp/pachelbel_applause"))
#: The paper's extractor folders; its VGG is ImageNet VGG-19.
PAPER_EXTRACTORS = ("mcdermott", "shallow", "soundnet", "vgg")
#: Our extractors whose defaults are run, each judged by the others too.
OURS = ("mcdermott", "shallow")
JUDGES = ("mcdermott", "shallow", "independent")
SR = 22050


def _input(stem: str) -> Path:
    return PAPER / "inputs" / f"{stem}.mp3"


def _outputs() -> list[dict]:
    """Every sound to judge: pair, who made it, its file."""
    out = []
    for content, kind, style in PAPER_PAIRS:
        for extractor in PAPER_EXTRACTORS:
            out.append(dict(content=content, style=style, maker="paper", extractor=extractor,
                            path=PAPER / "outputs" / kind / extractor / f"{style}.mp3"))
        out += [dict(content=content, style=style, maker="ours", extractor=e) for e in OURS]
    for content, style, published in OPENING_PAIRS:
        out.append(dict(content=content, style=style, maker="paper", extractor="shallow",
                        path=PAPER / "outputs" / f"{published}.mp3"))
        out.append(dict(content=content, style=style, maker="ours", extractor="shallow"))
    return out


def transfer(content: str, style: str, extractor: str) -> tuple[Path, float]:
    """Our default transfer of a pair (run, or found in :data:`WORK`): its file and seconds."""
    from audiostyle.runs.jobs import Job, compute_result, read_record, save_result

    WORK.mkdir(parents=True, exist_ok=True)
    job = Job.make(_input(content), _input(style), extractor)
    record = read_record(job, WORK)
    if record is None:
        began = time.perf_counter()
        result = compute_result(job)
        record = save_result(job, WORK, result, wall_seconds=time.perf_counter() - began)
        print(f"{job.label}: {record['wall_seconds']:.0f} s", flush=True)
    return WORK / record["audio"], record["wall_seconds"]


class Scattering:
    """kymatio's 1-D scattering (J = 10: 46 ms, Q = 8), averaged over time and over 3-s
    pieces; classes: log order-1 coefficients, order-2 coefficients over their parent's."""

    def __init__(self) -> None:
        # kymatio.numpy imports its 3-D scattering, which needs scipy.special.sph_harm (gone
        # from SciPy 1.15): the 1-D front end alone
        from kymatio.scattering1d.frontend.numpy_frontend import ScatteringNumPy1D

        self.piece = 2**16
        self.net = ScatteringNumPy1D(J=10, shape=self.piece, Q=(8, 1))
        meta = self.net.meta()
        self.order = meta["order"]
        first = {meta["key"][i][0]: i for i in np.flatnonzero(self.order == 1)}
        self.parent = np.array([first[meta["key"][i][0]] for i in np.flatnonzero(self.order == 2)])

    def statistics(self, x: np.ndarray) -> dict[str, np.ndarray]:
        x = np.resize(x / (np.sqrt(np.mean(x**2)) + 1e-12), max(x.size, self.piece))
        pieces = x[: x.size // self.piece * self.piece].reshape(-1, self.piece)
        s = self.net(pieces).mean(-1).mean(0)
        return {"order1": np.log(s[self.order == 1] + 1e-6),
                "order2": s[self.order == 2] / (s[self.parent] + 1e-12)}


def _scores(items: list[dict]) -> list[dict]:
    """Every item judged: gains under each judge, content kept, copy."""
    from audiostyle.evaluation import Evaluator
    from audiostyle.evaluation.independent import class_snr
    from audiostyle.io.audio import load_audio, resample, to_mono

    scattering = Scattering() if SCATTERING else None
    mono = lambda path: resample(to_mono(load_audio(path)), SR).samples[0]  # noqa: E731
    pairs: dict[tuple[str, str], Evaluator] = {}
    scattered: dict[tuple[str, str], tuple[dict, float]] = {}  # style statistics, content SNR
    scored = []
    for item in items:
        pair = (item["content"], item["style"])
        if pair not in pairs:
            pairs[pair] = Evaluator(_input(pair[1]), _input(pair[0]), extractors=list(OURS))
            if scattering is not None:
                target = scattering.statistics(mono(_input(pair[1])))
                content = class_snr(target, scattering.statistics(mono(_input(pair[0]))))
                scattered[pair] = (target, content["mean"])
        e = pairs[pair](item["path"])
        row = {k: v for k, v in item.items() if k != "path"}
        row |= {f"gain {j}": e.style_match[j].gain_db for j in JUDGES}
        row |= dict(chroma=e.content.chroma, onsets=e.content.onsets, copy=e.copy)
        if scattering is not None:
            target, content = scattered[pair]
            row["gain scattering"] = class_snr(
                target, scattering.statistics(mono(item["path"])))["mean"] - content
        scored.append(row)
        print(f"{pair} {item['maker']} {item['extractor']}: "
              + " ".join(f"{j} {row[f'gain {j}']:+.1f}" for j in JUDGES), flush=True)
    return scored


def _versus(scored: list[dict]) -> list[list[str]]:
    """Rows of ours against the paper's for each pair and extractor we ran."""
    find = {(r["content"], r["style"], r["extractor"], r["maker"]): r for r in scored}
    rows = []
    for (content, style, extractor, maker), ours in find.items():
        paper = find.get((content, style, extractor, "paper"))
        if maker != "ours" or paper is None:
            continue
        other = next(j for j in OURS if j != extractor)
        keys = (f"gain {extractor}", f"gain {other}", "gain independent", "copy")
        rows.append([f"{content} × {style}", extractor] + [
            f"{ours[k]:{'.2f' if k == 'copy' else '+.1f'}} / "
            f"{paper[k]:{'.2f' if k == 'copy' else '+.1f'}}" for k in keys])
    return rows


def _agreement(scored: list[dict], judges: tuple[str, ...]) -> str:
    """How the judges agree on the paper's outputs: rank correlation with the independent
    judge over its 18 outputs, and on how many of its table's pairs each judge ranks its
    extractors as its authors heard them (McDermott > shallow > SoundNet > VGG)."""
    from scipy.stats import spearmanr

    paper = [r for r in scored if r["maker"] == "paper"]
    if len(paper) < 3:
        return ""
    lines = []
    for judge in judges:
        rho = spearmanr([r[f"gain {judge}"] for r in paper],
                        [r["gain independent"] for r in paper]).statistic
        agree = "" if judge == "independent" else (
            f"rank correlation with the independent judge {rho:.2f}; ")
        heard = 0
        for content, _, style in PAPER_PAIRS:
            gains = [next((r[f"gain {judge}"] for r in paper if r["content"] == content
                           and r["style"] == style and r["extractor"] == e), None)
                     for e in PAPER_EXTRACTORS]
            heard += None not in gains and bool(np.all(np.diff(gains) < 0))
        lines.append(f"{judge}: {agree}ranks the extractors as heard on {heard} of "
                     f"{len(PAPER_PAIRS)} pairs")
    return ("On the paper's " + str(len(paper)) + " outputs (its authors heard McDermott and "
            "shallow as the only pleasing results, SoundNet as hearable, VGG as almost the "
            "content):\n\n" + "\n".join(f"- {line}" for line in lines))


def _judge_seconds() -> dict[str, float]:
    """Seconds to score one 10-s sound against a style analysed before, per judge."""
    import torch

    from audiostyle.evaluation.independent import IndependentJudge
    from audiostyle.evaluation.statistics_snr import snr_to, target_loss
    from audiostyle.extractors import build_extractor

    rng = np.random.default_rng(0)
    style, sound = (rng.standard_normal(10 * SR).astype(np.float32) for _ in range(2))
    judge = IndependentJudge(style)
    times = {"independent": median_seconds(lambda: judge(sound), 5)}
    device = torch.device("cpu")
    for name in OURS:
        loss = target_loss(style, build_extractor(name).to(device), device, SR)
        times[name] = median_seconds(lambda loss=loss: snr_to(loss, sound, device, SR), 3)
    return times


def run(quick: bool = False) -> Section:
    if not PAPER.is_dir():
        return Section("judges", "Judges against judges",
                       f"The paper's files are not at {PAPER}: nothing to compare.")
    items = _outputs()
    if quick:  # one pair, the paper's outputs only: checks the script
        items = [i for i in items if i["maker"] == "paper"][:2]
    seconds = {}
    for item in items:
        if item["maker"] == "ours":
            item["path"], seconds[(item["content"], item["style"], item["extractor"])] = (
                transfer(item["content"], item["style"], item["extractor"]))
    scored = _scores(items)
    speed = _judge_seconds()
    folder = RESULTS / "judges"
    if not quick:
        folder.mkdir(exist_ok=True)
        (folder / "scores.json").write_text(json.dumps(scored, indent=1, default=float) + "\n")
    judges = JUDGES + (("scattering",) if SCATTERING else ())
    rows = []
    for row in scored:
        key = (row["content"], row["style"], row["extractor"])
        made = row["maker"] + (f" ({seconds[key]:.0f} s)" if row["maker"] == "ours" else "")
        rows.append([f"{row['content']} × {row['style']}", row["extractor"], made]
                    + [f"{row[f'gain {j}']:+.1f}" for j in judges]
                    + [f"{row['chroma']:.2f} / {row['onsets']:.2f}", f"{row['copy']:.2f}"])
    header = (["pair", "extractor", "made by"] + [f"gain: {j}" for j in judges]
              + ["chroma / onsets", "copy"])
    text = (
        "Each extractor's default against the paper's output of the same pair, judged by the "
        "extractor's own loss (McDermott statistics or the shallow net's Gram), by the other "
        "net's and by the independent judge (gain, dB; ours / paper):\n\n"
        + table(["pair", "extractor", "own loss: ours / paper", "other net: ours / paper",
                 "independent: ours / paper", "copy: ours / paper"], _versus(scored))
        + "\n\n" + _agreement(scored, judges)
        + f"\n\nEvery sound, every judge. Machine: {machine()}. Gain: statistics SNR to the "
        "style, result − content (dB), "
        "under our McDermott statistics (what `-e mcdermott` optimises), the shallow net's "
        "Gram matrices (what `-e shallow` optimises) and the independent judge "
        "(`audiostyle.evaluation.independent`, which nothing optimises). *paper*: its "
        "published output (64 kbps MP3; its VGG is ImageNet VGG-19); *ours*: today's default "
        "of that extractor (`audiostyle transfer CONTENT STYLE -e NAME`), its seconds in "
        "brackets (on a machine shared with other work). Copy: largest normalised "
        "cross-correlation with the style.\n\n"
        + table(header, rows)
        + "\n\nSeconds to score one 10-s sound against a style analysed before (median): "
        + ", ".join(f"{name} {value:.3f} s" for name, value in speed.items()) + ".\n"
    )
    return Section("judges", "Judges against judges: style gain under statistics no loss "
                   "optimises", text)
