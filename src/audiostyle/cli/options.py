"""Parsed command-line arguments → the keyword arguments of the API (synthesis settings, styles,
extractor options, engines)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import extractors
from ..errors import AudioStyleError
from ..synthesis.settings import FIELDS, Settings

if TYPE_CHECKING:
    from ..runs.engines import Engine


def style_paths(args: argparse.Namespace) -> list[str]:
    """The style files: the positional STYLE, then every ``--style``; one weight each."""
    paths = ([args.style] if args.style else []) + args.styles
    if not paths:
        raise AudioStyleError("no style: give STYLE or --style FILE")
    if args.style_weights is not None and len(args.style_weights) != len(paths):
        raise AudioStyleError(f"{len(args.style_weights)} --style-weights for {len(paths)} "
                              "styles; give one weight per style")
    return paths


def settings(args: argparse.Namespace) -> Settings:
    """The :class:`Settings` of the command's flags (each flag's destination is the field's
    name; a command without a flag keeps the default)."""
    return Settings(**{name: getattr(args, name) for name in FIELDS if hasattr(args, name)})


def make_engine(args: argparse.Namespace) -> Engine:
    """The engine chosen by ``--engine`` and its options; without ``--engine``, the Ray
    engine when a Ray option (``--ray-address``, ``--gpus-per-job``) is given, else the local
    one."""
    from ..runs.engines import LocalEngine

    ray_options = [flag for flag, given in (("--ray-address", args.ray_address),
                                            ("--gpus-per-job", args.gpus_per_job)) if given]
    engine = args.engine or ("ray" if ray_options else "local")
    if engine == "local":
        if ray_options:
            raise AudioStyleError(f"{' and '.join(ray_options)}: only the Ray engine takes "
                                  "them; leave out --engine local")
        return LocalEngine(args.workers or 1, args.threads_per_job)
    from ..runs.ray_engine import RayEngine

    threads = args.threads_per_job or 1
    return RayEngine(address=args.ray_address, threads=threads, gpus_per_job=args.gpus_per_job,
                     num_cpus=args.workers * threads if args.workers else None)


def extractor_options(pairs: Sequence[str], names: Sequence[str]) -> dict[str, dict]:
    """``-X [NAME.]KEY=VALUE`` for several extractors: a plain key goes to every extractor
    that has that option, ``NAME.KEY`` to extractor NAME only."""
    chosen: dict[str, dict] = {name: {} for name in names}
    for key, value in parse_options(pairs).items():
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


def synthesis_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of :func:`audiostyle.transfer` / :func:`audiostyle.texture`
    beyond the inputs and the styles' weights."""
    return {"extractor": args.extractor, "options": parse_options(args.option),
            "device": args.device, "progress": not args.quiet, "settings": settings(args)}


def parse_options(pairs: Sequence[str]) -> dict[str, str]:
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise AudioStyleError(f"--option {pair!r}: expected KEY=VALUE, e.g. n_fft=4096")
        parsed[key.strip().replace("-", "_")] = value.strip()
    return parsed
