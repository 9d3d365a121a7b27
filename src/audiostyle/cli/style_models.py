"""The style-model commands: ``learn`` (style sounds → ``NAME.style``), ``apply`` (a model on
sounds), ``info`` (a model's header) and ``live`` (a model between the default input and output
devices). Each ``run_<command>(args)`` returns the exit status, as in :mod:`.commands`."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .._util import to_json
from ..errors import AudioStyleError
from ..io.audio import (
    OUTPUT_FORMATS,
    audio_info,
    check_output_folder,
    check_output_path,
    check_output_place,
    load_audio,
    save_audio,
)
from ..models.describe import INFO_RATE, db_text, describe
from ..models.model import SUFFIX, StyleModel, checkpoint_path
from .options import parse_options


def run_learn(args: argparse.Namespace) -> int:
    from ..models import learn

    inputs = (*args.styles, *([args.resume] if args.resume else []))
    out = check_model_path(args.output, inputs)
    checkpoint = checkpoint_path(out)
    check_output_place(checkpoint, tuple(args.styles), example=checkpoint.name)
    began = time.perf_counter()
    model = learn(args.styles, extractor=args.extractor, options=parse_options(args.option),
                  strength=args.strength, style_weights=args.style_weights,
                  minutes=args.minutes, steps=args.steps, corpus=args.corpus, seed=args.seed,
                  device=args.device, checkpoint=checkpoint, resume=args.resume,
                  progress=not args.quiet)
    with _saving(args):
        model.save(out)
    header = model.header
    losses = header["losses"]
    validation = losses["validation"].get("total_db")
    print(f"wrote {out} in {time.perf_counter() - began:.1f} s: a {header['extractor']} model "
          f"of {', '.join(s['name'] for s in header['styles'])}, {header['steps']} steps in "
          f"{header['minutes']:.1f} min of training; loss {db_text(losses['training'])}, "
          f"validation {db_text(validation)}; latency {model.latency(INFO_RATE).ms:.1f} ms at "
          f"{INFO_RATE} Hz")
    if header["interrupted"] or args.interrupts.count:
        print(f"audiostyle: interrupted after {header['steps']} steps: saved the model so far "
              f"to {out}; to go on training, run the same command with --resume "
              f"{checkpoint}", file=sys.stderr)
        return args.interrupts.exit_code
    checkpoint.unlink(missing_ok=True)  # the model is complete: its training state is not
    return 0                            # needed (see the guide: Style models)


def check_model_path(path: str | Path, inputs: tuple[str | Path, ...] = ()) -> Path:
    """Check before any work that a style model can be written at ``path``: its extension is
    ``.style``, and the rules of every output (:func:`check_output_place`)."""
    path = Path(path)
    if path.suffix.lower() != SUFFIX:
        raise AudioStyleError(f"{path}: a style model's file name ends in {SUFFIX}, e.g. "
                              f"{path.with_suffix(SUFFIX).name}")
    return check_output_place(path, inputs, example=f"model{SUFFIX}")


def run_apply(args: argparse.Namespace) -> int:
    model = StyleModel.load(args.model)
    plan = plan_outputs(args.model, args.contents, args.output)
    total = sum(info.seconds for _, _, info in plan)
    written: list[Path] = []
    bar = tqdm(total=round(total, 1), disable=args.quiet, desc="apply", unit="s",
               dynamic_ncols=True, bar_format="{desc}: {percentage:3.0f}%|{bar}| "
               "{n:.1f}/{total:.1f} s of audio [{elapsed}<{remaining}]")
    inputs = (args.model, *args.contents)
    try:
        for content, out, _ in plan:
            began = time.perf_counter()
            audio = load_audio(content)
            done = bar.n
            result = model.apply(audio, seed=args.seed, progress=lambda n, done=done, sr=audio.sr:
                                 _advance(bar, done + n / sr))
            with _saving(args):
                save_audio(out, result, inputs=inputs)
            written.append(out)
            seconds = time.perf_counter() - began
            bar.write(f"wrote {out} ({audio.seconds:.1f} s, {audio.sr} Hz, {audio.channels} "
                      f"channel{'s' * (audio.channels != 1)}) in {seconds:.1f} s (real-time "
                      f"factor {seconds / audio.seconds:.3f})", file=sys.stdout)
            if args.interrupts.count:  # a signal while it was written: stop after it
                break
    except KeyboardInterrupt:
        pass
    finally:
        bar.close()
    if args.interrupts.count and len(written) < len(plan):
        if not written:
            raise KeyboardInterrupt  # (main says that nothing was written)
        left = len(plan) - len(written)
        print(f"audiostyle: interrupted: kept the {len(written)} finished file"
              f"{'s' * (len(written) != 1)}; {left} content{'s' * (left != 1)} not applied, "
              "and no partial file written", file=sys.stderr)
    return args.interrupts.exit_code if args.interrupts.count else 0


def plan_outputs(model: str | Path, contents: list[str], output: str | Path
                 ) -> list[tuple[Path, Path, Any]]:
    """``(content, output file, its header)`` for each content, checked before any work: one
    content and ``output`` not a folder: ``output`` is the file; otherwise ``output`` is a
    folder and each output is named after its content (its stem, its extension when it is
    an output format, else ``.wav``)."""
    infos = [(Path(c), audio_info(c)) for c in contents]
    inputs = (model, *contents)
    folder = Path(output)
    if len(infos) == 1 and not folder.is_dir():
        content, info = infos[0]
        return [(content, check_output_path(output, inputs, channels=info.channels,
                                            sr=info.sr), info)]
    if folder.exists() and not folder.is_dir():
        raise AudioStyleError(f"{folder}: is a file; with several contents -o names a folder "
                              "(each output is named after its content)")
    check_output_folder(folder)
    plan, named = [], {}
    for content, info in infos:
        suffix = content.suffix.lower() if content.suffix.lower() in OUTPUT_FORMATS else ".wav"
        out = folder / f"{content.stem}{suffix}"
        if out in named:
            raise AudioStyleError(f"{content}: its output {out} would also be {named[out]}'s; "
                                  "apply them in two runs, or rename one")
        named[out] = content
        plan.append((content, check_output_path(out, inputs, channels=info.channels,
                                                sr=info.sr), info))
    return plan


def run_info(args: argparse.Namespace) -> int:
    model = StyleModel.load(args.model)
    latency = model.latency(INFO_RATE)
    if args.json:
        print(to_json({"file": str(args.model), "header": model.header,
                       "latency": {"sr": INFO_RATE, "samples": latency.samples,
                                   "ms": latency.ms}}))
        return 0
    print(f"{args.model}: a style model (format {model.header['format_version']})")
    for name, value in describe(model):
        print(f"  {name + ':':<11} {value}")
    return 0


@contextlib.contextmanager
def _saving(args: argparse.Namespace) -> Iterator[None]:
    """While a file is written a first Ctrl-C (or SIGTERM) only lets the write finish."""
    args.interrupts.saving = True
    try:
        yield
    finally:
        args.interrupts.saving = False


def _advance(bar: tqdm, n: float) -> None:
    bar.n = round(min(n, bar.total), 1)
    bar.refresh()
