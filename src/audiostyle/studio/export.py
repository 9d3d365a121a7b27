"""Export finished results as the static listening page (:func:`audiostyle.page.write_page`).

Each result is a column (its content and main style in the header); the rows are the
extractors used (a style model's results in a row of their own per extractor), so a cell is
empty where a result used another extractor. The page's folder
holds copies of every sound, so it can be moved or served as it is.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ..report.page import Clip, Column, write_page
from .store import Store


def export_page(store: Store, records: list[dict[str, Any]]) -> Path:
    """Write the listening page of ``records`` into a new export folder; returns the folder."""
    folder = store.export_folder()
    audio = folder / "audio"
    audio.mkdir(parents=True)
    columns, cells = [], {}
    for record in records:
        main = max(record["styles"], key=lambda s: s["weight"])
        sounds = {}
        for role, item in (("content", record["content"]), ("style", main)):
            source = store.input(item["id"])
            sounds[role] = Clip(_copy(source.folder / "play.wav", audio / f"{item['id']}.wav"),
                                item["name"])
        columns.append(Column(sounds["content"], sounds["style"]))
        result = store.result_folder(record["id"])
        clip = Clip(_copy(result / "result.wav", audio / f"result-{record['id']}.wav"),
                    f"result {record['id']}", metrics=record.get("metrics"),
                    seconds=record.get("seconds"))
        job = record["job"]
        row = f"{job['extractor']} style model" if job.get("kind") == "apply" else \
            job["extractor"]
        cells.setdefault(row, {})[len(columns) - 1] = clip
    rows = {name: [by_column.get(i) for i in range(len(columns))]
            for name, by_column in cells.items()}
    write_page(folder, columns, rows, title="audiostyle studio results",
               facts={"results": f"{len(records)} from the audiostyle studio"})
    return folder


def _copy(source: Path, target: Path) -> Path:
    if not target.exists():
        shutil.copyfile(source, target)
    return target
