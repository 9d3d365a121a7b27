"""Command line: ``audiostyle transfer | texture | evaluate | grid | batch | demo | extractors |
stats | classify | weights``.

User mistakes (bad files, options, paths) end with one line on stderr and exit status 2; a
failed optimisation or a system fault (out of memory, I/O error) with one line and status 1;
Ctrl-C saves the best result so far and exits with 130 (a second Ctrl-C exits at once, without
saving). Inputs are read and the output place is checked before any work.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from .. import extractors
from ..errors import AudioStyleError, SynthesisError
from ..evaluation.style_match import statistics_snr, stats
from ..io.audio import (
    Audio,
    check_output_path,
    discard_partial_writes,
    load_audio,
    save_audio,
)
from ..synthesis.domains import DOMAINS
from ..synthesis.optimiser import OPTIMIZERS
from ..synthesis.pipeline import (
    DEFAULT_CHUNK_SECONDS,
    DEFAULT_REFINE_ITERATIONS,
    DEFAULT_RHYTHM_SECONDS,
    INITS,
    Result,
    texture,
    transfer,
)

if TYPE_CHECKING:
    from ..runs.engines import Engine

log = logging.getLogger("audiostyle")

EXIT_USER_ERROR = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USER_ERROR
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO,
        format="%(message)s", stream=sys.stderr, force=True,
    )
    args.interrupts = _interrupt_handler()
    previous = signal.signal(signal.SIGINT, args.interrupts)
    try:
        return args.run(args)
    except AudioStyleError as exc:
        print(f"audiostyle: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except SynthesisError as exc:
        print(f"audiostyle: failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("audiostyle: interrupted; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError:
        print("audiostyle: failed: out of memory; try a smaller --chunk-seconds",
              file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"audiostyle: failed: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # a bug: one line, the traceback only when asked for
        if args.verbose:
            traceback.print_exc()
        print(f"audiostyle: internal error: {type(exc).__name__}: {exc} (rerun with "
              "--verbose for the traceback, and please report it)", file=sys.stderr)
        return EXIT_FAILED
    finally:
        signal.signal(signal.SIGINT, previous)


class _Interrupts:
    """The SIGINT handler. First Ctrl-C: KeyboardInterrupt (the optimisation stops and keeps
    its best result); while the result is being written (:attr:`saving`) it only lets the
    write finish. Second Ctrl-C: remove any half-written file and exit at once."""

    def __init__(self) -> None:
        self.count = 0
        self.saving = False

    def __call__(self, signum: int, frame: object) -> None:
        self.count += 1
        if self.count == 1:
            if self.saving:
                os.write(2, b"\naudiostyle: interrupted while writing the result: finishing "
                            b"the write (Ctrl-C again to quit without it)\n")
                return
            os.write(2, b"\naudiostyle: interrupted: keeping the best result so far (Ctrl-C "
                        b"again to quit at once, without saving)\n")
            raise KeyboardInterrupt
        discard_partial_writes()
        os.write(2, b"\naudiostyle: second Ctrl-C: exiting now, without saving\n")
        os._exit(EXIT_INTERRUPTED)


def _interrupt_handler() -> _Interrupts:
    return _Interrupts()


# --- commands -------------------------------------------------------------------------------


def _run_transfer(args: argparse.Namespace) -> int:
    paths = _style_paths(args)
    inputs = (args.content, *paths)
    content, styles = load_audio(args.content), [load_audio(path) for path in paths]
    out = check_output_path(args.output, inputs, channels=1 if args.mono else content.channels,
                            sr=args.output_sr or content.sr)
    result = transfer(
        content, styles, init=args.init, content_weight=args.content_weight,
        strength=args.strength, output_sr=args.output_sr, **_blend_options(args),
        **_synthesis_options(args),
    )
    return _save(args, result, out, inputs=inputs, asked_seconds=content.seconds,
                 style=_main_style(args, styles))


def _run_texture(args: argparse.Namespace) -> int:
    paths = _style_paths(args)
    styles = [load_audio(path) for path in paths]
    main = _main_style(args, styles)
    out = check_output_path(args.output, tuple(paths), channels=1 if args.mono else
                            main.channels, sr=args.output_sr or main.sr)
    result = texture(styles, seconds=args.seconds, output_sr=args.output_sr,
                     **_blend_options(args), **_synthesis_options(args))
    return _save(args, result, out, inputs=tuple(paths), asked_seconds=args.seconds,
                 style=main)


def _style_paths(args: argparse.Namespace) -> list[str]:
    """The style files: the positional STYLE, then every ``--style``; one weight each."""
    paths = ([args.style] if args.style else []) + args.styles
    if not paths:
        raise AudioStyleError("no style: give STYLE or --style FILE")
    if args.style_weights is not None and len(args.style_weights) != len(paths):
        raise AudioStyleError(f"{len(args.style_weights)} --style-weights for {len(paths)} "
                              "styles; give one weight per style")
    return paths


def _main_style(args: argparse.Namespace, styles: list[Audio]) -> Audio:
    """The style of largest weight (a texture's channels and rate, the printed SNR)."""
    weights = args.style_weights or [1.0] * len(styles)
    return styles[max(range(len(styles)), key=weights.__getitem__)]


def _run_demo(args: argparse.Namespace) -> int:
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
    options = _synthesis_options(args)
    result = transfer(content, style, **options)
    code = _save(args, result, paths["result"], inputs=(paths["content"], paths["style"]),
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
    settings = ", ".join(f"{k}={v}" for k, v in options["options"].items()) or "defaults"
    facts = {"extractor": f"{result.extractor} ({settings})", "optimisation": stages,
             "synthesis time": f"{result.seconds:.1f} s", "seed": str(options["seed"])}
    return write_page(folder, [column], {result.extractor: [cell]},
                      title="audiostyle demo", facts=facts)


def _run_evaluate(args: argparse.Namespace) -> int:
    from ..evaluation.evaluator import Evaluator, to_json

    names = args.extractor or extractors.available()
    evaluator = Evaluator(args.style, args.content, device=args.device,
                          extractors=_extractor_options(args.option, names),
                          skip_unavailable=not args.extractor)
    results = [evaluator(path) for path in args.outputs]
    if args.json:
        print(to_json([r.as_dict() for r in results]))
    else:
        print("\n\n".join(r.summary() for r in results))
    return 0


def _run_grid(args: argparse.Namespace) -> int:
    from ..runs.grid import grid

    for name in args.extractor:
        extractors.extractor_class(name)
    try:
        page = grid(args.content, args.style, args.extractor, args.output,
                    options=_extractor_options(args.option, args.extractor),
                    settings=_job_settings(args), device=args.device, engine=_engine(args),
                    progress=not args.quiet)
    except KeyboardInterrupt:
        print("audiostyle: interrupted; finished combinations are kept, run the same command "
              "again to go on", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"listening page: {page}")
    return 0


def _run_batch(args: argparse.Namespace) -> int:
    from ..runs.batch import batch

    extractors.extractor_class(args.extractor)
    try:
        summary = batch(args.manifest, args.output, extractor=args.extractor,
                        options=_extractor_options(args.option, extractors.available()),
                        settings=_job_settings(args), engine=_engine(args), device=args.device,
                        progress=not args.quiet)
    except KeyboardInterrupt:
        print("audiostyle: interrupted; finished jobs are kept, run the same command again to "
              "go on", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(summary.table())
    return EXIT_FAILED if summary.counts["failed"] else 0


def _job_settings(args: argparse.Namespace) -> dict:
    """Synthesis settings of jobs (``grid``, ``batch``), by :data:`audiostyle.jobs.SETTINGS`."""
    return {
        "working_sr": args.sr, "domain": args.domain, "init": args.init,
        "iterations": args.iterations, "refine_iterations": args.refine,
        "content_weight": args.content_weight, "optimizer": args.optimizer,
        "learning_rate": args.lr, "griffin_lim_iterations": args.gl_iterations,
        "seed": args.seed, "output_sr": args.output_sr,
        # left out at their defaults, so that jobs keep their keys (and finished outputs)
        "strength": None if args.strength == 1 else args.strength,
        "rhythm_weight": args.rhythm or None,
        "rhythm_seconds": args.rhythm_seconds if args.rhythm else None,
    }


def _engine(args: argparse.Namespace) -> Engine:
    """The engine chosen by ``--engine`` and its options."""
    from ..runs.engines import LocalEngine

    if args.engine == "local":
        return LocalEngine(args.workers or 1, args.threads_per_job)
    from ..runs.ray_engine import RayEngine

    threads = args.threads_per_job or 1
    return RayEngine(address=args.ray_address, threads=threads, gpus_per_job=args.gpus_per_job,
                     num_cpus=args.workers * threads if args.workers else None)


def _extractor_options(pairs: Sequence[str], names: Sequence[str]) -> dict[str, dict]:
    """``-X [NAME.]KEY=VALUE`` for several extractors: a plain key goes to every extractor
    that has that option, ``NAME.KEY`` to extractor NAME only."""
    chosen: dict[str, dict] = {name: {} for name in names}
    for key, value in _parse_options(pairs).items():
        target, dot, option = key.rpartition(".")
        if dot and target not in chosen:
            raise AudioStyleError(f"--option {key}: {target!r} is not one of the extractors "
                                  f"used ({', '.join(names)})")
        takers = [target] if dot else [n for n in names if option in extractors.options(n)]
        if not takers or option not in extractors.options(takers[0]):
            raise AudioStyleError(f"--option {key}: no extractor used here has an option "
                                  f"{option!r}; see `audiostyle extractors`")
        for name in takers:
            chosen[name][option] = value
    return chosen


def _run_extractors(args: argparse.Namespace) -> int:
    for name in extractors.available():
        cls = extractors.extractor_class(name)
        summary = (cls.__doc__ or "").strip().splitlines()[0]
        print(f"{name}: {summary}")
        print(f"    domains: {', '.join(_domains(cls))} (default {cls.default_domain}); "
              f"default iterations {cls.default_iterations}")
        for key, default in extractors.options(name).items():
            print(f"    {key} = {default!r}")
    return 0


def _run_stats(args: argparse.Namespace) -> int:
    values = stats(args.file, extractor=args.extractor, options=_parse_options(args.option),
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


def _run_weights_list(args: argparse.Namespace) -> int:
    from .. import weights

    print(f"weights cache: {weights.cache_dir()}")
    for name in weights.available():
        state = weights.verify(name)
        where = weights.store.read_record(name).path if state != "missing" else "-"
        print(f"{name:12} {state:10} {where}\n{'':12} {weights.spec(name).description}")
    return 0


def _run_weights_install(args: argparse.Namespace) -> int:
    from .. import weights

    weights.spec(args.name)  # an unknown name: its one-line error before anything else
    if args.force or weights.verify(args.name) != "verified":
        print(f"installing {args.name} weights ...", file=sys.stderr)
    record = weights.install(args.name, args.source, force=args.force)
    print(f"{args.name}: {record.path} ({record.bytes / 2**20:.1f} MiB, "
          f"sha256 {record.sha256[:16]}…) from {record.source}")
    return 0


def _run_classify(args: argparse.Namespace) -> int:
    from ..networks.soundnet import classify

    result = classify(args.file, top=args.top, seconds=args.seconds, device=args.device)
    print(f"{args.file}: SoundNet on {result.seconds:.1f} s (looped if shorter), "
          f"{result.frames} output frames clear of the padding averaged")
    for kind, ranked in (("objects", result.objects), ("scenes", result.scenes)):
        print(f"  {kind}: " + "; ".join(f"{name} {p:.3f}" for name, p in ranked))
    return 0


def _domains(cls: type) -> list[str]:
    return ["spectrogram", "waveform"] if cls.default_domain == "spectrogram" else ["waveform"]


def _synthesis_options(args: argparse.Namespace) -> dict:
    return {
        "extractor": args.extractor,
        "options": _parse_options(args.option),
        "working_sr": args.sr,
        "domain": args.domain,
        "iterations": args.iterations,
        "refine_iterations": args.refine,
        "optimizer": args.optimizer,
        "learning_rate": args.lr,
        "griffin_lim_iterations": args.gl_iterations,
        "seed": args.seed,
        "device": args.device,
        "mono": args.mono,
        "chunk_seconds": args.chunk_seconds,
        "progress": not args.quiet,
    }


def _blend_options(args: argparse.Namespace) -> dict:
    return {"style_weights": args.style_weights, "rhythm_weight": args.rhythm,
            "rhythm_seconds": args.rhythm_seconds}


def _parse_options(pairs: Sequence[str]) -> dict[str, str]:
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise AudioStyleError(f"--option {pair!r}: expected KEY=VALUE, e.g. filters=2048")
        parsed[key.strip().replace("-", "_")] = value.strip()
    return parsed


def _save(
    args: argparse.Namespace, result: Result, out: Path, *, inputs: tuple, asked_seconds: float,
    style: str | Path | Audio,
) -> int:
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
        f"{result.seconds:.1f} s: {result.extractor}, {stages}; result loss "
        f"{result.loss_db:.1f} dB from the start, style distance "
        f"{result.style_distance_db:.1f} dB"
    )
    _print_statistics_snr(result, style)
    if result.interrupted:
        part = ""
        if result.audio.seconds < asked_seconds - 0.5 / result.audio.sr:
            part = f" (the first {result.audio.seconds:.1f} s of {asked_seconds:.1f} s)"
        print(f"audiostyle: interrupted after {result.iterations} iterations: saved the best "
              f"result so far{part} to {out}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if args.interrupts.count:
        print(f"audiostyle: interrupted while writing; the result was saved to {out}",
              file=sys.stderr)
        return EXIT_INTERRUPTED
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


# --- argument parsing ----------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (usage stays available with --help)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"audiostyle: error: {message} (see `{self.prog} --help`)\n")


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {value}")
    return value


def _transfer_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--init", choices=INITS, default="content",
                   help="start from the content (default) or from noise")
    p.add_argument("--content-weight", type=float, default=0.0,
                   help="weight of a content loss (default 0, as in the paper)")
    p.add_argument("--strength", type=float, default=1.0, metavar="S",
                   help="0..1: target statistics this far from the content's to the style's "
                        "(0 = content unchanged, 1 = full transfer, the default)")
    p.add_argument("--output-sr", type=_positive_int, default=None, metavar="HZ",
                   help="output sample rate (default: the content's)")


def _synthesis_parser(*, many: bool) -> argparse.ArgumentParser:
    """Synthesis options; ``many``: several extractors (``--extractor A B``)."""
    synth = _Parser(add_help=False)
    group = synth.add_argument_group("synthesis")
    names = ", ".join(extractors.available())
    if many:
        group.add_argument("--extractor", "-e", nargs="+", default=["shallow"], metavar="NAME",
                           help=f"feature extractors, one page row each: {names} "
                                "(default: shallow)")
    else:
        group.add_argument("--extractor", "-e", default="shallow",
                           help=f"feature extractor: {names} (default: shallow)")
    group.add_argument("--option", "-X", action="append", default=[],
                       metavar="[NAME.]KEY=VALUE" if many else "KEY=VALUE",
                       help="extractor option, repeatable (see `audiostyle extractors`)"
                            + ("; KEY alone applies to every extractor that has it" if many
                               else ""))
    group.add_argument("--iterations", "-n", type=_positive_int, default=None,
                       help="loss evaluations (default: the extractor's, see `extractors`)")
    group.add_argument("--domain", choices=DOMAINS, default=None,
                       help="optimise the spectrogram (then Griffin-Lim) or the waveform "
                            "(default: the extractor's)")
    group.add_argument("--refine", type=_non_negative_int, default=None, metavar="N",
                       help="waveform iterations after the spectrogram domain's Griffin-Lim "
                            f"(default {DEFAULT_REFINE_ITERATIONS}; 0 = the paper's method)")
    group.add_argument("--optimizer", choices=OPTIMIZERS, default="lbfgs")
    group.add_argument("--lr", type=_positive_float, default=None, help="Adam learning rate")
    group.add_argument("--gl-iterations", type=_non_negative_int, default=100,
                       help="Griffin-Lim iterations (spectrogram domain; default 100)")
    group.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    group.add_argument("--sr", type=_positive_int, default=None, metavar="HZ",
                       help="working (analysis) sample rate, for extractors that take one")
    group.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    if not many:  # (grid runs keep the defaults: its jobs record a fixed set of settings)
        group.add_argument("--mono", action="store_true",
                           help="downmix: a one-channel result (default: the content's "
                                "channels; for texture, the style's)")
        group.add_argument("--chunk-seconds", type=_positive_float,
                           default=DEFAULT_CHUNK_SECONDS, metavar="S",
                           help="longest chunk of one channel, in seconds; less uses less "
                                f"memory (default {DEFAULT_CHUNK_SECONDS:g})")
    return synth


def _blend_parser(*, blend: bool) -> argparse.ArgumentParser:
    """What the target is made of: the rhythm term, and (``blend``: ``transfer``, ``texture``)
    several styles."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("styles")
    if blend:
        group.add_argument("--style", dest="styles", action="append", default=[],
                           metavar="FILE", help="another style to blend in, repeatable")
        group.add_argument("--style-weights", type=float, nargs="+", default=None,
                           metavar="W", help="one weight per style, STYLE first (default "
                           "equal): the target is the weighted mix of their statistics")
    group.add_argument("--rhythm", type=float, default=0.0, metavar="W",
                       help="weight of the rhythm term, which matches the feature maps' "
                            "autocorrelation so a periodic style keeps its pulse (shallow, "
                            "shallow-multi; default 0)")
    group.add_argument("--rhythm-seconds", type=_positive_float, default=DEFAULT_RHYTHM_SECONDS,
                       metavar="S", help="longest delay the rhythm term matches, in seconds "
                                         f"(default {DEFAULT_RHYTHM_SECONDS:g})")
    return parent


def _engine_parser() -> argparse.ArgumentParser:
    """Where jobs run (``grid``, ``batch``)."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("engine")
    group.add_argument("--engine", choices=("local", "ray"), default="local",
                       help="run jobs on this machine (default) or on Ray (needs "
                            "audiostyle[ray])")
    group.add_argument("--workers", "-j", type=_positive_int, default=None, metavar="N",
                       help="jobs at once: local worker processes (default 1), or the CPUs of "
                            "a local Ray instance ÷ threads per job (default: all)")
    group.add_argument("--threads-per-job", type=_positive_int, default=None, metavar="N",
                       help="torch threads (Ray: CPUs) per job (default: local cores ÷ "
                            "workers; Ray 1); results are bit-identical for equal counts")
    group.add_argument("--ray-address", default=None, metavar="ADDRESS",
                       help="a running Ray cluster (ray://HOST:10001, HOST:6379 or auto); "
                            "default: start a local instance")
    group.add_argument("--gpus-per-job", type=float, default=0.0, metavar="G",
                       help="GPUs each Ray task asks for (e.g. 1 or 0.5; default 0)")
    return parent


def _parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bar or notes")
    common.add_argument("-v", "--verbose", action="store_true", help="more detail")

    synth = _synthesis_parser(many=False)
    parser = _Parser(
        prog="audiostyle", description="Audio style transfer and sound texture synthesis.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    blend = _blend_parser(blend=True)
    p = commands.add_parser("transfer", parents=[common, synth, blend],
                            help="re-make CONTENT with the texture of STYLE")
    p.add_argument("content", help="content sound file")
    p.add_argument("style", nargs="?", help="style sound file (or --style, repeatable)")
    p.add_argument("-o", "--output", required=True, help="output file (.wav .flac .ogg .mp3)")
    _transfer_arguments(p)
    p.set_defaults(run=_run_transfer)

    p = commands.add_parser("texture", parents=[common, synth, blend],
                            help="synthesise a new texture with the statistics of STYLE")
    p.add_argument("style", nargs="?", help="style sound file (or --style, repeatable)")
    p.add_argument("-o", "--output", required=True, help="output file (.wav .flac .ogg .mp3)")
    p.add_argument("--seconds", "-s", type=_positive_float, default=10.0,
                   help="length of the result (default 10)")
    p.add_argument("--output-sr", type=_positive_int, default=None, metavar="HZ",
                   help="output sample rate (default: the style's)")
    p.set_defaults(run=_run_texture)

    p = commands.add_parser(
        "evaluate", parents=[common], help="metrics of results: style match, content kept, "
        "copy check, sanity",
        description="Score OUTPUT files against the style (and content): statistics SNR to "
        "the style under each extractor (dB, higher = closer; the content's own SNR and the "
        "gain are shown), chroma / onset / envelope correlation with the content (1 = kept), "
        "copy check (max normalised cross-correlation with the style; near 1 = a replay), "
        "and sanity (loudness in LUFS, peak, clipping, silence, NaN).")
    p.add_argument("outputs", nargs="+", metavar="OUTPUT", help="sound files to score")
    p.add_argument("--style", "-s", required=True, help="the style sound file")
    p.add_argument("--content", "-c", default=None,
                   help="the content sound file (omit for textures)")
    p.add_argument("--extractor", "-e", action="append", default=None, metavar="NAME",
                   help="extractor for the style match, repeatable (default: every available "
                        "one; those that cannot run here are skipped with a note)")
    p.add_argument("--option", "-X", action="append", default=[], metavar="[NAME.]KEY=VALUE",
                   help="extractor option, repeatable")
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per "
                   "OUTPUT (infinite values as the strings \"inf\"/\"-inf\")")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    p.set_defaults(run=_run_evaluate)

    p = commands.add_parser(
        "grid", parents=[common, _synthesis_parser(many=True), _blend_parser(blend=False),
                         _engine_parser()],
        help="run every content × style × extractor and write a listening page",
        description="Run every combination into DIR/audio (finished ones are skipped, so "
        "running again is cheap), score each result, and write DIR/index.html: content and "
        "style in the header, one row per extractor, a player, spectrogram and metrics per "
        "combination.")
    p.add_argument("--content", "-c", nargs="+", required=True, metavar="FILE",
                   help="content sound files")
    p.add_argument("--style", "-s", nargs="+", required=True, metavar="FILE",
                   help="style sound files")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    _transfer_arguments(p)
    p.set_defaults(run=_run_grid)

    p = commands.add_parser(
        "batch", parents=[common, synth, _blend_parser(blend=False), _engine_parser()],
        help="run the transfers listed in a manifest (CSV or JSON Lines), resumably",
        description="Run every row of MANIFEST (CSV with a header row, or .jsonl): columns "
        "content, style, and optionally extractor, options (KEY=VALUE;KEY=VALUE) and synthesis "
        "settings by their Python names (iterations, seed, working_sr, refine_iterations, ...); "
        "the options below are the defaults of empty cells. Relative paths are relative to the "
        "manifest. Outputs are named from the inputs' contents and settings, so running again "
        "skips finished jobs; failures are recorded in DIR/results.csv and do not stop the "
        "others. Exit status 1 when a row failed.")
    p.add_argument("manifest", help="CSV or JSON Lines file of jobs")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    _transfer_arguments(p)
    p.set_defaults(run=_run_batch)

    p = commands.add_parser("demo", parents=[common, synth],
                            help="synthesise demo sounds and transfer between them")
    p.add_argument("-o", "--output", default="demo", help="output folder (default ./demo)")
    p.set_defaults(run=_run_demo)

    p = commands.add_parser("extractors", parents=[common], help="list extractors and options")
    p.set_defaults(run=_run_extractors)

    p = commands.add_parser("stats", parents=[common],
                            help="print (or export as JSON) the style statistics of a sound")
    p.add_argument("file", help="sound file")
    p.add_argument("--extractor", "-e", default="mcdermott",
                   help="extractor whose statistics to compute (default: mcdermott, the "
                        "McDermott & Simoncelli texture statistics)")
    p.add_argument("--option", "-X", action="append", default=[], metavar="KEY=VALUE",
                   help="extractor option, repeatable")
    p.add_argument("--json", action="store_true", help="print every value as JSON")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    p.set_defaults(run=_run_stats)

    p = commands.add_parser("classify", parents=[common],
                            help="SoundNet's top objects and scenes for a sound file")
    p.add_argument("file", help="sound file")
    p.add_argument("--top", type=_positive_int, default=5, help="categories shown (default 5)")
    p.add_argument("--seconds", type=_positive_float, default=20.0,
                   help="loop the sound to at least this long (default 20)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    p.set_defaults(run=_run_classify)

    p = commands.add_parser("weights", help="install or list pretrained weights")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = actions.add_parser("list", parents=[common], help="installed weights and their state")
    q.set_defaults(run=_run_weights_list)
    q = actions.add_parser("install", parents=[common], help="install weights NAME")
    q.add_argument("name", help="weights name (see `audiostyle weights list`)")
    q.add_argument("--from", dest="source", metavar="PATH", default=None,
                   help="use this file instead of finding or downloading the original")
    q.add_argument("--force", action="store_true", help="reinstall even if verified")
    q.set_defaults(run=_run_weights_install)
    return parser


if __name__ == "__main__":
    sys.exit(main())
