"""Judges against judges: style gain under three families of statistics on the same sounds.

(draft: transfers only)
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from common import HERE

PAPER = Path(os.environ.get("AUDIOSTYLE_PAPER", HERE.parent.parent / "shared" / "paper"))
#: Where our own transfers are kept between runs (named by their job key, so a change of
#: defaults makes new ones); outside git.
WORK = Path(os.environ.get("JUDGES_WORK", Path.home() / ".cache" / "audiostyle" / "bench-judges"))
#: The paper's table (content stem, content kind, style stem) and its two opening results.
PAPER_PAIRS = (("pachelbel", "music", "cat_milk"), ("pachelbel", "music", "man_speaking_english"),
               ("woman_speaking_french", "speech", "crickets"),
               ("woman_speaking_french", "speech", "man_speaking_english"))
OPENING_PAIRS = (("pachelbel", "bongo-loop", "cp/pachelbel_bongo"),
                 ("pachelbel", "applause", "cp/pachelbel_applause"))


def _input(stem: str) -> Path:
    return PAPER / "inputs" / f"{stem}.mp3"


def our_transfers() -> list[tuple[str, str, str]]:
    """(content, style, extractor) of our defaults on the paper's pairs."""
    runs = [(c, s, e) for c, _, s in PAPER_PAIRS for e in ("mcdermott", "shallow")]
    return runs + [(c, s, "shallow") for c, s, _ in OPENING_PAIRS]


def transfer_all() -> dict[tuple[str, str, str], dict]:
    """Run (or find in :data:`WORK`) each of :func:`our_transfers`, one at a time."""
    from audiostyle.runs.jobs import Job, compute_result, read_record, save_result

    WORK.mkdir(parents=True, exist_ok=True)
    records = {}
    for content, style, extractor in our_transfers():
        job = Job.make(_input(content), _input(style), extractor)
        record = read_record(job, WORK)
        if record is None:
            began = time.perf_counter()
            result = compute_result(job)
            record = save_result(job, WORK, result, wall_seconds=time.perf_counter() - began)
            print(f"{job.label}: {record['wall_seconds']:.0f} s", flush=True)
        records[(content, style, extractor)] = {**record, "path": str(WORK / record["audio"])}
    return records
