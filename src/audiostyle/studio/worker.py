"""The studio's worker process: runs one job at a time and reports as it goes.

It is a spawned process (no fork of a server that already runs threads) that ignores Ctrl-C,
ends when the server is gone (:func:`~audiostyle._util.exit_with_parent`), and takes
``(kind, id, payload)`` tasks from its inbox: ``"job"`` (a checked job from
:func:`~audiostyle.studio.jobspec.check_job`) or ``"measure"`` (time a few iterations of an
extractor, for the expected-time estimate). It posts ``(id, event, data)`` messages to its
outbox. A job's files go to ``DATA/work/<ID>/``; the finished result is moved into
``DATA/results/`` with its record written last (:func:`.store.finish_result`), so a crash
(this process dying) leaves nothing in the history. Cancelling sets the shared ``cancel``
event (the server clears it when it hands over a job): the transfer's observer then stops it
as Ctrl-C does, and the best result so far becomes the result.
"""

from __future__ import annotations

import copy
import os
import signal
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._util import exit_with_parent
from ..errors import AudioStyleError, SynthesisError
from ..evaluation import evaluate
from ..extractors import sketch_extractor
from ..io.audio import Audio, load_audio, save_audio
from ..models import learn
from ..models.describe import describe
from ..models.learn import check_budget
from ..models.model import StyleModel
from ..synthesis.pipeline import Progress, Result, transfer
from ..synthesis.settings import MODEL_INIT
from .jobspec import planned_iterations
from .store import MODEL_FILE, Store, draw_spectrograms, finish_result

#: Snapshots per job (about: one every 1/SNAPSHOTS of all its iterations, over all chunks,
#: and one at each stage's end in the last chunk).
SNAPSHOTS = 8
#: Shortest time between two progress events, in seconds (snapshots and stage ends always go).
PROGRESS_SECONDS = 0.1
#: Length of the content a measurement times, in seconds.
MEASURE_SECONDS = 2.0
#: Length of its style, in seconds: a typical style's. The rates are those of a style this long.
MEASURE_STYLE_SECONDS = 10.0
#: Length of a second, longer style timed for an extractor whose iteration cost grows with the
#: style's length (:attr:`Extractor.cost_grows_with_style`: the infinite random nets compare
#: every frame of the result with every frame of the style; docs/research.md, *Speed*).
MEASURE_LONG_STYLE_SECONDS = 40.0
#: Suffix of a stage's name in the rates for its growth per second of style beyond
#: :data:`MEASURE_STYLE_SECONDS` (``"spectrogram/style"``; absent: none).
PER_STYLE_SECOND = "/style"
#: What a job does besides its iterations (its snapshots, the evaluation, the pictures), beside
#: each stage's rate per iteration: its seconds per second of each channel of content
#: (:data:`REST`) and its seconds per job (:data:`REST_PER_JOB`: analysing and drawing the style,
#: which do not grow with the content; counted per second, they overstated a 3-s job's
#: evaluation twofold, benchmarks/RESULTS.md, *speed*).
REST = "rest"
REST_PER_JOB = "rest per job"
#: Seconds between two previews of a style model being learned, and their length (seconds of
#: the job's content).
PREVIEW_SECONDS = 60.0
PREVIEW_LENGTH = 10.0


def main(inbox: Any, outbox: Any, cancel: Any, root: str, threads: int) -> None:
    """The worker's loop (the target of the spawned process); ``None`` ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent()
    torch.set_num_threads(threads)
    store = Store(root)
    outbox.put((None, "ready", {}))
    while (task := inbox.get()) is not None:
        kind, ident, payload = task
        if kind == "measure":
            _measure(ident, payload, outbox)
        elif kind == "learn":
            _failing(store, ident, outbox, lambda post, ident=ident, payload=payload:
                     _learn(store, ident, payload, post, cancel))
        else:
            _run_job(store, kind, ident, payload, outbox, cancel)


def _run_job(store: Store, kind: str, ident: str, payload: dict[str, Any], outbox: Any,
             cancel: Any) -> None:
    """A transfer (``kind="job"``, ``payload`` the job), a style model applied
    (``kind="apply"``, ``payload`` :func:`~.jobspec.check_apply`'s) or a snapshot kept as a
    result of its own (``kind="keep"``: ``payload`` has the ``source`` result's id, the
    snapshot's ``index`` and the source's ``job``), made into a finished result."""
    def run(post) -> None:
        work = store.work_folder(ident)
        job = payload["job"] if kind == "keep" else payload
        (work / "snapshots").mkdir(parents=True)
        content_input = store.input(job["content"])
        style_inputs = [store.input(i) for i, _ in job["styles"]]
        content = _load(content_input)
        styles = [_load(s) for s in style_inputs]
        post("running", seconds=content.seconds, channels=content.channels)
        began = time.perf_counter()
        if kind == "keep":
            record = _keep(store, payload, work)
        elif kind == "apply":
            record = _apply(store, job, content, work, began)
        else:
            record = _transfer(job, content, styles, work, post, cancel, began,
                               _start(store, job))
        post("evaluating")
        main = max(range(len(styles)), key=lambda i: job["styles"][i][1])
        record["metrics"] = _judge(load_audio(work / "result.wav"), content, styles[main],
                                   job["extractor"], job["options"], work)
        record.update(id=ident, job=job, finished=time.time(),
                      content={"id": content_input.id, "name": content_input.info["name"]},
                      styles=[{"id": s.id, "name": s.info["name"], "weight": w}
                              for s, (_, w) in zip(style_inputs, job["styles"], strict=True)])
        finish_result(work, store.root / "results", record)
        post("done", record=record)

    _failing(store, ident, outbox, run)


def _judge(result: Audio, content: Audio, style: Audio, extractor: str,
           options: dict[str, str], folder: Path) -> dict[str, Any]:
    """What a job does after its synthesis: the result's metrics (returned) and the result's,
    the content's and the style's spectrograms (PNGs in ``folder``)."""
    metrics = evaluate(result, style=style, content=content,
                       extractors={extractor: options}).as_dict()
    draw_spectrograms({folder / "spectrogram-result.png": result,
                       folder / "spectrogram-content.png": content,
                       folder / "spectrogram-style.png": style})
    return metrics


def _failing(store: Store, ident: str, outbox: Any, run) -> None:
    """``run(post)``, a job's work in ``DATA/work/<ID>``; whatever stops it is its last event
    (a cancel before anything existed, a user's mistake, a full disk, a bug), and its work
    folder is removed then."""
    def post(event: str, **data: Any) -> None:
        outbox.put((ident, event, data))

    try:
        run(post)
    except _NothingYet:
        store.discard_work(ident)
        post("cancelled", message="cancelled before the result moved from its start; nothing "
                                  "was kept")
    except (AudioStyleError, SynthesisError) as exc:
        store.discard_work(ident)
        post("failed", message=str(exc))
    except MemoryError:
        store.discard_work(ident)
        post("failed", message="out of memory; try a shorter sound or the preview preset")
    except OSError as exc:
        store.discard_work(ident)
        where = f"{_inside(store, exc.filename)}: " if exc.filename else ""
        post("failed", message=f"{where}{exc.strerror or exc}; nothing was kept")
    except Exception as exc:  # a bug: one line for the page, the traceback in the server log
        store.discard_work(ident)
        post("failed", message=f"internal error: {type(exc).__name__}: {exc}",
             traceback=traceback.format_exc())


def _start(store: Store, job: dict[str, Any]) -> str:
    """Where the job's transfer starts: the content, or a learned model's output."""
    if not job.get("start_model"):
        return "content"
    return f"{MODEL_INIT}{_model_file(store, job['start_model'])}"


def _model_file(store: Store, ident: str) -> Path:
    """The file of the learned style model ``ident``; a message when it was deleted since
    the job was checked."""
    folder = store.model_folder(ident)
    if folder is None:
        raise AudioStyleError("the style model it uses was deleted")
    return folder / MODEL_FILE


def _transfer(job: dict[str, Any], content: Audio, styles: list[Audio], work: Path, post,
              cancel: Any, began: float, init: str) -> dict[str, Any]:
    """Run the transfer from ``init`` (a :class:`Settings` ``init``) with snapshots into
    ``work/snapshots``; write the result files; returns the record's synthesis part."""
    planned = planned_iterations(job)
    snapshots: list[dict[str, Any]] = []
    last = [0.0]
    snapshot_seconds: dict[str, float] = {}  # per stage: what its snapshots took

    def observer(progress: Progress) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        first = progress.stage == job["domain"]
        done = progress.iteration + (0 if first else job["iterations"])
        overall = progress.chunk * planned + done
        now = time.perf_counter()
        data = {"stage": progress.stage, "chunk": progress.chunk, "chunks": progress.chunks,
                "iteration": overall, "total": progress.chunks * planned,
                "loss_db": progress.loss_db, "best_db": progress.best_db,
                "terms_db": progress.terms_db, "elapsed": now - began}
        end = progress.iteration == progress.iterations and progress.chunk + 1 == progress.chunks
        if overall % max(1, progress.chunks * planned // SNAPSHOTS) == 0 or end:
            index = len(snapshots)
            save_audio(work / "snapshots" / f"{index}.wav", progress.snapshot())
            snapshot_seconds[progress.stage] = snapshot_seconds.get(progress.stage, 0.0) \
                + time.perf_counter() - now
            snapshots.append({**data, "index": index})
            post("snapshot", **data, index=index)
        elif now - last[0] < PROGRESS_SECONDS:
            return
        last[0] = now
        post("progress", **data)

    weights = [w for _, w in job["styles"]]
    try:
        result = transfer(
            content, styles, style_weights=weights, strength=job["strength"],
            extractor=job["extractor"], options=job["options"], domain=job["domain"],
            iterations=job["iterations"], refine_iterations=job["refine_iterations"],
            seed=job["seed"], init=init, progress=False, observer=observer,
        )
    except KeyboardInterrupt:  # cancelled before anything existed
        raise _NothingYet from None
    if result.interrupted and not _moved(result):
        raise _NothingYet  # (its "best so far" would be the content itself)
    _save(work, result.audio)
    return {
        "seconds": time.perf_counter() - began, "cancelled": result.interrupted,
        "loss_db": result.loss_db, "style_distance_db": result.style_distance_db,
        "stages": {name: {"iterations": t.iterations, "best_db": t.best_db,
                          "seconds": t.seconds, "losses_db": [_db(v) for v in t.losses],
                          "snapshot_seconds": snapshot_seconds.get(name, 0.0)}
                   for name, t in result.stages.items()},
        "snapshots": snapshots, "audio_seconds": result.audio.seconds,
        "channels": result.audio.channels, "sr": result.audio.sr,
        "settings": result.settings.as_dict(),
    }


def _apply(store: Store, job: dict[str, Any], content: Audio, work: Path,
           began: float) -> dict[str, Any]:
    """The learned style model ``job["model"]`` applied to ``content``: the result files and
    the record's synthesis part."""
    model = StyleModel.load(_model_file(store, job["model"]))
    result = model.apply(content, seed=job["seed"])
    _save(work, result)
    return {"seconds": time.perf_counter() - began, "cancelled": False, "snapshots": [],
            "stages": {}, "audio_seconds": result.seconds, "channels": result.channels,
            "sr": result.sr, "model": {"id": job["model"], "name": job["name"]}}


def _learn(store: Store, ident: str, job: dict[str, Any], post, cancel: Any) -> None:
    """Learn a style model (``job``: :func:`~.jobspec.check_learn`'s) in ``DATA/work/<ID>``,
    posting progress and, about every :data:`PREVIEW_SECONDS`, a preview (the model so far
    applied to the first :data:`PREVIEW_LENGTH` seconds of the job's content); then move it
    into ``DATA/models/``. Cancel stops the training as Ctrl-C does: the model so far is
    kept."""
    work = store.work_folder(ident)
    (work / "snapshots").mkdir(parents=True)
    style_inputs = [store.input(i) for i, _ in job["styles"]]
    styles = [_load(s) for s in style_inputs]
    content_input = store.input(job["content"]) if job["content"] else None
    content = None
    if content_input is not None:
        whole = _load(content_input)
        content = Audio(whole.samples[:, : round(PREVIEW_LENGTH * whole.sr)], whole.sr,
                        whole.name)
    budget = check_budget(job["minutes"], job["steps"])
    rate = sketch_extractor(job["extractor"], job["options"]).sample_rate
    post("running", minutes=job["minutes"], steps=job["steps"])
    began = time.perf_counter()
    previews: list[dict[str, Any]] = []
    last = {"progress": 0.0, "preview": began}

    def preview(model: StyleModel, **data: Any) -> None:
        if content is None:
            return
        index = len(previews)
        save_audio(work / "snapshots" / f"{index}.wav", model.apply(content, seed=job["seed"]))
        previews.append({**data, "index": index})
        post("snapshot", **data, index=index)

    def observer(state, parts: dict[str, float]) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        now = time.perf_counter()
        fraction = budget.fraction(state.step, state.seconds)
        held = state.validation[-1][1]["total_db"] if state.validation else None
        data = {"step": state.step, "fraction": fraction, "elapsed": now - began,
                "loss_db": parts["total_db"], "validation_db": held,
                "left": state.seconds / fraction - state.seconds if fraction > 0 else None}
        if now - last["preview"] >= PREVIEW_SECONDS:
            last["preview"] = now
            preview(StyleModel(copy.deepcopy(state.net).cpu(), state.texture,
                               {"top_hz": rate / 2, "sample_rate": rate}), **data)
        elif now - last["progress"] < PROGRESS_SECONDS:
            return
        last["progress"] = now
        post("progress", **data)

    model = learn(styles, style_weights=[w for _, w in job["styles"]],
                  extractor=job["extractor"], options=job["options"],
                  strength=job["strength"], minutes=job["minutes"], steps=job["steps"],
                  seed=job["seed"], progress=False, observer=observer)
    post("evaluating")  # (the last preview)
    header = model.header
    preview(model, step=header["steps"], fraction=1.0, elapsed=time.perf_counter() - began,
            loss_db=header["losses"]["training"],
            validation_db=header["losses"]["validation"].get("total_db"), left=0.0)
    model.save(work / MODEL_FILE)
    names = " + ".join(s.info["name"] for s in style_inputs)
    record = {"id": ident, "kind": "model", "name": f"{names} ({header['extractor']})",
              "job": job, "header": header, "about": describe(model),
              "styles": [{"id": s.id, "name": s.info["name"], "weight": w}
                         for s, (_, w) in zip(style_inputs, job["styles"], strict=True)],
              "content": None if content_input is None else
              {"id": content_input.id, "name": content_input.info["name"]},
              "snapshots": previews, "seconds": time.perf_counter() - began,
              "cancelled": bool(header["interrupted"]), "finished": time.time()}
    finish_result(work, store.root / "models", record)
    post("done", record=record)


class _NothingYet(Exception):
    """A job cancelled before its result moved from where it started: nothing to keep."""


#: How far (dB below its start) a cancelled job's loss must have fallen for its result to be
#: kept: more than rounding (a start that never moved reads 0 dB, give or take 1e-15).
MOVED_DB = 0.01


def _moved(result: Result) -> bool:
    """Whether the optimisation got anywhere: its first stage's best is below its start."""
    first = next(iter(result.stages.values()), None)
    return first is not None and first.best_db < -MOVED_DB


def _inside(store: Store, filename: str | bytes) -> str:
    """``filename`` relative to the data folder when it is in it (messages go to the page,
    which has no business with the server's paths)."""
    path = Path(os.fsdecode(filename))
    return str(path.relative_to(store.root) if path.is_relative_to(store.root) else path)


def _keep(store: Store, payload: dict[str, Any], work: Path) -> dict[str, Any]:
    """The source result's snapshot as this result's audio; the record's synthesis part."""
    source = store.result_folder(payload["source"])
    if source is None:
        raise AudioStyleError("the result of that snapshot was deleted")
    audio = load_audio(source / "snapshots" / f"{payload['index']}.wav")
    _save(work, audio)
    return {"seconds": 0.0, "cancelled": False, "snapshots": [],
            "kept_from": {"id": payload["source"], **payload["snapshot"]}, "stages": {},
            "loss_db": payload["snapshot"]["loss_db"], "audio_seconds": audio.seconds,
            "channels": audio.channels, "sr": audio.sr}


def _save(work: Path, audio: Audio) -> None:
    """The result as WAV and (up to 8 channels) FLAC."""
    save_audio(work / "result.wav", audio)
    if audio.channels <= 8:
        save_audio(work / "result.flac", audio)


def _measure(key: str, payload: dict[str, Any], outbox: Any) -> None:
    """Seconds per iteration per second of one channel, in each stage of ``payload``'s
    extractor and options, and of what a job does besides (:data:`REST`,
    :data:`REST_PER_JOB`): a few iterations on the demo sounds as a job runs them, after a
    first, untimed run (a snapshot timed half-way through each stage, counted
    :data:`SNAPSHOTS` times; the result's phase recovery), and their result judged as a job's
    is, then judged again twice as long. Where an iteration's cost grows with the style's
    length, also each stage's growth per second of style (:data:`PER_STYLE_SECOND`), from a
    second, longer style."""
    from ..demo import bongo_loop, canon_melody

    sr = 22050
    n = int(MEASURE_SECONDS * sr)
    content = Audio(canon_melody(sr)[None, :n], sr)
    style = Audio(bongo_loop(sr, seconds=MEASURE_STYLE_SECONDS)[None], sr)

    def timed(style: Audio) -> tuple[dict[str, float], float, Result]:
        """Each stage's rate, and the seconds of the synthesis besides its iterations."""
        snapshot: dict[str, float] = {}  # per stage: one snapshot's seconds

        def observer(progress: Progress) -> None:
            # (one along the way, a preview, as all but a job's last: the last is the result)
            if progress.iteration == progress.iterations // 2:
                began = time.perf_counter()
                progress.snapshot()
                snapshot[progress.stage] = time.perf_counter() - began

        began = time.perf_counter()
        result = transfer(content, style, extractor=payload["extractor"],
                          options=payload["options"], iterations=4, refine_iterations=2,
                          progress=False, observer=observer)
        iterating = {name: t.seconds - snapshot.get(name, 0.0)
                     for name, t in result.stages.items()}
        besides = time.perf_counter() - began - sum(iterating.values()) - sum(snapshot.values())
        first = snapshot.get(result.settings.domain, 0.0)  # (most of a job's snapshots)
        return ({name: iterating[name] / t.iterations / MEASURE_SECONDS
                 for name, t in result.stages.items()}, besides + SNAPSHOTS * first, result)

    try:
        timed(style)  # (the first run also builds what every later one reuses: timed, the next)
        measured, synthesis, result = timed(style)
        if sketch_extractor(payload["extractor"], payload["options"]).cost_grows_with_style:
            longer, _, _ = timed(
                Audio(bongo_loop(sr, seconds=MEASURE_LONG_STYLE_SECONDS)[None], sr))
            extra = MEASURE_LONG_STYLE_SECONDS - MEASURE_STYLE_SECONDS
            measured |= {name + PER_STYLE_SECOND: max(longer[name] - rate, 0.0) / extra
                         for name, rate in list(measured.items())}
        with tempfile.TemporaryDirectory(prefix="audiostyle-measure-") as folder:
            def judged(times: int) -> float:
                """Seconds to judge the result and the content repeated ``times`` times."""
                repeated = [Audio(np.tile(a.samples, times), a.sr)
                            for a in (result.audio, content)]
                began = time.perf_counter()
                _judge(*repeated, style, payload["extractor"], payload["options"], Path(folder))
                return time.perf_counter() - began

            judged(1)  # (the first also builds what every later one reuses: timed, the next)
            once, twice = judged(1), judged(2)
    except (AudioStyleError, SynthesisError, MemoryError) as exc:
        outbox.put((key, "measured", {"error": str(exc)}))
        return
    per_second = max(twice - once, 0.0) / MEASURE_SECONDS
    per_job = max(once - per_second * MEASURE_SECONDS, 0.0)
    outbox.put((key, "measured", {"rates": {
        **measured, REST: per_second + synthesis / MEASURE_SECONDS, REST_PER_JOB: per_job}}))


def _load(found) -> Audio:
    audio = load_audio(found.sound)
    return Audio(audio.samples, audio.sr, found.info["name"])


def _db(value: float) -> float | None:
    return None if value <= 0 else round(float(10 * np.log10(value)), 3)
