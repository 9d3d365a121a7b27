"""Every content × style × extractor combination, run and laid out as a listening page.

:func:`grid` makes the jobs (:mod:`audiostyle.runs.jobs`), runs those not finished yet into
``DIR/audio/`` (one progress bar), scores each result against its content and style under
every extractor of the grid (:class:`~audiostyle.evaluation.evaluator.Evaluator`), copies the
inputs to ``DIR/inputs/`` as WAV, and writes ``DIR/index.html``
(:mod:`audiostyle.report.page`). Running it again with more inputs only runs the new
combinations.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import extractors as registry
from .._util import described, file_digest, slug
from ..errors import AudioStyleError
from ..evaluation.evaluator import Evaluator
from ..extractors import build_extractor, sketch_extractor
from ..io.audio import check_output_folder, load_audio, save_audio
from ..io.devices import resolve_device
from ..report.page import Clip, Column, write_page
from ..synthesis.settings import Settings
from .engines import Engine, run_jobs
from .jobs import Job, make_jobs, read_record

PathLike = str | os.PathLike


def grid(
    contents: Sequence[PathLike],
    styles: Sequence[PathLike],
    extractors: Sequence[str],
    folder: PathLike,
    *,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    settings: Settings | Mapping[str, Any] | None = None,
    device: str | None = None,
    engine: Engine | None = None,
    progress: bool = True,
) -> Path:
    """Run every combination into ``folder`` and write its listening page; returns the page.

    Args:
        contents, styles: input files (duplicates are dropped).
        extractors: registry names, one page row each.
        folder: output folder (created); results go to ``folder/audio``.
        options: extractor name → its options.
        settings: synthesis settings for every run (:class:`Settings` or a mapping of its
            fields).
        device: torch device (default: the best available).
        engine: runs the syntheses (:mod:`audiostyle.runs.engines`; default: in this process).
        progress: show the progress bar.
    """
    began = time.perf_counter()
    contents, styles, extractors = _unique(contents), _unique(styles), _unique(extractors)
    if not (contents and styles and extractors):
        raise AudioStyleError("a grid needs at least one content, one style and one extractor")
    options = {name: dict((options or {}).get(name, {})) for name in extractors}
    for name in extractors:
        known = registry.options(name)
        for key in options[name]:
            if key not in known:
                raise AudioStyleError(f"extractor {name!r} has no option {key!r}; "
                                      f"options: {', '.join(known) or 'none'}")
    working_sr = Settings.of(settings).working_sr
    for name in extractors:  # every value of every column, before any column runs
        sketch_extractor(name, options[name], working_sr)
    folder = check_output_folder(folder)
    results = folder / "audio"
    jobs = make_jobs(contents, styles, extractors, options=options, settings=settings)
    unique = {job.key: job for job in jobs}
    reused = sum(read_record(job, results) is not None for job in unique.values())
    target = resolve_device(device)

    nets: dict[str, Any] = {}
    evaluators: dict[tuple[str, str], Evaluator] = {}

    def measure(job: Job, audio: Path) -> dict:
        if not nets:
            nets.update({name: build_extractor(name, options[name]) for name in extractors})
        pair = (job.content, job.style)
        if pair not in evaluators:
            evaluators[pair] = Evaluator(job.style, job.content, extractors=nets, device=target)
        return evaluators[pair](audio).as_dict()

    records = run_jobs(jobs, results, measure=measure, device=device, engine=engine,
                       progress=progress)
    copies = {path: _copy_input(path, folder / "inputs") for path in (*contents, *styles)}
    columns = [
        Column(Clip(copies[c], Path(c).name), Clip(copies[s], Path(s).name))
        for c in contents for s in styles
    ]
    done = {(job.extractor, job.content, job.style): (job, record)
            for job, record in zip(jobs, records, strict=True)}
    rows = {name: [_result(*done[(name, c, s)], results) for c in contents for s in styles]
            for name in extractors}
    seconds = sum({job.key: r["seconds"] for job, r in done.values()}.values())
    facts = {
        "contents": ", ".join(Path(c).name for c in contents),
        "styles": ", ".join(Path(s).name for s in styles),
        "extractors": "; ".join(described(n, options[n].items()) for n in extractors),
        "synthesis settings": described("", Settings.of(settings).changed().items())
                              or "defaults",
        "combinations": f"{len(unique)} ({len(unique) - reused} run now, {reused} from before)",
        "synthesis time": f"{seconds:.1f} s in total (optimisation only)",
        "this run": f"{time.perf_counter() - began:.1f} s on {target}"
                    + (f" ({engine.describe()})" if engine is not None else ""),
        "written": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    return write_page(folder, columns, rows, facts=facts)


def _result(job: Job, record: Mapping[str, Any], folder: Path) -> Clip:
    """A result's cell: its audio, metrics, synthesis time and record (the one written
    beside the audio: the job that ran may have another name, inputs with equal bytes)."""
    audio = folder / record["audio"]
    return Clip(audio, job.label, metrics=record.get("metrics"), seconds=record["seconds"],
                record=audio.with_suffix(".json"))


def _copy_input(path: str, folder: Path) -> Path:
    """The input as a WAV file in ``folder`` (the page plays it from there)."""
    target = folder / f"{slug(Path(path).stem)}-{file_digest(path)[:8]}.wav"
    if not target.exists():
        save_audio(target, load_audio(path))
    return target


def _unique(items: Sequence[PathLike]) -> list[str]:
    return list(dict.fromkeys(str(item) for item in items))
