"""The argument parser of every command, with one-line errors."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, NoReturn

from .. import extractors
from ..synthesis.chunking import DEFAULT_CHUNK_SECONDS
from ..synthesis.domains import DOMAINS
from ..synthesis.optimiser import OPTIMIZERS
from ..synthesis.pipeline import INITS
from ..synthesis.stages import DEFAULT_REFINE_ITERATIONS
from ..synthesis.targets import DEFAULT_RHYTHM_SECONDS
from .commands import (
    EXIT_USER_ERROR,
    run_batch,
    run_classify,
    run_demo,
    run_evaluate,
    run_extractors,
    run_grid,
    run_stats,
    run_texture,
    run_transfer,
    run_weights_install,
    run_weights_list,
)

if TYPE_CHECKING:
    pass


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


def build_parser() -> argparse.ArgumentParser:
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
    p.set_defaults(run=run_transfer)

    p = commands.add_parser("texture", parents=[common, synth, blend],
                            help="synthesise a new texture with the statistics of STYLE")
    p.add_argument("style", nargs="?", help="style sound file (or --style, repeatable)")
    p.add_argument("-o", "--output", required=True, help="output file (.wav .flac .ogg .mp3)")
    p.add_argument("--seconds", "-s", type=_positive_float, default=10.0,
                   help="length of the result (default 10)")
    p.add_argument("--output-sr", type=_positive_int, default=None, metavar="HZ",
                   help="output sample rate (default: the style's)")
    p.set_defaults(run=run_texture)

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
    p.set_defaults(run=run_evaluate)

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
    p.set_defaults(run=run_grid)

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
    p.set_defaults(run=run_batch)

    p = commands.add_parser("demo", parents=[common, synth],
                            help="synthesise demo sounds and transfer between them")
    p.add_argument("-o", "--output", default="demo", help="output folder (default ./demo)")
    p.set_defaults(run=run_demo)

    p = commands.add_parser("extractors", parents=[common], help="list extractors and options")
    p.set_defaults(run=run_extractors)

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
    p.set_defaults(run=run_stats)

    p = commands.add_parser("classify", parents=[common],
                            help="SoundNet's top objects and scenes for a sound file")
    p.add_argument("file", help="sound file")
    p.add_argument("--top", type=_positive_int, default=5, help="categories shown (default 5)")
    p.add_argument("--seconds", type=_positive_float, default=20.0,
                   help="loop the sound to at least this long (default 20)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    p.set_defaults(run=run_classify)

    p = commands.add_parser("weights", help="install or list pretrained weights")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = actions.add_parser("list", parents=[common], help="installed weights and their state")
    q.set_defaults(run=run_weights_list)
    q = actions.add_parser("install", parents=[common], help="install weights NAME")
    q.add_argument("name", help="weights name (see `audiostyle weights list`)")
    q.add_argument("--from", dest="source", metavar="PATH", default=None,
                   help="use this file instead of finding or downloading the original")
    q.add_argument("--force", action="store_true", help="reinstall even if verified")
    q.set_defaults(run=run_weights_install)
    return parser
