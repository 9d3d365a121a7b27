"""The synthesis settings: one dataclass, and every place that takes settings derives from it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import soundfile as sf

import audiostyle
from audiostyle import extractors
from audiostyle.cli import main
from audiostyle.cli.options import settings as settings_of_args
from audiostyle.cli.parser import FLAGS, build_parser
from audiostyle.errors import AudioStyleError
from audiostyle.runs.batch import plan, read_manifest
from audiostyle.runs.jobs import Job
from audiostyle.synthesis.settings import DEFAULTS, FIELDS, Setting, Settings, describe
from conftest import SR


def _other_value(name: str, setting: Setting):
    """A valid value of the setting that is not its default."""
    default = DEFAULTS[name]
    if setting.kind is bool:
        return not default
    if setting.kind is str:
        return next(c for c in setting.choices if c != default)
    if setting.low is not None and setting.high is not None:
        value = (setting.low + setting.high) / 2
        return setting.kind(round(value)) if setting.kind is int else value
    base = default if default is not None else (setting.low or 0)
    return setting.kind(base + 3)


def _text(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


@pytest.fixture
def files(tmp_path, melody, bongos):
    sf.write(tmp_path / "c.wav", melody[:SR], SR)
    sf.write(tmp_path / "s.wav", bongos[:SR], SR)
    return tmp_path


@pytest.mark.parametrize("name", FIELDS)
def test_each_setting_reaches_the_cli_a_manifest_row_and_the_job_key(name, files):
    setting = dict(describe())[name]
    value = _other_value(name, setting)
    # the command line: its flag sets the field
    argv = ["transfer", "c.wav", "s.wav", "-o", "o.wav"]
    argv += [setting.flags[0]] if setting.kind is bool else [setting.flags[0], _text(value)]
    assert getattr(settings_of_args(build_parser().parse_args(argv)), name) == value
    assert FLAGS[name] == setting.flags[0]
    # a manifest row: its column sets the field of the row's job
    needed = {setting.needs: 1.0} if setting.needs else {}
    manifest = files / "jobs.csv"
    columns = ["content", "style", name, *needed]
    manifest.write_text(",".join(columns) + "\n" + ",".join(
        ["c.wav", "s.wav", _text(value), *map(str, needed.values())]) + "\n")
    [entry] = plan(read_manifest(manifest), files, extractor="shallow", options={},
                   settings=Settings())
    assert entry.error == ""
    assert getattr(entry.job.synthesis_settings, name) == value
    # the job key: the value changes it
    plain = Job.make(files / "c.wav", files / "s.wav", "shallow", settings=needed)
    assert entry.job.key != plain.key
    assert entry.job.synthesis_settings == Settings.of(needed, **{name: value})


def test_defaults_keep_the_keys_jobs_had():
    """The command line used to give jobs exactly these settings at their defaults (and
    strength, rhythm only when set): finished outputs keep their names."""
    assert Settings().key_items() == (("content_weight", 0.0), ("griffin_lim_iterations", 100),
                                      ("init", "content"), ("optimizer", "lbfgs"), ("seed", 0))
    rhythm = dict(Settings(rhythm_weight=0.5).key_items())
    assert rhythm["rhythm_weight"] == 0.5 and rhythm["rhythm_seconds"] == 2.0
    assert "rhythm_seconds" not in dict(Settings(rhythm_seconds=1.0).key_items())
    assert "strength" not in dict(Settings().key_items())  # None: the extractor's default
    assert dict(Settings(strength=1.0).key_items())["strength"] == 1.0
    assert dict(Settings(strength=0.5).key_items())["strength"] == 0.5


@pytest.mark.parametrize("name,value,message", [
    ("iterations", 0, "iterations must be between 1 and 1000000, got 0"),
    ("iterations", 10**20, "iterations must be between 1 and 1000000, got "
                           "100000000000000000000"),
    ("seed", 1e30, "seed must be between 0 and 4294967295, got 1e+30"),
    ("seed", -1, "seed must be between 0 and 4294967295, got -1"),
    ("learning_rate", 10**400, f"learning_rate must be a finite number, got {10**400}"),
    ("strength", 1.5, "strength must be between 0 and 1, got 1.5"),
    ("chunk_seconds", -1.0, "chunk_seconds must be a positive number, got -1.0"),
    ("content_weight", float("nan"), "content_weight must be a finite number, got nan"),
    ("seed", 1.5, "seed must be an integer, got 1.5"),
    ("domain", "time", "domain 'time' is not one of spectrogram, waveform, subbands"),
    ("output_sr", 100, "output_sr must be between 8000 and 192000, got 100"),
    ("mono", "yes", "mono must be True or False, got 'yes'"),
])
def test_bad_values_name_the_parameter(name, value, message):
    with pytest.raises(AudioStyleError) as caught:
        Settings(**{name: value})
    assert str(caught.value) == message
    # the command line names its flag instead
    assert caught.value.naming(FLAGS).startswith(FLAGS[name] + " ")


def test_unknown_setting_is_refused_with_a_suggestion():
    with pytest.raises(AudioStyleError) as caught:
        Settings.of(iteration=3)
    assert str(caught.value).startswith("unknown synthesis setting 'iteration'. Did you mean "
                                        "'iterations'?")


def test_arguments_are_checked_before_any_audio_is_read(tmp_path):
    missing = str(tmp_path / "nope.wav")  # reading it would be the first error otherwise
    for values, message in [({"iterations": 0}, "iterations must be between 1 and"),
                            ({"domain": "spectrogram"},
                             "optimises in the waveform or subbands domain, not domain "
                             "spectrogram"),
                            ({"rhythm_weight": 1.0}, "the rhythm term needs feature maps"),
                            ({"nope": 1}, "unknown synthesis setting 'nope'")]:
        with pytest.raises(AudioStyleError, match=message):
            audiostyle.transfer(missing, missing, extractor="mcdermott", **values)
    with pytest.raises(AudioStyleError, match="Unknown device 'tpu'"):
        audiostyle.transfer(missing, missing, device="tpu")


def test_texture_refuses_the_settings_about_a_content(bongos):
    for name in ("init", "content_weight", "strength"):
        setting = dict(describe())[name]
        assert setting.transfer_only
        with pytest.raises(AudioStyleError, match=f"{name} does not apply to a texture"):
            audiostyle.texture(bongos, seconds=1, sr=SR,
                               **{name: _other_value(name, setting)})


def test_settings_object_and_keywords_give_the_same_result(melody, bongos):
    quick = {"iterations": 2, "refine_iterations": 1, "griffin_lim_iterations": 4,
             "seed": 3}
    net = {"extractor": "shallow"}
    by_keywords = audiostyle.transfer(melody[:SR], bongos[:SR], sr=SR, **net, progress=False,
                                      **quick)
    by_object = audiostyle.transfer(melody[:SR], bongos[:SR], sr=SR, **net, progress=False,
                                    settings=Settings(**quick))
    np.testing.assert_array_equal(by_keywords.audio.samples, by_object.audio.samples)


def test_cli_error_names_the_flag(files, capsys):
    code = main(["transfer", str(files / "c.wav"), str(files / "s.wav"), "-o",
                 str(files / "o.wav"), "-e", "mcdermott", "--domain", "spectrogram", "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "not --domain spectrogram" in err and "\n" not in err
    assert not (files / "o.wav").exists()


#: Small options per extractor: the default plans with cheap networks.
SMALL = {"mcdermott": {"bands": 8, "mod_bands": 6},
         "shallow": {"n_fft": 512, "hop_length": 128},
         "shallow-multi": {"widths": (2, 8), "n_fft": 512, "hop_length": 128},
         "soundnet": {"layers": ("conv1", "conv2", "conv3")}, "vgg-mtt": {"layers": ("pool1",)},
         "vgg19": {"layers": ("relu1_1",), "downsample": 4}}


@pytest.mark.parametrize("name", extractors.available())
def test_a_transfer_runs_its_extractors_plan(name, melody, bongos):
    """What a transfer leaves to the extractor comes from its defaults' transfer plan (the
    studio's jobs are that plan too, test_studio.py): the first stage's domain and iteration
    budget (seen by an observer that then stops it) and the settings it reports."""
    plan = extractors.extractor_class(name).defaults.transfer
    seen = []

    def stop(progress) -> None:
        seen.append((progress.stage, progress.iterations))
        raise KeyboardInterrupt

    seconds = 1.0 if name != "vgg-mtt" else 3.0
    try:
        result = audiostyle.transfer(melody[: int(seconds * SR)], bongos[: int(seconds * SR)],
                                     sr=SR, extractor=name, options=SMALL[name],
                                     griffin_lim_iterations=4, progress=False, observer=stop)
    except AudioStyleError as exc:
        if "not installed" not in str(exc):
            raise
        pytest.skip(f"{name}: {exc}")
    assert seen == [(plan.domain, plan.iterations)] and result.interrupted
    settled = result.settings
    assert (settled.domain, settled.iterations, settled.refine_iterations, settled.strength) \
        == (plan.domain, plan.iterations, plan.refine_iterations, plan.strength)
    assert settled == Settings(griffin_lim_iterations=4).settled(plan)


def test_the_refinement_of_the_plan_runs_after_the_spectrogram(melody, bongos):
    plan = extractors.extractor_class("shallow").defaults.transfer
    assert plan.domain == "spectrogram" and plan.refine_iterations > 0
    result = audiostyle.transfer(melody[: SR // 2], bongos[: SR // 2], sr=SR,
                                 extractor="shallow", options=SMALL["shallow"],
                                 griffin_lim_iterations=4, progress=False)
    assert {stage: trace.iterations for stage, trace in result.stages.items()} == {
        "spectrogram": plan.iterations, "waveform": plan.refine_iterations}


def test_settled_keeps_what_is_given_and_refines_only_the_spectrogram():
    plan = extractors.extractor_class("shallow").defaults.transfer
    assert Settings(iterations=7, strength=0.2).settled(plan).as_dict() == {
        **Settings().as_dict(), "domain": "spectrogram", "iterations": 7,
        "refine_iterations": plan.refine, "strength": 0.2}
    waveform = Settings(domain="waveform", refine_iterations=9).settled(plan)
    assert (waveform.domain, waveform.iterations, waveform.refine_iterations) == (
        "waveform", plan.iterations, 0)
    texture = Settings().settled(extractors.extractor_class("mcdermott").defaults.texture)
    assert (texture.domain, texture.iterations, texture.strength) == ("waveform", 300, None)


def test_every_setting_is_documented():
    for name, setting in describe():
        assert setting.help and setting.flags[0].startswith("--"), name
        field = next(f for f in dataclasses.fields(Settings) if f.name == name)
        assert field.default == DEFAULTS[name]
