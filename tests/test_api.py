"""The public surface that must keep working across refactors: ``audiostyle.__all__``, the old
import paths of documented names, and every CLI command with its flags."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest

import audiostyle
from audiostyle.cli.parser import build_parser

PUBLIC = [
    "Audio", "AudioStyleError", "Evaluation", "Extractor", "Result", "Settings", "SynthesisError",
    "evaluate", "extractors", "get_extractor", "load_audio", "save_audio", "statistics_snr",
    "stats", "texture", "transfer",
]

#: Old module path → names users may have imported from it, and the module they live in now.
OLD_PATHS = {
    "audiostyle.audio": ("audiostyle.io.audio", ["Audio", "load_audio", "save_audio", "resample"]),
    "audiostyle.transfer": ("audiostyle.synthesis.pipeline", ["Result", "texture", "transfer"]),
    "audiostyle.stats": ("audiostyle.evaluation.style_match", ["stats", "statistics_snr"]),
    "audiostyle.evaluation": ("audiostyle.evaluation.evaluator", ["Evaluation", "Evaluator",
                                                                  "evaluate"]),
    "audiostyle.soundnet": ("audiostyle.networks.soundnet", ["classify", "categories"]),
    "audiostyle.extractors": ("audiostyle.extractors.registry", ["get_extractor", "available",
                                                                 "options"]),
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


@pytest.mark.parametrize("old", sorted(OLD_PATHS))
def test_old_import_paths_give_the_same_objects(old):
    new, names = OLD_PATHS[old]
    before, after = importlib.import_module(old), importlib.import_module(new)
    for name in names:
        assert getattr(before, name) is getattr(after, name), f"{old}.{name}"


def test_importing_old_module_paths_keeps_the_functions_of_the_same_name():
    """``import audiostyle.transfer`` must not turn ``audiostyle.transfer`` into a module."""
    code = ("import audiostyle.transfer, audiostyle.stats, audiostyle.audio, audiostyle.soundnet;"
            "import audiostyle as a;"
            "assert a.transfer.__module__ == 'audiostyle.synthesis.pipeline', a.transfer;"
            "assert a.stats.__module__ == 'audiostyle.evaluation.style_match', a.stats")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_command_and_flag_is_there():
    found = _commands(build_parser())
    assert set(found) == set(COMMANDS)
    for command, flags in COMMANDS.items():
        missing = set(flags.split()) - found[command]
        assert not missing, f"audiostyle {command}: lost {sorted(missing)}"


def test_module_entry_point_runs_the_cli():
    done = subprocess.run([sys.executable, "-m", "audiostyle.cli", "extractors"],
                          capture_output=True, text=True, check=True)
    assert "shallow:" in done.stdout and "mcdermott:" in done.stdout
