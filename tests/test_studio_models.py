"""Style models in the studio: learning one as a job (progress, a preview, cancel keeps the
model so far), the models listed with their header, applying one as a quick job that never
waits behind a long one, and the requests' checks."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("starlette", reason="the studio extra is missing: pip install -e '.[studio]'")

from audiostyle.io.audio import limit_peak
from audiostyle.models import StyleModel
from conftest import SR
from test_studio import TINY, _client, _events, _submit, _upload, _wav

#: A learning job as cheap as one can be: the shallow net (infinitely many filters, the
#: cheapest form).
LEARN = {"extractor": "shallow", "options": {}, "seed": 1}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with _client(tmp_path_factory.mktemp("studio-models"), max_seconds=20,
                 max_queue=3) as client:
        yield client


@pytest.fixture(scope="module")
def sounds(client, melody, bongos):
    """A 2-s stereo content and a 1-s style, uploaded."""
    content = _upload(client, "tune.wav", _wav(np.stack([melody[:2 * SR], melody[:2 * SR]])))
    style = _upload(client, "bongos.wav", _wav(bongos[:SR]))
    return content, style


def _wait_for_progress(client, ident: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while client.get(f"/api/jobs/{ident}").json()["progress"] is None:
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.1)


def test_learn_cancel_keeps_the_model_which_applies_while_a_transfer_runs(client, sounds):
    content, style = sounds
    body = {"styles": [{"id": style["id"]}], "content": content["id"], "minutes": 2, **LEARN}
    job = client.post("/api/models", json=body)
    assert job.status_code == 201, job.text
    job = job.json()
    assert job["kind"] == "learn" and job["job"]["minutes"] == 2
    _wait_for_progress(client, job["id"])
    assert client.post(f"/api/jobs/{job['id']}/cancel").status_code == 200
    events = _events(client, job["id"])
    names = [e["event"] for e in events]
    assert names[:2] == ["queued", "running"] and names[-1] == "done", names
    progress = next(e for e in events if e["event"] == "progress")
    assert progress["step"] >= 1 and np.isfinite(progress["loss_db"])
    record = events[-1]["record"]
    assert record["kind"] == "model" and record["cancelled"] is True
    assert record["header"]["interrupted"] and record["header"]["steps"] >= 1
    assert record["name"] == "bongos.wav (shallow)"
    assert dict(record["about"])["extractor"] == "shallow (defaults) at 22050 Hz"
    # the last preview: the model so far on the content (its first seconds), playable
    preview = record["snapshots"][-1]
    played, sr = sf.read(io.BytesIO(client.get(
        f"/api/jobs/{job['id']}/snapshots/{preview['index']}").content), always_2d=True)
    assert sr == 22050 and played.shape == (2 * SR, 2)
    assert [m["id"] for m in client.get("/api/models").json()] == [job["id"]]
    assert client.get(f"/api/models/{job['id']}").json()["header"] == record["header"]
    download = client.get(f"/api/models/{job['id']}/file")
    assert download.headers["content-disposition"].endswith(f'-{job["id"]}.style"')

    # a long transfer holds the main worker; applying the model does not wait for it
    long = _submit(client, content, style, iterations=2000)
    _wait_for_progress(client, long["id"])
    applied = client.post(f"/api/models/{job['id']}/apply", json={"content": content["id"]})
    assert applied.status_code == 201, applied.text
    done = _events(client, applied.json()["id"])[-1]
    assert done["event"] == "done", done
    assert client.get(f"/api/jobs/{long['id']}").json()["state"] == "running"
    result = done["record"]
    assert result["job"]["kind"] == "apply" and result["model"]["id"] == job["id"]
    assert result["styles"][0]["name"] == "bongos.wav"
    assert "independent" in result["metrics"]["style_match"]
    audio, sr = sf.read(io.BytesIO(client.get(
        f"/api/results/{result['id']}/files/result.wav").content), always_2d=True)
    path = client.app.app.state.store.model_folder(job["id"]) / "model.style"
    applied_here = StyleModel.load(path).apply(sf.read(io.BytesIO(client.get(
        content["audio"]).content), always_2d=True, dtype="float32")[0].T, sr=SR).samples
    expected = limit_peak(applied_here)[0].T  # saved as every result is: peak-safe
    assert sr == SR and audio.shape == (2 * SR, 2)
    assert np.abs(audio - expected).max() < 1e-3  # (16-bit WAV)
    client.post(f"/api/jobs/{long['id']}/cancel")
    assert _events(client, long["id"])[-1]["event"] == "done"

    # a transfer that starts from the model's output
    started = _events(client, _submit(client, content, style, iterations=2,
                                      start_model=job["id"])["id"])[-1]
    assert started["event"] == "done", started
    assert started["record"]["job"]["start_model"] == job["id"]
    assert started["record"]["settings"]["init"].startswith("model:")

    assert client.delete(f"/api/models/{job['id']}").status_code == 200
    assert client.get(f"/api/models/{job['id']}").status_code == 404
    assert client.post(f"/api/models/{job['id']}/apply",
                       json={"content": content["id"]}).status_code == 404


@pytest.mark.parametrize("change,field", [
    ({"minutes": 31}, "minutes"), ({"minutes": "ten"}, "minutes"), ({"minutes": 0}, "minutes"),
    ({"steps": 0}, "steps"), ({"steps": 10**12}, "steps"), ({"seed": -1}, "seed"),
    ({"styles": []}, "styles"), ({"styles": 5}, "styles"), ({"content": "0" * 16}, "content"),
    ({"options": {"filters": "abc"}}, "options"), ({"extractor": "nosuch"}, "extractor"),
    ({"strength": 3}, "strength"),
])
def test_learn_requests_are_checked_field_by_field(client, sounds, change, field):
    content, style = sounds
    body = {"styles": [{"id": style["id"]}], "content": content["id"], **LEARN, **change}
    response = client.post("/api/models", json=body)
    assert response.status_code == 400, response.text
    assert field in response.json()["errors"], response.json()


def test_apply_requests_are_checked(client, sounds):
    content, style = sounds
    body = {"content": content["id"], "styles": [{"id": style["id"]}], **LEARN,
            "start_model": "0123456789abcdef"}
    refused = client.post("/api/jobs", json=body)
    assert refused.status_code == 400 and "start_model" in refused.json()["errors"]
    assert client.post("/api/models/0123456789abcdef/apply",
                       json={"content": content["id"]}).status_code == 404
    assert client.post("/api/models/..%2F..%2Fetc/apply", json={}).status_code == 404
    assert client.post("/api/models", content=b"[").status_code == 400
    assert client.get("/api/models/0123456789abcdef/file").status_code == 404
    assert "learn" in client.get("/api/info").json()
    assert TINY["extractor"] == LEARN["extractor"]  # (the two tests share the cheap net)


@pytest.mark.parametrize("method,path", [
    ("post", "/api/models"), ("get", "/api/models"), ("get", "/api/models/0123456789abcdef"),
    ("get", "/api/models/0123456789abcdef/file"),
    ("post", "/api/models/0123456789abcdef/apply"), ("delete", "/api/models/0123456789abcdef"),
])
def test_the_model_routes_are_guarded_as_the_others(client, method, path):
    """A page elsewhere reaches none of them: a rebound name as Host is refused, a change
    from another Origin too, and a read gives that page nothing it may see (no CORS)."""
    kwargs = {"json": {}} if method == "post" else {}
    rebound = {"Host": "127.0.0.1.evil.example:7860",
               "Origin": "http://127.0.0.1.evil.example:7860"}
    assert getattr(client, method)(path, headers=rebound, **kwargs).status_code == 403
    answer = getattr(client, method)(path, headers={"Origin": "http://evil.example"}, **kwargs)
    assert "access-control-allow-origin" not in answer.headers
    if method != "get":
        assert answer.status_code == 403 and "cross-origin" in answer.json()["error"]
