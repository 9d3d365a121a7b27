"""The argument parser of every command, with one-line errors."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, NoReturn

from .. import extractors
from ..errors import AudioStyleError
from ..synthesis.settings import DEFAULTS, Setting, describe
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
from .style_models import run_apply, run_info, run_learn


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (usage stays available with --help)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"audiostyle: error: {message} (see `{self.prog} --help`)\n")


#: The command line's name for each parameter that a library message may name (``naming``).
FLAGS = {
    **{name: setting.flags[0] for name, setting in describe()},
    "device": "--device", "extractor": "--extractor", "options": "--option",
    "style_weights": "--style-weights", "seconds": "--seconds", "engine": "--engine",
    "threads": "--threads-per-job", "gpus_per_job": "--gpus-per-job",
    "minutes": "--minutes", "steps": "--steps", "corpus": "--corpus", "resume": "--resume",
}


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {value}")
    return value


def _gpus(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of GPUs, got {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _setting_type(name: str, setting: Setting) -> Callable[[str], Any]:
    """argparse's ``type`` for a numeric setting (its kind: argparse reports text that is
    not one, then its range) or a text one with a prefix (its choices or prefix)."""
    def parse(text: str) -> Any:
        try:
            return setting.check(name, setting.kind(text))
        except AudioStyleError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix(f"{name} ")) from None

    parse.__name__ = setting.kind.__name__  # "invalid int value: 'x'"
    return parse


def _add_settings(group: argparse._ArgumentGroup, *, texture: bool) -> None:
    """One flag per :class:`Settings` field (``texture``: not those about a content); its
    destination is the field's name."""
    for name, setting in describe():
        if texture and setting.transfer_only:
            continue
        default = DEFAULTS[name]
        shown = "" if default is None or default is False else f" (default {default:g})" \
            if isinstance(default, float) else f" (default {default})"
        if setting.kind is bool:
            group.add_argument(*setting.flags, dest=name, action="store_true",
                               help=setting.help)
        elif setting.kind is str and setting.prefix:  # (argparse's choices would refuse it)
            group.add_argument(*setting.flags, dest=name, type=_setting_type(name, setting),
                               default=default, metavar=setting.metavar,
                               help=setting.help + shown)
        elif setting.kind is str:
            group.add_argument(*setting.flags, dest=name, choices=setting.choices,
                               default=default, help=setting.help + shown)
        else:
            group.add_argument(*setting.flags, dest=name, type=_setting_type(name, setting),
                               default=default,
                               metavar=setting.metavar or ("N" if setting.kind is int else "X"),
                               help=setting.help + shown)


def _synthesis_parser(*, many: bool, texture: bool = False,
                      extractor: str = extractors.DEFAULT_EXTRACTOR) -> argparse.ArgumentParser:
    """The extractor (``extractor`` by default), where it runs and every synthesis setting;
    ``many``: several extractors (``--extractor A B``); ``texture``: no settings about a
    content."""
    synth = _Parser(add_help=False)
    group = synth.add_argument_group("synthesis")
    names = ", ".join(extractors.available())
    if many:
        group.add_argument("--extractor", "-e", nargs="+", default=[extractor], metavar="NAME",
                           help=f"feature extractors, one page row each: {names} "
                                f"(default: {extractor})")
    else:
        group.add_argument("--extractor", "-e", default=extractor,
                           help=f"feature extractor: {names} (default: {extractor})")
    group.add_argument("--option", "-X", action="append", default=[],
                       metavar="[NAME.]KEY=VALUE" if many else "KEY=VALUE",
                       help="extractor option, repeatable (see `audiostyle extractors`)"
                            + ("; KEY alone applies to every extractor that has it" if many
                               else ""))
    group.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    _add_settings(group, texture=texture)
    return synth


def _blend_parser() -> argparse.ArgumentParser:
    """Several styles (``transfer``, ``texture``)."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("styles")
    group.add_argument("--style", dest="styles", action="append", default=[],
                       metavar="FILE", help="another style to blend in, repeatable")
    group.add_argument("--style-weights", type=float, nargs="+", default=None,
                       metavar="W", help="one weight per style, STYLE first (default "
                       "equal): the target is the weighted mix of their statistics")
    return parent


def _engine_parser() -> argparse.ArgumentParser:
    """Where jobs run (``grid``, ``batch``)."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("engine")
    group.add_argument("--engine", choices=("local", "ray"), default=None,
                       help="run jobs on this machine (default) or on Ray (needs "
                            "audiostyle[ray]; the default with --ray-address or "
                            "--gpus-per-job)")
    group.add_argument("--workers", "-j", type=_positive_int, default=None, metavar="N",
                       help="jobs at once: local worker processes (default 1), or the CPUs of "
                            "a local Ray instance ÷ threads per job (default: all)")
    group.add_argument("--threads-per-job", type=_positive_int, default=None, metavar="N",
                       help="torch threads (Ray: CPUs) per job (default: local cores ÷ "
                            "workers; Ray 1); results are bit-identical for equal counts")
    group.add_argument("--ray-address", default=None, metavar="ADDRESS",
                       help="run on this Ray cluster (HOST:6379, ray://HOST:10001 or auto; "
                            "implies --engine ray); default: a local Ray instance")
    group.add_argument("--gpus-per-job", type=_gpus, default=0.0, metavar="G",
                       help="GPUs each Ray task asks for (e.g. 1 or 0.5; implies --engine "
                            "ray; default 0)")
    return parent


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bar or notes")
    common.add_argument("-v", "--verbose", action="store_true", help="more detail")

    synth = _synthesis_parser(many=False)
    blend = _blend_parser()
    parser = _Parser(
        prog="audiostyle", description="Audio style transfer and sound texture synthesis.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = commands.add_parser("transfer", parents=[common, synth, blend],
                            help="re-make CONTENT with the texture of STYLE")
    p.add_argument("content", help="content sound file")
    p.add_argument("style", nargs="?", help="style sound file (or --style, repeatable)")
    p.add_argument("-o", "--output", required=True, help="output file (.wav .flac .ogg .mp3)")
    p.set_defaults(run=run_transfer)

    p = commands.add_parser("texture", parents=[common, _synthesis_parser(many=False,
                                                                          texture=True), blend],
                            help="synthesise a new texture with the statistics of STYLE")
    p.add_argument("style", nargs="?", help="style sound file (or --style, repeatable)")
    p.add_argument("-o", "--output", required=True, help="output file (.wav .flac .ogg .mp3)")
    p.add_argument("--seconds", "-s", type=_positive_float, default=10.0,
                   help="length of the result (default 10)")
    p.set_defaults(run=run_texture)

    p = commands.add_parser(
        "evaluate", parents=[common], help="metrics of results: style match, content kept, "
        "copy check, sanity",
        description="Score OUTPUT files against the style (and content): statistics SNR to "
        "the style under each extractor (dB, higher = closer; the content's own SNR and the "
        "gain are shown), chroma / onset / envelope correlation with the content (1 = kept), "
        "note F1 of a Basic Pitch transcription against the content's (onsets within 50 ms, "
        "pitch within 50 cents; needs `audiostyle weights install basic-pitch`), "
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
        "grid", parents=[common, _synthesis_parser(many=True), _engine_parser()],
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
    p.set_defaults(run=run_grid)

    p = commands.add_parser(
        "batch", parents=[common, synth, _engine_parser()],
        help="run the transfers listed in a manifest (CSV or JSON Lines), resumably",
        description="Run every row of MANIFEST (CSV with a header row, or .jsonl): columns "
        "content, style, and optionally extractor, options (KEY=VALUE;KEY=VALUE) and synthesis "
        "settings by their Python names (iterations, seed, working_sr, refine_iterations, ...); "
        "the options below are the defaults of empty cells. Relative paths are relative to the "
        "manifest. Outputs are named from the inputs' contents and settings, so running again "
        "skips finished jobs; failures are recorded in DIR/results.csv and do not stop the "
        "others. Exit status 2 when rows were refused (a user mistake: a missing file, a bad "
        "value), 1 when a job failed otherwise (a full disk, a diverged optimisation).")
    p.add_argument("manifest", help="CSV or JSON Lines file of jobs")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    p.set_defaults(run=run_batch)

    # the demo shows the extractor with the best balance of style and melody on the frontier
    p = commands.add_parser("demo", parents=[common, _synthesis_parser(many=False,
                                                                       extractor="mcdermott")],
                            help="synthesise demo sounds and transfer between them")
    p.add_argument("-o", "--output", default="demo", help="output folder (default ./demo)")
    p.set_defaults(run=run_demo)

    _add_model_commands(commands, common)

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

    from ..studio.command import add_parser as add_studio
    add_studio(commands, [common])
    return parser


def _add_model_commands(commands: argparse._SubParsersAction, common: argparse.ArgumentParser
                        ) -> None:
    """``learn``, ``apply`` and ``info`` (style models; docs/guide.md, *Style models*)."""
    from ..models.learn import DEFAULT_EXTRACTOR as default
    from ..models.learn import DEFAULT_MINUTES

    settings = dict(describe())
    p = commands.add_parser(
        "learn", parents=[common], help="learn a style model from STYLE (then `apply` it to "
        "any sound, faster than real time)",
        description="Train a small network, on a corpus of content sounds, to do what "
        "`transfer` does for STYLE: its output's statistics under the extractor match the "
        "style's while the structure term holds the content. It first synthesises a texture "
        "of the style, which the model plays along, re-timed by the content's onsets (part "
        "of the budget). Written to NAME.style; a "
        "checkpoint NAME.checkpoint.style beside it every few minutes (kept when the run is "
        "interrupted, removed when it ends: --resume goes on from it).")
    p.add_argument("styles", nargs="+", metavar="STYLE", help="style sound file(s) to blend")
    p.add_argument("-o", "--output", required=True, metavar="NAME.style",
                   help="the model file to write")
    p.add_argument("--extractor", "-e", default=default,
                   help=f"whose statistics the model matches: mcdermott or shallow "
                        f"(default: {default}; see the guide for the others)")
    p.add_argument("--option", "-X", action="append", default=[], metavar="KEY=VALUE",
                   help="extractor option, repeatable (see `audiostyle extractors`)")
    p.add_argument("--strength", type=_setting_type("strength", settings["strength"]),
                   default=None, metavar="S", help="0..1, as for `transfer` (default: the "
                   "extractor's)")
    p.add_argument("--style-weights", type=float, nargs="+", default=None, metavar="W",
                   help="one weight per style (default equal)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=_positive_float, default=None, metavar="M",
                        help=f"minutes of training (default {DEFAULT_MINUTES:g})")
    budget.add_argument("--steps", type=_positive_int, default=None, metavar="N",
                        help="training steps instead of minutes")
    p.add_argument("--corpus", default=None, metavar="DIR",
                   help="a folder of your own sounds to learn on (any format and length; "
                        "default: a built-in corpus synthesised by code)")
    p.add_argument("--seed", type=_setting_type("seed", settings["seed"]), default=0,
                   metavar="N", help="seeds the network, the crops and the noise (default 0)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")
    p.add_argument("--resume", default=None, metavar="CHECKPOINT",
                   help="go on from a checkpoint (the same styles, weights and extractor)")
    p.set_defaults(run=run_learn)

    p = commands.add_parser(
        "apply", parents=[common], help="apply a style model to sound files",
        description="Run a learned style on each CONTENT (any length, rate and channels: "
        "the output has the content's). With several contents, -o names a folder and each "
        "output is named after its content.")
    p.add_argument("model", metavar="NAME.style", help="the style model")
    p.add_argument("contents", nargs="+", metavar="CONTENT", help="sound file(s)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output file (.wav .flac .ogg .mp3), or folder for several contents")
    p.add_argument("--seed", type=_setting_type("seed", settings["seed"]), default=0,
                   metavar="N", help="seeds the model's noise (default 0)")
    p.set_defaults(run=run_apply)

    p = commands.add_parser("info", parents=[common],
                            help="what a style model is: its header and latency")
    p.add_argument("model", metavar="NAME.style", help="the style model")
    p.add_argument("--json", action="store_true", help="the whole header as JSON")
    p.set_defaults(run=run_info)
