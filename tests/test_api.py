"""The public surface that must keep working across refactors: ``audiostyle.__all__``, what
the sub-packages export, and every CLI command with its flags."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import audiostyle
from audiostyle.cli.parser import build_parser

PUBLIC = [
    "Audio", "AudioStyleError", "Evaluation", "Extractor", "Result", "Settings", "StyleModel",
    "SynthesisError", "evaluate", "extractors", "get_extractor", "learn", "load_audio",
    "save_audio", "statistics_snr", "stats", "texture", "transfer",
]

#: Sub-package → names it exports, and the module they live in.
PACKAGE_EXPORTS = {
    "audiostyle.evaluation": ("audiostyle.evaluation.evaluator", ["Evaluation", "Evaluator",
                                                                  "evaluate"]),
    "audiostyle.extractors": ("audiostyle.extractors.registry", ["get_extractor", "available",
                                                                 "options", "DEFAULT_EXTRACTOR"]),
    "audiostyle.networks.soundnet": ("audiostyle.networks.soundnet.classification",
                                     ["classify"]),
    "audiostyle.models": ("audiostyle.models.model", ["StyleModel", "Stream", "Latency"]),
}

#: Every command and the flags it takes (more may be added, none may go).
COMMANDS = {
    "transfer": "--chunk-seconds --content-weight --device --domain --extractor --gl-iterations "
                "--init --iterations --lr --mono --optimizer --option --output --output-sr "
                "--quiet --refine --rhythm --rhythm-seconds --seed --sr --strength --style "
                "--style-weights --verbose -X -e -n -o -q -v",
    "texture": "--chunk-seconds --device --domain --extractor --gl-iterations --iterations --lr "
               "--mono --optimizer --option --output --output-sr --quiet --refine --rhythm "
               "--rhythm-seconds --seconds --seed --sr --style --style-weights --verbose -X -e "
               "-n -o -q -s -v",
    "evaluate": "--content --device --extractor --json --option --quiet --style --verbose -X -c "
                "-e -q -s -v",
    "grid": "--content --content-weight --device --domain --engine --extractor --gl-iterations "
            "--gpus-per-job --init --iterations --lr --optimizer --option --output --output-sr "
            "--quiet --ray-address --refine --rhythm --rhythm-seconds --seed --sr --strength "
            "--style --threads-per-job --verbose --workers -X -c -e -j -n -o -q -s -v",
    "batch": "--chunk-seconds --content-weight --device --domain --engine --extractor "
             "--gl-iterations --gpus-per-job --init --iterations --lr --mono --optimizer "
             "--option --output --output-sr --quiet --ray-address --refine --rhythm "
             "--rhythm-seconds --seed --sr --strength --threads-per-job --verbose --workers -X "
             "-e -j -n -o -q -v",
    "demo": "--chunk-seconds --device --domain --extractor --gl-iterations --iterations --lr "
            "--mono --optimizer --option --output --quiet --refine --seed --sr --verbose -X -e "
            "-n -o -q -v",
    "extractors": "--quiet --verbose -q -v",
    "stats": "--device --extractor --json --option --quiet --verbose -X -e -q -v",
    "classify": "--device --quiet --seconds --top --verbose -q -v",
    "weights list": "--quiet --verbose -q -v",
    "weights install": "--force --from --quiet --verbose -q -v",
    "learn": "--corpus --device --extractor --minutes --option --output --quiet --resume --seed "
             "--steps --strength --style-weights --verbose -X -e -o -q -v",
    "apply": "--output --quiet --seed --verbose -o -q -v",
    "info": "--json --quiet --verbose -q -v",
    "studio": "--data --host --max-seconds --max-upload-mb --no-browser --port --quiet --threads "
              "--verbose -q -v",
}


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> dict:
    """``{"command [action]": {flags}}`` of every leaf command of ``parser``."""
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(_commands(sub, (*prefix, name)))
    if prefix and not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions):
        found[" ".join(prefix)] = {s for a in parser._actions for s in a.option_strings}
    return found


def test_public_api_names():
    assert sorted(audiostyle.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert getattr(audiostyle, name) is not None


@pytest.mark.parametrize("package", sorted(PACKAGE_EXPORTS))
def test_packages_export_their_modules_objects(package):
    module, names = PACKAGE_EXPORTS[package]
    exported, defined = importlib.import_module(package), importlib.import_module(module)
    for name in names:
        assert getattr(exported, name) is getattr(defined, name), f"{package}.{name}"


def test_the_package_root_holds_only_the_api_and_its_helpers():
    """No module at the root but the API, the errors, private helpers and the demo sounds
    (the pipeline's stages live in their sub-packages)."""
    root = Path(audiostyle.__file__).parent
    modules = {path.name for path in root.glob("*.py")}
    assert modules == {"__init__.py", "errors.py", "_util.py", "demo.py"}


def test_every_command_and_flag_is_there():
    found = _commands(build_parser())
    assert set(found) == set(COMMANDS)
    for command, flags in COMMANDS.items():
        missing = set(flags.split()) - found[command]
        assert not missing, f"audiostyle {command}: lost {sorted(missing)}"


def test_module_entry_point_runs_the_cli():
    done = subprocess.run([sys.executable, "-m", "audiostyle.cli", "extractors"],
                          capture_output=True, text=True, check=True)
    assert "transfer defaults:" in done.stdout
    marked = [line for line in done.stdout.splitlines() if "(the default)" in line]
    assert [line.split(" ")[0] for line in marked] == [audiostyle.extractors.DEFAULT_EXTRACTOR]
