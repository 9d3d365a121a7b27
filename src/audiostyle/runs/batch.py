"""``audiostyle batch``: a manifest of transfers, run resumably on an engine.

A manifest is CSV with a header row, or JSON Lines (``.jsonl``: one object per line). Its
columns (keys):

- ``content``, ``style``: sound files; relative paths are relative to the manifest's folder;
- ``extractor``: registry name;
- ``options``: extractor options, ``KEY=VALUE`` separated by ``;`` or spaces (in JSON Lines also
  an object);
- any synthesis setting by its name in :class:`~audiostyle.synthesis.settings.Settings`
  (``iterations``, ``seed``, ``strength``, …), as text (CSV) or a JSON value.

Empty or missing values take the defaults given to :func:`batch` (the command line's). Each row
becomes a :class:`~audiostyle.runs.jobs.Job` named after its inputs' contents, so running the
manifest again skips finished jobs and an interrupted run resumes. A bad row (a missing file,
an unknown option) or a failed job is recorded and the others go on; so is a result that could
not be written (a full disk). The outcome of every row (and where it ran) goes to
``OUTDIR/results.csv``, rewritten at the end of each run, also one that Ctrl-C, SIGTERM or a
lost Ray cluster stopped (when that write fails, the summary says so).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .. import extractors as registry
from .._util import check_replaceable, write_text
from ..errors import AudioStyleError, Interrupted, WriteError
from ..io.audio import check_output_folder, check_regular_file
from ..synthesis.settings import FIELDS, Settings, describe
from .engines import Engine, EngineLost, LocalEngine, completed
from .jobs import Job, read_record

COLUMNS = ("content", "style", "extractor", "options", *FIELDS)
RESULT_COLUMNS = ("line", "status", "content", "style", "extractor", "output", "seconds",
                  "loss_db", "style_distance_db", "ran_on", "error")


@dataclass
class Entry:
    """One manifest row and what became of it.

    ``status``: ``done`` (run now), ``skipped`` (finished before), ``failed`` (``error`` says
    why; ``fault``: a failure such as a full disk or a diverged optimisation, not a mistake in
    the row), ``interrupted`` (Ctrl-C stopped it: its best result so far is saved, and the
    next run does it again) or ``not run`` (the run was interrupted first).
    """

    line: int
    content: str
    style: str
    extractor: str
    job: Job | None = None
    status: str = "not run"
    error: str = ""
    fault: bool = False
    record: dict[str, Any] = field(default_factory=dict)

    def as_row(self) -> dict[str, Any]:
        record = self.record
        return {"line": self.line, "status": self.status, "content": self.content,
                "style": self.style, "extractor": self.extractor,
                "output": record.get("audio", ""), "seconds": _number(record.get("seconds")),
                "loss_db": _number(record.get("loss_db")),
                "style_distance_db": _number(record.get("style_distance_db")),
                "ran_on": _where(record.get("ran_on")), "error": self.error}


@dataclass
class Summary:
    """What a :func:`batch` run did: an entry per manifest row, in order; ``interrupted``:
    Ctrl-C stopped the run; ``lost``: why the engine could run no more jobs (a Ray cluster's
    head lost; "" when it could); ``unwritten``: why ``results`` could not be written ("" when
    it was)."""

    entries: list[Entry]
    seconds: float
    results: Path
    engine: str
    interrupted: bool = False
    unwritten: str = ""
    lost: str = ""

    @property
    def counts(self) -> Counter:
        return Counter(entry.status for entry in self.entries)

    def table(self) -> str:
        """The summary printed at the end: rows per status, times, failures."""
        counts = self.counts
        synthesis = sum({e.job.key: e.record["seconds"] for e in self.entries
                         if e.status == "done"}.values())
        lines = [f"{len(self.entries)} rows in {self.seconds:.1f} s ({self.engine}):",
                 f"  done     {counts['done']:5d}   ({synthesis:.1f} s of synthesis)",
                 f"  skipped  {counts['skipped']:5d}   (finished before)",
                 f"  failed   {counts['failed']:5d}"]
        if counts["interrupted"]:
            lines.append(f"  interrupted {counts['interrupted']:2d}   (best result so far saved; "
                         "the next run does it again)")
        if counts["not run"]:
            why = "the engine was lost" if self.lost else "interrupted"
            lines.append(f"  not run  {counts['not run']:5d}   ({why})")
        lines += [f"  line {e.line}: {e.error}" for e in self.entries if e.status == "failed"]
        if self.lost:
            lines.append(f"  lost: {self.lost}")
        results = f"NOT WRITTEN: {self.unwritten}" if self.unwritten else self.results
        return "\n".join([*lines, f"results: {results}"])


def batch(
    manifest: str | os.PathLike,
    folder: str | os.PathLike,
    *,
    extractor: str = registry.DEFAULT_EXTRACTOR,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    settings: Settings | Mapping[str, Any] | None = None,
    engine: Engine | None = None,
    device: str | None = None,
    progress: bool = True,
) -> Summary:
    """Run the jobs of ``manifest`` into ``folder``; finished jobs are skipped.

    Args:
        manifest: CSV or JSON Lines file (see module docstring).
        folder: output folder (created): ``NAME.wav`` and ``NAME.json`` per job, and
            ``results.csv``.
        extractor: default extractor of rows that name none.
        options: extractor name → default options (a row's own options override them).
        settings: default synthesis settings (:class:`Settings` or a mapping of its fields).
        engine: where jobs run (default: :class:`~audiostyle.runs.engines.LocalEngine`, 1 worker).
        device: torch device of every job (default: the best available where it runs).
        progress: show a progress bar.

    A Ctrl-C stops the run: the job it stopped keeps its best result so far (unfinished: the
    next run does it again), ``results.csv`` is written and the summary says so
    (:attr:`Summary.interrupted`).
    """
    began = time.perf_counter()
    folder = check_output_folder(folder)
    results = folder / "results.csv"
    check_replaceable(results)
    engine = engine or LocalEngine()
    entries = plan(read_manifest(manifest), Path(manifest).parent, extractor=extractor,
                   options=options or {}, settings=Settings.of(settings))
    folder.mkdir(parents=True, exist_ok=True)
    waiting: dict[str, list[Entry]] = {}
    for entry in entries:
        if entry.job is None:
            continue
        record = read_record(entry.job, folder)
        if record is not None:
            entry.status, entry.record = "skipped", record
        else:
            waiting.setdefault(entry.job.key, []).append(entry)
    todo = [group[0].job for group in waiting.values()]
    interrupted, unwritten, lost = False, "", ""
    try:
        with tqdm(total=len(todo), unit="job", disable=not progress or not todo,
                  dynamic_ncols=True) as bar:
            for job, record in completed(todo, folder, engine=engine, device=device):
                for entry in waiting[job.key]:
                    if isinstance(record, Exception):
                        entry.status, entry.error = "failed", _message(record)
                        entry.fault = not isinstance(record, AudioStyleError)
                    else:
                        entry.status, entry.record = "done", record
                bar.update(1)
    except Interrupted as stop:  # the job Ctrl-C stopped: its best so far is saved
        interrupted = True
        job, record = stop.partial
        for entry in waiting[job.key]:
            entry.status, entry.record = "interrupted", record
    except KeyboardInterrupt:  # before the job it stopped had any result
        interrupted = True
    except EngineLost as exc:  # the finished jobs are kept; the others did not run
        lost = str(exc)
    finally:
        try:
            write_text(results, _csv(entries))
        except WriteError as exc:  # (a full disk) the summary still says what became of each row
            unwritten = str(exc)
    return Summary(entries, time.perf_counter() - began, results, engine.describe(),
                   interrupted, unwritten, lost)


def read_manifest(path: str | os.PathLike) -> list[tuple[int, dict[str, Any]]]:
    """``(line number, fields)`` of each non-empty row; raises :class:`AudioStyleError` for
    an unreadable manifest or an unknown column."""
    path = Path(path)
    check_regular_file(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise AudioStyleError(f"{path}: cannot read the manifest ({exc})") from None
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        rows = [(number, _json_row(path, number, line))
                for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    else:
        rows = _csv_rows(path, text)
        for line, row in rows:
            if "\0" in row:
                raise AudioStyleError(f"{path}:{line}: more cells than header columns")
    for line, row in rows:
        unknown = sorted(set(row) - set(COLUMNS))
        if unknown:
            raise AudioStyleError(f"{path}:{line}: unknown column {unknown[0]!r}; columns: "
                                  f"{', '.join(COLUMNS)}")
    if not rows:
        raise AudioStyleError(f"{path}: the manifest has no rows")
    return rows


def plan(
    rows: list[tuple[int, dict[str, Any]]],
    base: Path,
    *,
    extractor: str,
    options: Mapping[str, Mapping[str, Any]],
    settings: Settings,
) -> list[Entry]:
    """An :class:`Entry` per row, with its job or (status ``failed``) why it has none."""
    digests: dict[str, str] = {}
    checked: dict[str, str] = {}  # extractor, options and rate → "" or why they fail
    entries = []
    for line, row in rows:
        name = str(row.get("extractor") or extractor).strip()
        entry = Entry(line, str(row.get("content", "")), str(row.get("style", "")), name)
        try:
            paths = [_path(base, row, key) for key in ("content", "style")]
            chosen = {**dict(options.get(name, {})), **_options(row.get("options"))}
            known = registry.options(name)
            for key in chosen:
                if key not in known:
                    raise AudioStyleError(f"extractor {name!r} has no option {key!r}; "
                                          f"options: {', '.join(known) or 'none'}")
            values = {key: setting.parse(key, row[key]) for key, setting in describe()
                      if key in row}
            job = Job.make(*paths, name, chosen, Settings.of(settings, **values),
                           digests=digests)
            _check_extractor(job, checked)
            entry.job = job
        except AudioStyleError as exc:
            entry.status, entry.error = "failed", str(exc)
        entries.append(entry)
    return entries


def _check_extractor(job: Job, checked: dict[str, str]) -> None:
    """Refuse (:class:`AudioStyleError`) a job whose extractor cannot be built with its option
    values at its rate, before any job runs (a sketch: no weights; ``checked`` remembers)."""
    key = json.dumps([job.extractor, job.options, job.synthesis_settings.working_sr])
    if key not in checked:
        try:
            registry.sketch_extractor(job.extractor, dict(job.options),
                                      job.synthesis_settings.working_sr)
            checked[key] = ""
        except AudioStyleError as exc:
            checked[key] = str(exc)
    if checked[key]:
        raise AudioStyleError(checked[key])


def _csv_rows(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    """``(last line, cells)`` of each non-empty CSV row (an empty cell's key is absent, extra
    cells are under ``"\0"``); a malformed row (an unclosed quote) is an error naming the line
    where it begins."""
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey="\0", strict=True)
    rows, begins = [], 1
    try:
        if reader.fieldnames is not None:  # the header, read now
            begins = reader.line_num + 1
        for row in reader:
            cells = {k: v for k, v in row.items() if v not in (None, "")}
            if "\0" in cells or any(v.strip() for v in cells.values()):
                rows.append((reader.line_num, cells))
            begins = reader.line_num + 1
    except csv.Error as exc:
        problem = ("a quote opened in this row is never closed" if "end of data" in str(exc)
                   else f"malformed CSV ({exc})")
        raise AudioStyleError(f"{path}:{begins}: {problem}") from None
    return rows


def _json_row(path: Path, line: int, text: str) -> dict[str, Any]:
    try:
        row = json.loads(text)
    except ValueError as exc:
        raise AudioStyleError(f"{path}:{line}: not JSON ({exc})") from None
    if not isinstance(row, dict):
        raise AudioStyleError(f"{path}:{line}: expected a JSON object per line")
    return {key: value for key, value in row.items() if value not in (None, "")}


def _path(base: Path, row: Mapping[str, Any], key: str) -> str:
    if key not in row:
        raise AudioStyleError(f"no {key} file given")
    path = Path(str(row[key]).strip()).expanduser()
    return str(path if path.is_absolute() else base / path)


def _options(value: Any) -> dict[str, Any]:
    """A row's options: a mapping, or ``KEY=VALUE`` items separated by ``;`` or spaces."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(k).replace("-", "_"): v for k, v in value.items()}
    parsed = {}
    for item in re.split(r"[;\s]+", str(value).strip()):
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise AudioStyleError(f"options {value!r}: expected KEY=VALUE items, e.g. "
                                  "form=drawn;filters=2048")
        parsed[key.replace("-", "_")] = text
    return parsed


def _message(exc: Exception) -> str:
    named = isinstance(exc, (AudioStyleError, WriteError))  # messages that name their file
    return str(exc) if named else f"{type(exc).__name__}: {exc}"


def _where(ran_on: Any) -> str:
    """Where a job ran, for the table: its host, and its Ray node (12 hex digits)."""
    if not isinstance(ran_on, dict):
        return ""
    node = ran_on.get("ray_node")
    return str(ran_on.get("host", "")) + (f" (ray node {str(node)[:12]})" if node else "")


def _number(value: Any) -> str:
    return "" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def _csv(entries: list[Entry]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, RESULT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(entry.as_row() for entry in entries)
    return out.getvalue()
