"""The commands: each ``run_<command>(args)`` turns parsed arguments into API calls and prints
what was done; it returns the exit status."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .. import extractors
from ..errors import AudioStyleError
from ..evaluation.statistics_snr import statistics_snr, stats
from ..io.audio import (
    Audio,
    check_output_path,
    load_audio,
    save_audio,
)
from ..runs.engines import EngineLost
from ..synthesis.pipeline import Result, texture, transfer
from ..synthesis.targets import main_style, option_text
from .options import (
    extractor_options,
    make_engine,
    parse_options,
    settings,
    style_paths,
    synthesis_options,
)

if TYPE_CHECKING:
    pass

log = logging.getLogger("audiostyle")

EXIT_USER_ERROR = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130



def run_transfer(args: argparse.Namespace) -> int:
    chosen, paths = synthesis_options(args), style_paths(args)
    inputs = (args.content, *paths)
    content, styles = load_audio(args.content), [load_audio(path) for path in paths]
    out = check_output_path(args.output, inputs, channels=1 if args.mono else content.channels,
                            sr=args.output_sr or content.sr)
    began = time.perf_counter()
    result = transfer(content, styles, style_weights=args.style_weights, **chosen)
    return _save(args, result, out, began, inputs=inputs, asked_seconds=content.seconds,
                 style=main_style(styles, args.style_weights))


def run_texture(args: argparse.Namespace) -> int:
    chosen, paths = synthesis_options(args), style_paths(args)
    styles = [load_audio(path) for path in paths]
    main = main_style(styles, args.style_weights)
    out = check_output_path(args.output, tuple(paths), channels=1 if args.mono else
                            main.channels, sr=args.output_sr or main.sr)
    began = time.perf_counter()
    result = texture(styles, seconds=args.seconds, style_weights=args.style_weights, **chosen)
    return _save(args, result, out, began, inputs=tuple(paths), asked_seconds=args.seconds,
                 style=main)


def run_demo(args: argparse.Namespace) -> int:
    from ..demo import bongo_loop, canon_melody

    sr = 22050
    folder = Path(args.output)
    content = Audio(canon_melody(sr)[None], sr, "content")
    style = Audio(bongo_loop(sr)[None], sr, "style")
    paths = {name: folder / f"{name}.wav" for name in ("content", "style", "result")}
    save_audio(paths["content"], content)
    save_audio(paths["style"], style)
    print(f"content: {paths['content']}  (Pachelbel's Canon, harmonic tone)")
    print(f"style:   {paths['style']}  (bongo loop)")
    options = synthesis_options(args)
    began = time.perf_counter()
    result = transfer(content, style, **options)
    code = _save(args, result, paths["result"], began, inputs=(paths["content"], paths["style"]),
                 asked_seconds=content.seconds, style=paths["style"])
    if code == 0:
        page = _demo_page(folder, paths, result, options)
        print(f"listening page: {page}")
    return code


def _demo_page(folder: Path, paths: dict[str, Path], result: Result, options: dict) -> Path:
    """The listening page of the demo: one column, one row, with the result's metrics."""
    from ..evaluation.evaluator import Evaluator
    from ..report.page import Clip, Column, write_page

    evaluator = Evaluator(paths["style"], paths["content"],
                          extractors={result.extractor: options["options"]},
                          device=options["device"])
    metrics = evaluator(paths["result"]).as_dict()
    column = Column(Clip(paths["content"], "content.wav: Pachelbel's Canon, harmonic tone"),
                    Clip(paths["style"], "style.wav: bongo loop"))
    cell = Clip(paths["result"], "result.wav", metrics=metrics, seconds=result.seconds)
    stages = ", then ".join(f"{name} {trace.iterations} iterations"
                            for name, trace in result.stages.items())
    chosen = ", ".join(f"{k}={v}" for k, v in options["options"].items()) or "defaults"
    facts = {"extractor": f"{result.extractor} ({chosen})", "optimisation": stages,
             "synthesis time": f"{result.seconds:.1f} s",
             "seed": str(options["settings"].seed)}
    return write_page(folder, [column], {result.extractor: [cell]},
                      title="audiostyle demo", facts=facts)


def run_evaluate(args: argparse.Namespace) -> int:
    from .._util import to_json
    from ..evaluation.evaluator import Evaluator

    names = args.extractor or extractors.available()
    outputs = [load_audio(path, finite=False) for path in args.outputs]  # all, before scoring
    evaluator = Evaluator(args.style, args.content, device=args.device,
                          extractors=extractor_options(args.option, names),
                          skip_unavailable=not args.extractor)
    results = [evaluator(output) for output in outputs]
    if args.json:
        print(to_json([r.as_dict() for r in results]))
    else:
        print("\n\n".join(r.summary() for r in results))
    return 0


def run_grid(args: argparse.Namespace) -> int:
    from ..runs.grid import grid

    for name in args.extractor:
        extractors.extractor_class(name)
    try:
        page = grid(args.content, args.style, args.extractor, args.output,
                    options=extractor_options(args.option, args.extractor),
                    settings=settings(args), device=args.device, engine=make_engine(args),
                    progress=not args.quiet)
    except KeyboardInterrupt:
        print("audiostyle: interrupted; finished combinations are kept, run the same command "
              "again to go on", file=sys.stderr)
        return args.interrupts.exit_code
    except EngineLost as exc:
        print(f"audiostyle: failed: {exc}; finished combinations are kept, run the same "
              "command again to go on", file=sys.stderr)
        return EXIT_FAILED
    print(f"listening page: {page}")
    return 0


def run_batch(args: argparse.Namespace) -> int:
    from ..runs.batch import batch

    extractors.extractor_class(args.extractor)
    summary = batch(args.manifest, args.output, extractor=args.extractor,
                    options=extractor_options(args.option, extractors.available()),
                    settings=settings(args), engine=make_engine(args), device=args.device,
                    progress=not args.quiet)
    print(summary.table())
    if summary.lost:
        print(f"audiostyle: failed: {summary.lost}; finished jobs are kept (see "
              f"{summary.results}): run the same command again to go on", file=sys.stderr)
        return EXIT_FAILED
    if summary.interrupted:
        kept = ("the interrupted job's best result so far is saved" if
                summary.counts["interrupted"] else "the interrupted job was not saved")
        print(f"audiostyle: interrupted; finished jobs are kept, {kept}: run the same command "
              "again to go on", file=sys.stderr)
        return args.interrupts.exit_code
    failed = [entry for entry in summary.entries if entry.status == "failed"]
    if summary.unwritten or any(entry.fault for entry in failed):
        return EXIT_FAILED
    return EXIT_USER_ERROR if failed else 0


def run_extractors(args: argparse.Namespace) -> int:
    for name in extractors.available():
        cls = extractors.extractor_class(name)
        summary = (cls.__doc__ or "").strip().splitlines()[0].replace("``", "")
        default = " (the default)" if name == extractors.DEFAULT_EXTRACTOR else ""
        print(f"{name}{default}: {summary}")
        print(f"    domains: {', '.join(cls.domains)}")
        for kind in ("transfer", "texture"):
            print(f"    {kind} defaults: {cls.defaults.plan(kind).describe()}")
        for key, (value, drawn_only) in extractors.option_defaults(name).items():
            where = " (with -X form=drawn only)" if drawn_only else ""
            print(f"    -X {key}={option_text(value)}{where}")
    return 0



def run_stats(args: argparse.Namespace) -> int:
    values = stats(args.file, extractor=args.extractor, options=parse_options(args.option),
                   device=args.device)
    if args.json:
        print(json.dumps({"file": args.file, "extractor": args.extractor,
                          "statistics": {k: v.tolist() for k, v in values.items()}}))
        return 0
    print(f"{args.file}: {args.extractor} statistics")
    width = max(map(len, values))
    for name, value in values.items():
        shape = "×".join(map(str, value.shape)) or "1"
        print(f"  {name:<{width}}  {shape:>9}  mean {value.mean():10.4g}  "
              f"min {value.min():10.4g}  max {value.max():10.4g}")
    return 0


def run_weights_list(args: argparse.Namespace) -> int:
    from .. import weights

    print(f"weights cache: {weights.cache_dir()}")
    for name in weights.available():
        state = weights.verify(name)  # a bad entry says what is wrong with it; the rest go on
        where = weights.store.installed_path(name) if state != "missing" else "-"
        print(f"{name:12} {state:10} {where}\n{'':12} {weights.spec(name).description}")
    return 0


def run_weights_install(args: argparse.Namespace) -> int:
    from .. import weights

    weights.spec(args.name)  # an unknown name: its one-line error before anything else
    if args.force or weights.verify(args.name) != "verified":
        print(f"installing {args.name} weights ...", file=sys.stderr)
    record = weights.install(args.name, args.source, force=args.force)
    print(f"{args.name}: {record.path} ({record.bytes / 2**20:.1f} MiB, "
          f"sha256 {record.sha256[:16]}…) from {record.source}")
    return 0


def run_classify(args: argparse.Namespace) -> int:
    from ..networks.soundnet import classify

    result = classify(args.file, top=args.top, seconds=args.seconds, device=args.device)
    print(f"{args.file}: SoundNet on {result.seconds:.1f} s (looped if shorter), "
          f"{result.frames} output frames clear of the padding averaged")
    for kind, ranked in (("objects", result.objects), ("scenes", result.scenes)):
        print(f"  {kind}: " + "; ".join(f"{name} {p:.3f}" for name, p in ranked))
    return 0


def _save(
    args: argparse.Namespace, result: Result, out: Path, began: float, *, inputs: tuple,
    asked_seconds: float, style: str | Path | Audio,
) -> int:
    """Write the result and say what it is; ``began``: ``time.perf_counter()`` when the
    synthesis began (the time printed includes phase recovery, analysis and writing)."""
    args.interrupts.saving = True
    try:
        save_audio(out, result.audio, inputs=inputs)
    finally:
        args.interrupts.saving = False
    stages = ", then ".join(
        f"{name} {trace.iterations} it ({trace.best_db:.1f} dB)"
        for name, trace in result.stages.items()
    )
    print(
        f"wrote {out} ({result.audio.seconds:.1f} s, {result.audio.sr} Hz) in "
        f"{time.perf_counter() - began:.1f} s ({result.seconds:.1f} s of optimisation): "
        f"{result.extractor}, {stages}; result loss "
        f"{result.loss_db:.1f} dB from the start, style distance "
        f"{result.style_distance_db:.1f} dB"
    )
    with contextlib.suppress(KeyboardInterrupt):  # the result is saved: only its analysis is
        _print_statistics_snr(result, style)       # left out
    if result.interrupted:
        part = ""
        if result.audio.seconds < asked_seconds - 0.5 / result.audio.sr:
            part = f" (the first {result.audio.seconds:.1f} s of {asked_seconds:.1f} s)"
        done = f"{result.iterations} iteration{'s' * (result.iterations != 1)}"
        print(f"audiostyle: interrupted after {done}: saved the best result so far{part} to "
              f"{out}", file=sys.stderr)
        return args.interrupts.exit_code
    if args.interrupts.count:
        print(f"audiostyle: interrupted after the synthesis; the result was saved to {out}",
              file=sys.stderr)
        return args.interrupts.exit_code
    return 0


def _print_statistics_snr(result: Result, style: str | Path | Audio) -> None:
    """McDermott & Simoncelli's success criterion for the result, whatever the extractor."""
    try:
        snr = statistics_snr(result.audio, style, extractor="mcdermott")
    except AudioStyleError as exc:  # e.g. a style too short for the auditory model
        log.info("no statistics SNR: %s", exc)
        return
    mean = snr.pop("mean")
    classes = ", ".join(f"{name} {value:.1f}" for name, value in snr.items())
    print(f"McDermott statistics SNR to the style: mean {mean:.1f} dB ({classes}); "
          f"McDermott & Simoncelli count >= 20 dB as a match")
