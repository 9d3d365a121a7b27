"""Run benchmark sections and assemble benchmarks/RESULTS.md.

Usage: ``./run bench [--quick] [SECTION ...]`` (default: every ``bench_*.py``).
``--quick`` runs small sizes only, to check that the benchmarks work; its numbers are not
written to the results. A section whose ``run`` returns None was skipped (its inputs are not
on this machine) and keeps its earlier files.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import HERE, assemble, write_section


def main() -> None:
    names = sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sections", nargs="*", help=f"any of: {', '.join(names)}")
    parser.add_argument("--quick", action="store_true", help="small sizes; results not written")
    args = parser.parse_args()
    args.sections = [name.replace("-", "_") for name in args.sections]  # style-models too
    unknown = set(args.sections) - set(names)
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}; choose from {names}")
    for name in args.sections or names:
        print(f"== {name}", flush=True)
        section = importlib.import_module(f"bench_{name}").run(quick=args.quick)
        if section is None:  # its inputs are not here (it said why): its files are kept
            continue
        print(section.markdown, flush=True)
        if not args.quick:
            write_section(section)
    if not args.quick:
        print(assemble())


if __name__ == "__main__":
    main()
