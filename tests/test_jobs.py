"""Jobs: deterministic keys and names, JSON round trip, resumable runs."""

from __future__ import annotations

import dataclasses
import json

import pytest
import soundfile as sf

from audiostyle._util import slug
from audiostyle.errors import AudioStyleError, Interrupted
from audiostyle.runs import engines, jobs
from conftest import SR

TINY = {"iterations": 2, "refine_iterations": 0, "griffin_lim_iterations": 2}
OPTIONS = {"shallow": {"kernel_width": 5}}


@pytest.fixture
def files(tmp_path, melody, bongos):
    sf.write(tmp_path / "tune.wav", melody[: SR // 2], SR)
    sf.write(tmp_path / "drums.wav", bongos[: SR // 2], SR)
    return tmp_path / "tune.wav", tmp_path / "drums.wav"


def test_key_depends_on_file_contents_and_settings_not_names(files, tmp_path):
    content, style = files
    renamed = tmp_path / "renamed copy.wav"
    renamed.write_bytes(content.read_bytes())
    job = jobs.Job.make(content, style, "shallow", {"kernel_width": 5}, TINY)
    assert jobs.Job.make(renamed, style, "shallow", {"kernel_width": "5"}, TINY).key == job.key
    assert jobs.Job.make(content, style, "shallow", {"kernel_width": 5},
                         {**TINY, "seed": 1}).key != job.key
    assert jobs.Job.make(style, content, "shallow", {"kernel_width": 5}, TINY).key != job.key
    assert job.name == f"tune--drums--shallow-{job.key[:12]}"
    assert jobs.Job.from_dict(json.loads(json.dumps(job.as_dict()))) == job


@pytest.mark.parametrize("change", [{"strength": 0.7}, {"structure_weight": 0.5},
                                    {"loudness_slack_db": 3.0}, {"iterations": 7},
                                    {"domain": "waveform"}])
def test_a_new_extractor_default_makes_a_new_key(files, monkeypatch, change):
    """Outputs made under an extractor's old defaults are not taken for the new ones'."""
    from audiostyle.extractors.shallow import ShallowExtractor

    content, style = files
    before = jobs.Job.make(content, style, "shallow", {}).key
    defaults = ShallowExtractor.defaults
    plan = {k: v for k, v in change.items() if k in ("strength", "iterations", "domain")}
    changed = dataclasses.replace(defaults, transfer=dataclasses.replace(defaults.transfer,
                                                                         **plan),
                                  **{k: v for k, v in change.items() if k not in plan})
    monkeypatch.setattr(ShallowExtractor, "defaults", changed)
    assert jobs.Job.make(content, style, "shallow", {}).key != before


def test_names_are_safe_for_any_file_name():
    assert slug("<img src=x onerror=alert(1)>") == "img_src_x_onerror_alert_1"
    assert slug("../../etc/passwd") == "etc_passwd"
    assert slug("日本") == "sound"


def test_bad_inputs_are_user_errors(files, tmp_path):
    content, style = files
    with pytest.raises(AudioStyleError, match="no such file"):
        jobs.Job.make(tmp_path / "missing.wav", style, "shallow")
    with pytest.raises(AudioStyleError, match="unknown synthesis setting 'iteration'"):
        jobs.Job.make(content, style, "shallow", settings={"iteration": 3})


def test_finished_jobs_are_skipped_and_stale_records_rerun(files, tmp_path, monkeypatch):
    content, style = files
    todo = jobs.make_jobs([content, content], [style], ["shallow"], options=OPTIONS,
                          settings=TINY)
    assert len(todo) == 2 and todo[0].key == todo[1].key  # the same job twice runs once
    out = tmp_path / "out"
    first = engines.run_jobs(todo, out, measure=lambda job, path: {"bytes": path.stat().st_size},
                          progress=False)
    assert first[0] == first[1] and first[0]["iterations"] == 2
    audio = out / first[0]["audio"]
    assert sf.info(audio).frames == SR // 2
    assert first[0]["metrics"] == {"bytes": audio.stat().st_size}
    assert sorted(p.name for p in out.iterdir()) == [f"{todo[0].name}.json", audio.name]

    def fail(*args, **kwargs):
        raise AssertionError("a finished job ran again")

    monkeypatch.setattr(jobs, "transfer", fail)
    assert engines.run_jobs(todo, out, progress=False) == first[:1] * 2
    record = out / f"{todo[0].name}.json"
    record.write_text(record.read_text().replace(todo[0].key, "0" * 64))  # stale
    with pytest.raises(AssertionError, match="ran again"):
        engines.run_jobs(todo, out, progress=False)


def test_an_interrupted_job_saves_its_best_so_far_as_unfinished(files, tmp_path, monkeypatch):
    content, style = files
    job = jobs.Job.make(content, style, "shallow", {}, TINY)
    real = jobs.transfer

    def interrupted(*args, **kwargs):
        result = real(*args, **kwargs)
        next(iter(result.stages.values())).interrupted = True
        return result

    monkeypatch.setattr(jobs, "transfer", interrupted)
    out = tmp_path / "out"
    with pytest.raises(Interrupted) as stopped:
        engines.run_jobs([job], out, progress=False)
    stopped_job, record = stopped.value.partial
    assert stopped_job == job and record["interrupted"] is True
    assert json.loads((out / f"{job.name}.json").read_text()) == record
    assert sf.info(out / record["audio"]).frames == SR // 2
    assert jobs.read_record(job, out) is None  # not finished: the next run does it again
