"""The studio's server through an in-process test client: uploads, jobs and their events,
snapshots, cancel, results on disk, and the access rules."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import signal
import time

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("starlette", reason="the studio extra is missing: pip install -e '.[studio]'")
from starlette.testclient import TestClient

from audiostyle import AudioStyleError, Settings, extractors
from audiostyle.studio.app import create_app
from audiostyle.studio.config import StudioConfig
from audiostyle.studio.jobspec import PRESETS
from audiostyle.studio.worker import MEASURE_STYLE_SECONDS, PER_STYLE_SECOND
from conftest import NASTY_NAME, SR

LOCAL = "http://127.0.0.1:7860"
#: A job that takes about a second (the shallow net, infinitely many filters: its cheapest
#: form; few iterations).
TINY = {"extractor": "shallow", "options": {}, "iterations": 6, "refine_iterations": 3,
        "seed": 1}


def _wav(samples: np.ndarray, sr: int = SR, fmt: str = "WAV") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples.T if samples.ndim == 2 else samples, sr, format=fmt)
    return buffer.getvalue()


def _client(data, **settings) -> TestClient:
    config = StudioConfig(data=data, threads=1, **settings).with_token()
    return TestClient(create_app(config), base_url=LOCAL if config.local else
                      f"http://{config.host}:7860")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return tmp_path_factory.mktemp("studio")


@pytest.fixture(scope="module")
def client(data):
    with _client(data, max_seconds=20, max_queue=2) as client:
        yield client


@pytest.fixture(scope="module")
def sounds(client, melody, bongos):
    """A stereo 44.1 kHz content and a mono FLAC style, uploaded."""
    import soxr

    left = soxr.resample(melody[:SR], SR, 44100)
    stereo = np.stack([left, 0.5 * left])
    content = _upload(client, "tune.wav", _wav(stereo, 44100))
    style = _upload(client, NASTY_NAME.replace(".wav", ".flac"), _wav(bongos[:SR], fmt="FLAC"))
    return content, style


def _upload(client, name, data, status=201):
    response = client.post("/api/inputs", params={"name": name}, content=data)
    assert response.status_code == status, response.text
    return response.json()


def _events(client, ident) -> list[dict]:
    """Every event of a job, read from its event stream (which ends with the job)."""
    response = client.get(f"/api/jobs/{ident}/events")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = []
    for block in response.text.replace("\r\n", "\n").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line
                      and not line.startswith(":"))
        if "data" in fields:
            event = json.loads(fields["data"])
            assert event["event"] == fields["event"] and str(event["seq"]) == fields["id"]
            events.append(event)
    return events


def _submit(client, content, style, **settings):
    body = {"content": content["id"], "styles": [{"id": style["id"], "weight": 1}], **TINY,
            **settings}
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_an_upload_is_decoded_and_shown(client, sounds):
    content, style = sounds
    assert (content["seconds"], content["sr"], content["channels"]) == (1.0, 44100, 2)
    assert style["name"] == NASTY_NAME.replace(".wav", ".flac") and style["channels"] == 1
    played, sr = sf.read(io.BytesIO(client.get(content["audio"]).content))
    assert sr == 44100 and played.shape == (44100, 2)
    picture = client.get(content["spectrogram"])
    assert picture.headers["content-type"] == "image/png" and picture.content[:4] == b"\x89PNG"
    # the name is kept for display only: never a path
    stored = list((client.app.app.state.store.root / "inputs" / style["id"]).iterdir())
    assert sorted(p.name for p in stored) == ["input.json", "play.wav", "sound.flac",
                                              "spectrogram.png"]


def test_bad_uploads_get_the_loaders_one_line_message(client, data, melody):
    before = set((data / "inputs").iterdir())
    text = client.post("/api/inputs", params={"name": "notes.wav"}, content=b"just text\n")
    assert text.status_code == 400
    assert text.json()["error"].startswith("notes.wav: not an audio file")
    empty = client.post("/api/inputs", params={"name": "../../etc/passwd"}, content=b"")
    assert empty.json()["error"] == "passwd: file is empty (0 bytes)"
    long = client.post("/api/inputs", params={"name": "long.wav"},
                       content=_wav(np.zeros(SR * 21, np.float32)))
    assert long.status_code == 400 and "longer than this studio takes (20 s" in long.json()["error"]
    truncated = _wav(melody[:SR])[:-20000]
    shown = _upload(client, "cut.wav", truncated)
    assert any("cut.wav: file is truncated" in note for note in shown["notes"])
    assert set((data / "inputs").iterdir()) - before == {data / "inputs" / shown["id"]}


def test_an_upload_over_the_size_limit_is_refused(tmp_path, melody):
    with _client(tmp_path, max_upload_mb=0.01) as small:
        response = small.post("/api/inputs", params={"name": "big.wav"},
                              content=_wav(melody[:SR]))
        assert response.status_code == 413
        assert response.json()["error"] == ("big.wav: larger than this studio takes (0.01 MB; "
                                            "see --max-upload-mb)")
        assert not any((tmp_path / "inputs").iterdir())


def _declaring(flac: bytes, frames: int) -> bytes:
    """``flac`` with STREAMINFO's total sample count (36 bits at bit 108 of the block that
    follows "fLaC" and its 4-byte header) set to ``frames``: a header that promises more."""
    data = bytearray(flac)
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0  # STREAMINFO first
    start = 8 + 13  # the byte holding its top 4 bits
    value = int.from_bytes(data[start:start + 5], "big")
    value = (value & ~(2**36 - 1)) | frames
    data[start:start + 5] = value.to_bytes(5, "big")
    return bytes(data)


def test_an_upload_is_sized_from_its_header_before_decoding(client, data):
    """A small FLAC that declares 300 s of 8 channels at 96 kHz (2.4 GB decoded): refused by
    its header; so are more channels than the studio keeps, or a rate it does not take."""
    before = set((data / "inputs").iterdir())
    short = _wav(np.zeros((8, 9600), np.float32), 96000, "FLAC")
    assert sf.info(io.BytesIO(short)).frames == 9600
    big = _declaring(short, 300 * 96000)
    assert sf.info(io.BytesIO(big)).duration == 300.0
    refused = client.post("/api/inputs", params={"name": "big.flac"}, content=big)
    assert refused.status_code == 400
    assert refused.json()["error"] == ("big.flac: 300.0 s is longer than this studio takes "
                                       "(20 s; see --max-seconds)")
    wide = client.post("/api/inputs", params={"name": "wide.wav"},
                       content=_wav(np.zeros((9, 100), np.float32)))
    assert wide.json()["error"] == "wide.wav: 9 channels are more than this studio takes (8)"
    assert set((data / "inputs").iterdir()) == before


def test_request_bodies_are_bounded(client, sounds):
    content, style = sounds
    body = {"content": content["id"], "styles": [{"id": style["id"]}], **TINY,
            "padding": "x" * 2**21}
    for route in ("/api/jobs", "/api/estimate", "/api/export"):
        answer = client.post(route, json=body)
        assert answer.status_code == 413 and answer.json()["errors"] == {"request": "too large"}


@pytest.mark.parametrize("field,value", [
    ("styles", 5), ("styles", {"id": "x"}), ("preset", ["x"]), ("preset", {}),
    ("seed", 1e30), ("seed", -1), ("iterations", 10**20), ("refine_iterations", [1]),
])
def test_fields_of_the_wrong_type_or_range_are_field_errors(client, sounds, field, value):
    content, style = sounds
    body = {"content": content["id"], "styles": [{"id": style["id"]}], **TINY, field: value}
    for route in ("/api/jobs", "/api/estimate"):
        answer = client.post(route, json=body)
        assert answer.status_code == 400, answer.text
        assert set(answer.json()["errors"]) == {field}
    export = client.post("/api/export", json={"ids": 5})
    assert export.status_code == 400 and export.json()["errors"] == {
        "ids": "expected a list of result ids"}


def test_bad_settings_are_messages_per_field(client, sounds):
    content, style = sounds
    body = {"content": content["id"], "styles": [{"id": style["id"]}], "extractor": "shallow",
            "strength": 2, "iterations": 0, "seed": "x", "options": {"filterz": "3"},
            "preset": "fast"}
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"strength", "iterations", "seed", "options", "preset"}
    assert "between 0 and 1" in errors["strength"]
    for field, value in [("strength", 2), ("iterations", 0)]:  # the library's own check
        with pytest.raises(AudioStyleError) as caught:
            Settings(**{field: value})
        assert errors[field] == str(caught.value).replace("`", "")
    assert "no option 'filterz'" in errors["options"]
    short = _upload(client, "click.wav", _wav(np.full(200, 0.5, np.float32)))
    response = client.post("/api/jobs", json={**body, "strength": 1, "iterations": 2,
                                              "seed": 0, "options": {}, "preset": "preview",
                                              "content": short["id"]})
    assert "click.wav: too short for the shallow extractor" in response.json()["errors"]["content"]


def test_the_expected_time_comes_from_a_measurement_on_this_machine(client, sounds):
    content, style = sounds
    body = {"content": content["id"], "styles": [{"id": style["id"]}], "extractor": "shallow",
            "options": {"form": "drawn", "filters": "96"}}
    first = client.post("/api/estimate", json=body).json()
    assert first["measuring"] is True and first["seconds"] is None
    assert (first["iterations"], first["refine_iterations"]) == (120, 40)
    deadline = time.monotonic() + 60
    while (answer := client.post("/api/estimate", json=body).json())["seconds"] is None:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    rates = client.app.app.state.runner.rates["shallow filters=96 form=drawn"]
    # 1 s of two channels: 120 spectrogram and 40 waveform iterations at the measured rates,
    # and the evaluation and pictures (timed after the measurement's few iterations, on the
    # result and twice its length: a part per second and a part per job)
    assert 0 <= rates["rest"] < 10 and 0 <= rates["rest per job"] < 10
    assert rates["rest"] + rates["rest per job"] > 0
    rest = 2 * rates["rest"] + rates["rest per job"]
    assert answer["seconds"] == pytest.approx(2 * (120 * rates["spectrogram"]
                                                   + 40 * rates["waveform"]) + rest)
    best = client.post("/api/estimate", json={**body, "preset": "best"}).json()
    assert best["seconds"] == pytest.approx(2 * answer["seconds"] - rest)
    # a drawn net summarises the style once: its iterations do not grow with the style
    assert not any(name.endswith(PER_STYLE_SECOND) for name in rates)


def test_the_estimate_follows_the_length_of_the_styles(client, sounds, bongos):
    """An iteration whose cost grows with the style's length (the infinite random nets compare
    every frame with the style's) is measured with a second, longer style, and estimated for
    the length of the job's styles: the rate at MEASURE_STYLE_SECONDS plus its growth per
    second of style beyond it."""
    content, style = sounds
    runner = client.app.app.state.runner
    body = {"content": content["id"], "styles": [{"id": style["id"]}], "extractor": "shallow",
            "options": {"kernel_width": "7"}}
    deadline = time.monotonic() + 60
    while client.post("/api/estimate", json=body).json()["seconds"] is None:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    key = "shallow kernel_width=7"
    measured = runner.rates[key]
    assert {f"{stage}{PER_STYLE_SECOND}" for stage in ("spectrogram", "waveform")} <= set(
        measured)
    assert all(rate >= 0 for rate in measured.values())
    # the estimate's arithmetic, on rates set here
    runner.rates[key] = {"spectrogram": 0.01, f"spectrogram{PER_STYLE_SECOND}": 0.001,
                         "waveform": 0.02, "rest": 0.5}
    long = _upload(client, "long.wav", _wav(np.tile(bongos, 8)))  # 16 s
    lengths = [runner.store.input(i).info["seconds"] for i in (style["id"], long["id"])]
    assert lengths[1] > MEASURE_STYLE_SECONDS > lengths[0]
    answers = [client.post("/api/estimate", json={**body, "styles": styles}).json()
               for styles in ([{"id": style["id"]}], [{"id": style["id"]}, {"id": long["id"]}])]
    for answer, seconds in zip(answers, (lengths[0], sum(lengths)), strict=True):
        spectrogram = max(0.01 + 0.001 * (seconds - MEASURE_STYLE_SECONDS), 0.001)
        assert answer["seconds"] == pytest.approx(2 * (  # 1 s of two channels
            answer["iterations"] * spectrogram + answer["refine_iterations"] * 0.02 + 0.5))
    assert answers[1]["seconds"] > answers[0]["seconds"]


def test_every_finished_job_updates_the_expected_time(client, sounds):
    """A finished transfer's own seconds per iteration (per second of each channel) take
    three quarters of its extractor's rates, so the next estimate follows the machine as it
    runs; the rates are kept in the data folder."""
    content, style = sounds
    runner = client.app.app.state.runner
    key = "shallow"  # (TINY's options: none)
    before = {"spectrogram": 1.0, "waveform": 3.0}
    per_job = 0.01  # (what the measurement found a job does once; a job does not change it)
    runner.rates[key] = {**before, "rest per job": per_job}
    job = _submit(client, content, style)
    record = _events(client, job["id"])[-1]["record"]
    work = 1.0 * 2  # 1 s of two channels
    for name, stage in record["stages"].items():
        assert 0 < stage["snapshot_seconds"] < stage["seconds"]
        observed = (stage["seconds"] - stage["snapshot_seconds"]) / stage["iterations"] / work
        assert observed < 0.5  # (a few milliseconds: far from the rates set above)
        assert runner.rates[key][name] == pytest.approx(0.25 * before[name] + 0.75 * observed)
    assert set(record["stages"]) == set(before)
    # what the job did besides its iterations (the evaluation, the pictures) counts from now on
    events = _events(client, job["id"])
    wall = events[-1]["time"] - next(e["time"] for e in events if e["event"] == "running")
    rest = runner.rates[key]["rest"]
    iterating = sum(stage["seconds"] - stage["snapshot_seconds"]
                    for stage in record["stages"].values())
    assert rest * work == pytest.approx(wall - iterating - per_job)
    assert wall - record["seconds"] - per_job < rest * work < wall
    assert runner.rates[key]["rest per job"] == per_job
    body = {"content": content["id"], "styles": [{"id": style["id"], "weight": 1}], **TINY}
    answer = client.post("/api/estimate", json=body).json()
    rates = runner.rates[key]
    assert answer["seconds"] == pytest.approx(work * (
        TINY["iterations"] * rates["spectrogram"] + TINY["refine_iterations"] * rates["waveform"]
        + rest) + per_job)
    kept = json.loads((client.app.app.state.runner.store.root / "speed.json").read_text())
    assert kept[key] == runner.rates[key]


def test_measurements_wait_in_a_bounded_queue(client, sounds):
    """Each new option set asks for a measurement; while the worker is busy, at most
    MAX_MEASUREMENTS wait, and the others are told why they have no estimate."""
    from audiostyle.studio.runner import MAX_MEASUREMENTS

    content, style = sounds
    busy = _submit(client, content, style, iterations=2000)
    deadline = time.monotonic() + 120
    while client.get(f"/api/jobs/{busy['id']}").json()["progress"] is None:  # (running)
        assert time.monotonic() < deadline
        time.sleep(0.1)
    body = {"content": content["id"], "styles": [{"id": style["id"]}], "extractor": "shallow"}
    answers = [client.post("/api/estimate", json={**body, "options": {
        "form": "drawn", "filters": str(n)}}).json() for n in range(71, 71 + MAX_MEASUREMENTS + 2)]
    assert [a["measuring"] for a in answers] == [True] * MAX_MEASUREMENTS + [False] * 2
    assert answers[-1]["seconds"] is None
    assert answers[-1]["note"] == "other measurements are waiting; ask again shortly"
    again = client.post("/api/estimate", json={**body, "options": {"form": "drawn",
                                                                     "filters": "71"}}).json()
    assert again["measuring"] is True
    client.post(f"/api/jobs/{busy['id']}/cancel")
    assert _events(client, busy["id"])[-1]["event"] in ("done", "cancelled")


def test_drawn_only_options_need_form_drawn_and_the_menu_says_so(client, sounds):
    content, style = sounds
    body = {"content": content["id"], "styles": [{"id": style["id"]}], "extractor": "shallow",
            "options": {"filters": "256"}}
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 400
    assert response.json()["errors"]["options"] == (
        "Extractor 'shallow': option filters acts on drawn nets only; add form=drawn to use it "
        "(form=infinite, the default, has infinitely many filters)")
    menu = {entry["name"]: entry for entry in client.get("/api/info").json()["extractors"]}
    assert menu["shallow"]["options"]["filters"] == "4096 (form=drawn only)"
    assert menu["shallow"]["options"]["seed"] == "0 (form=drawn only)"
    assert menu["shallow"]["options"]["form"] == "infinite"
    assert menu["shallow-multi"]["options"]["filters"] == \
        "4096,2048,1024,512,256,128 (form=drawn only)"
    assert menu["shallow-multi"]["options"]["widths"] == "2,4,8,16,32,64"


#: Small options per extractor (the estimate measures a few iterations with them).
SMALL = {"mcdermott": {"bands": "8", "mod_bands": "6"}, "shallow": {"kernel_width": "5"},
         "shallow-multi": {"widths": "2,8"},
         "soundnet": {"layers": "conv1,conv2,conv3"}, "vgg-mtt": {"layers": "pool1"},
         "vgg19": {"layers": "relu1_1"}}


@pytest.mark.parametrize("name", extractors.available())
def test_every_preset_runs_the_transfer_the_command_line_runs(client, sounds, name):
    """The studio's job is the extractor's transfer plan (the one `audiostyle transfer` runs,
    test_settings.py checks that it does), its iterations scaled by the preset."""
    content, style = sounds
    body = {"content": content["id"], "styles": [{"id": style["id"]}], "extractor": name,
            "options": SMALL[name]}
    plan = extractors.extractor_class(name).defaults.transfer
    for preset, factor in PRESETS.items():
        response = client.post("/api/estimate", json={**body, "preset": preset})
        if response.status_code == 400 and "not installed" in str(response.json()["errors"]):
            pytest.skip(f"{name}: weights not installed")
        job = response.json()
        scaled = plan.scaled(factor)
        assert (job["domain"], job["strength"]) == (plan.domain, plan.strength), preset
        assert (job["iterations"], job["refine_iterations"]) == (
            scaled.iterations, scaled.refine_iterations), preset
        if factor == 1:
            assert (job["iterations"], job["refine_iterations"]) == (plan.iterations,
                                                                     plan.refine_iterations)
    info = client.get("/api/info").json()
    menu = {entry["name"]: entry for entry in info["extractors"]}
    assert menu[name]["defaults"]["transfer"]["strength"] == plan.strength  # the slider's start
    assert menu[name]["domains"] == list(extractors.extractor_class(name).domains)
    assert info["default_extractor"] == extractors.DEFAULT_EXTRACTOR


def test_the_command_checks_its_options(capsys):
    from audiostyle.cli import main

    assert main(["studio", "--port", "99999", "--no-browser"]) == 2
    assert capsys.readouterr().err == "audiostyle: error: --port 99999: must be 0–65535\n"


def test_a_job_streams_its_progress_and_ends_as_a_result(client, sounds):
    content, style = sounds
    job = _submit(client, content, style)
    events = _events(client, job["id"])
    names = [e["event"] for e in events]
    assert names[0] == "queued" and names[1] == "running" and names[-2:] == ["evaluating",
                                                                            "done"]
    assert [e["seq"] for e in events] == list(range(len(events)))
    steps = [e for e in events if e["event"] in ("progress", "snapshot")]
    iterations = [e["iteration"] for e in steps]
    assert {"style/conv", "structure"} <= set(steps[0]["terms_db"])  # each term of the loss
    assert iterations == sorted(iterations) and iterations[-1] == 9 == steps[-1]["total"]
    assert [e["stage"] for e in steps] == sorted(e["stage"] for e in steps)  # spectrogram first
    snapshots = [e for e in events if e["event"] == "snapshot"]
    assert len(snapshots) >= 3
    for snap in snapshots:
        audio, sr = sf.read(io.BytesIO(client.get(
            f"/api/jobs/{job['id']}/snapshots/{snap['index']}").content))
        assert sr == 44100 and audio.shape == (44100, 2)
    record = events[-1]["record"]
    assert record["cancelled"] is False and record["job"]["iterations"] == 6
    for key in ("domain", "iterations", "refine_iterations", "strength"):  # what it ran
        assert record["settings"][key] == record["job"][key], key
    assert record["metrics"]["style_match"]["shallow"]["gain_db"] > 0
    files = f"/api/results/{job['id']}/files"
    for name in ("result.wav", "result.flac"):
        audio, sr = sf.read(io.BytesIO(client.get(f"{files}/{name}").content))
        assert sr == 44100 and audio.shape == (44100, 2)
    final = sf.read(io.BytesIO(client.get(f"{files}/result.wav").content))[0]
    last = sf.read(io.BytesIO(client.get(
        f"/api/jobs/{job['id']}/snapshots/{snapshots[-1]['index']}").content))[0]
    np.testing.assert_array_equal(final, last)  # the last snapshot is the result
    download = client.get(f"{files}/result.wav?download")
    assert download.headers["content-disposition"].startswith("attachment;")
    assert client.get(f"{files}/../record.json").status_code == 404
    assert client.get("/api/results").json()[0]["id"] == job["id"]

    kept = client.post(f"/api/results/{job['id']}/snapshots/{snapshots[1]['index']}/keep")
    assert kept.status_code == 201
    done = _events(client, kept.json()["id"])[-1]
    assert done["event"] == "done"
    assert done["record"]["kept_from"]["iteration"] == snapshots[1]["iteration"]
    assert "gain_db" in done["record"]["metrics"]["style_match"]["shallow"]
    picked = sf.read(io.BytesIO(client.get(
        f"/api/results/{done['record']['id']}/files/result.wav").content))[0]
    chosen = sf.read(io.BytesIO(client.get(
        f"/api/jobs/{job['id']}/snapshots/{snapshots[1]['index']}").content))[0]
    np.testing.assert_array_equal(picked, chosen)
    assert client.post(f"/api/results/{job['id']}/snapshots/99/keep").status_code == 404


@pytest.mark.timeout(120)
def test_the_events_of_a_finished_job_asked_after_its_last_end_at_once(client, sounds):
    content, style = sounds
    job = _submit(client, content, style, iterations=2, refine_iterations=0)
    events = _events(client, job["id"])
    last = events[-1]["seq"]
    assert events[-1]["event"] == "done"
    for asked in ({"params": {"after": last}}, {"headers": {"Last-Event-ID": str(last)}},
                  {"params": {"after": last + 5}}):
        rest = client.get(f"/api/jobs/{job['id']}/events", **asked)
        assert rest.status_code == 200 and "data:" not in rest.text
    tail = client.get(f"/api/jobs/{job['id']}/events", params={"after": last - 1})
    assert tail.text.count("data:") == 1 and "event: done" in tail.text


def test_a_job_cancelled_before_it_moved_keeps_nothing(client, sounds):
    """Cancelled at once: its "best so far" would be the content itself."""
    content, style = sounds
    before = client.get("/api/results").json()
    job = _submit(client, content, style, iterations=2000)
    assert client.post(f"/api/jobs/{job['id']}/cancel").status_code == 200
    last = _events(client, job["id"])[-1]
    assert last["event"] == "cancelled", last
    assert last["message"] == ("cancelled before the result moved from its start; nothing "
                               "was kept")
    assert client.get("/api/results").json() == before
    assert not client.app.app.state.store.work_folder(job["id"]).exists()


def test_uploaded_sounds_are_listed_for_the_page_to_offer_again(client, sounds):
    content, style = sounds
    listed = client.get("/api/inputs").json()
    ids = [sound["id"] for sound in listed]
    assert {content["id"], style["id"]} <= set(ids)
    assert ids.index(style["id"]) < ids.index(content["id"])  # newest first
    assert next(s for s in listed if s["id"] == style["id"]) == style


def test_cancel_keeps_the_best_result_so_far(client, sounds):
    content, style = sounds
    job = _submit(client, content, style, iterations=2000)
    waiting = _submit(client, content, style)
    assert client.get(f"/api/jobs/{waiting['id']}").json()["state"] == "queued"
    assert client.post(f"/api/jobs/{waiting['id']}/cancel").status_code == 200
    deadline = time.monotonic() + 60
    while client.get(f"/api/jobs/{job['id']}").json()["progress"] is None:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert client.post(f"/api/jobs/{job['id']}/cancel").status_code == 200
    events = _events(client, job["id"])
    assert events[-1]["event"] == "done"
    record = events[-1]["record"]
    assert record["cancelled"] is True and record["stages"]["spectrogram"]["iterations"] < 2000
    audio = sf.read(io.BytesIO(client.get(
        f"/api/results/{job['id']}/files/result.wav").content))[0]
    assert audio.shape == (44100, 2) and np.any(audio)
    assert [e["event"] for e in _events(client, waiting["id"])][-1] == "cancelled"


def test_a_crashing_worker_fails_its_job_not_the_server(client, sounds):
    content, style = sounds
    runner = client.app.app.state.runner
    job = _submit(client, content, style, iterations=2000)
    deadline = time.monotonic() + 60
    while client.get(f"/api/jobs/{job['id']}").json()["progress"] is None:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    os.kill(runner.worker_pid, signal.SIGKILL)
    events = _events(client, job["id"])
    assert events[-1]["event"] == "failed"
    assert "the worker process ended while running this job" in events[-1]["message"]
    assert client.get(f"/api/results/{job['id']}").status_code == 404
    assert not runner.store.work_folder(job["id"]).exists()
    again = _submit(client, content, style, iterations=2, refine_iterations=0)
    assert _events(client, again["id"])[-1]["event"] == "done"


def test_a_disk_error_is_a_message_and_leaves_no_result(client, sounds, data):
    content, style = sounds
    before = client.get("/api/results").json()
    work = data / "work"
    work.rename(data / "work.real")
    work.write_text("a file where the work folder should be\n")
    try:
        job = _submit(client, content, style)
        last = _events(client, job["id"])[-1]
    finally:
        work.unlink()
        (data / "work.real").rename(work)
    assert last["event"] == "failed"
    assert last["message"].endswith("Not a directory; nothing was kept")
    assert last["message"].startswith("work/") and str(data) not in last["message"]
    assert client.get("/api/results").json() == before


def test_a_full_queue_is_a_message(client, sounds):
    content, style = sounds
    jobs = [_submit(client, content, style, iterations=2000)]
    jobs += [_submit(client, content, style) for _ in range(2)]
    response = client.post("/api/jobs", json={"content": content["id"], **TINY,
                                              "styles": [{"id": style["id"]}]})
    assert response.status_code == 503 and "the queue is full" in response.json()["error"]
    for job in reversed(jobs):
        client.post(f"/api/jobs/{job['id']}/cancel")
    for job in jobs:
        assert _events(client, job["id"])[-1]["event"] in ("done", "cancelled")


def test_cross_site_requests_are_refused(client, sounds):
    content, style = sounds
    body = {"content": content["id"], "styles": [{"id": style["id"]}], **TINY}
    evil = client.post("/api/jobs", json=body, headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403 and "cross-origin" in evil.json()["error"]
    marked = client.post("/api/jobs", json=body, headers={"Sec-Fetch-Site": "cross-site"})
    assert marked.status_code == 403
    rebound = client.get("/api/results", headers={"Host": "evil.example:7860"})
    assert rebound.status_code == 403
    same = client.post("/api/estimate", json=body, headers={"Origin": LOCAL})
    assert same.status_code == 200


@pytest.mark.parametrize("host", ["127.0.0.1.evil.example:7860", "localhost.evil.example",
                                  "127.0.0.2:7860", "[::1]evil:7860", "evil.example"])
def test_names_that_only_begin_like_loopback_are_other_hosts(client, data, host):
    """DNS rebinding: a page on HOST (pointed at 127.0.0.1) sends its own Host and Origin."""
    before = set((data / "inputs").iterdir())
    made = client.post("/api/inputs/demo/melody",
                       headers={"Host": host, "Origin": f"http://{host}"})
    assert made.status_code == 403 and "refused" in made.json()["error"]
    assert client.get("/api/results", headers={"Host": host}).status_code == 403
    assert set((data / "inputs").iterdir()) == before


@pytest.mark.parametrize("origin,host,allowed", [
    ("http://127.0.0.1:7860", "127.0.0.1:7860", True),
    ("http://localhost:7860", "localhost:7860", True),
    ("http://[::1]:7860", "[::1]:7860", True),
    ("http://localhost:7860", "127.0.0.1:7860", True),
    ("http://127.0.0.1:9999", "127.0.0.1:9999", False),  # the Host names the same wrong port
    ("https://127.0.0.1:7860", "127.0.0.1:7860", False),
    ("null", "127.0.0.1:7860", False),
    ("http://127.0.0.1:x", "127.0.0.1:7860", False),
])
def test_the_origin_is_checked_against_the_studios_address(client, origin, host, allowed):
    """Against the port and loopback names the studio was started on, not the request's
    Host."""
    answer = client.post("/api/export", json={"ids": ["0" * 16]},
                         headers={"Origin": origin, "Host": host})
    # allowed: it reaches the app (which has no such result to export)
    assert answer.status_code == (400 if allowed else 403), answer.text


def test_other_hosts_need_the_token(tmp_path):
    config = StudioConfig(data=tmp_path, host="0.0.0.0", threads=1).with_token()
    assert config.token
    with TestClient(create_app(config), base_url="http://192.0.2.1:7860") as remote:
        assert remote.get("/api/results").status_code == 401
        assert remote.get("/").status_code == 401
        assert remote.get("/api/results", headers={"Authorization": "Bearer nope"}).status_code \
            == 401
        ok = remote.get("/api/results", headers={"Authorization": f"Bearer {config.token}"})
        assert ok.status_code == 200 and ok.json() == []
        opened = remote.get(f"/?token={config.token}", follow_redirects=False)
        assert opened.status_code == 303 and opened.headers["location"] == "/"
        assert "HttpOnly" in opened.headers["set-cookie"]
        assert remote.get("/").status_code == 200  # the cookie now carries the token
        evil = remote.post("/api/export", headers={"Origin": "http://evil.example"})
        assert evil.status_code == 403
        # the page itself, opened at this machine's address: reaches the app (nothing to export)
        own = remote.post("/api/export", headers={"Origin": "http://192.0.2.1:7860"})
        assert own.status_code == 400 and own.json()["error"] == "no results to export"


def test_restart_keeps_the_history_delete_and_export(client, data):
    """(Last: it stops the module's studio.)"""
    done = client.get("/api/results").json()
    assert done
    with pytest.raises(AudioStyleError, match="in use by another studio"):
        _client(data)
    client.__exit__(None, None, None)  # stopped: the folder is free
    with _client(data) as again:
        assert again.get("/api/results").json() == done
        page = again.post("/api/export", json={})
        assert page.status_code == 201 and set(page.json()) == {"url"}
        shown = again.get(page.json()["url"])
        html = shown.text
        assert "&lt;img src=x onerror=alert(1)&gt;.flac" in html and "<img src=x" not in html
        assert str(data) not in html  # the server's folders are its own business
        # the page's own inline style (and only it) may apply inside the studio
        style = html.split("<style>", 1)[1].split("</style>", 1)[0]
        digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        policy = shown.headers["content-security-policy"]
        assert f"style-src 'self' 'sha256-{digest}';" in policy
        assert "style-src 'self';" in again.get("/").headers["content-security-policy"]
        gone = done[0]["id"]
        assert again.delete(f"/api/results/{gone}").status_code == 200
        assert again.get(f"/api/results/{gone}").status_code == 404
        assert gone not in [r["id"] for r in again.get("/api/results").json()]
