"""The documentation stays true to the code: the README's extractor table is generated from
the registry, every relative link and anchor resolves, and the README stays a short guide that
starts with the two commands."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
        ROOT / "benchmarks" / "RESULTS.md"]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    """The anchors of a Markdown file: its headings' slugs and its ``<a id="…">`` tags."""
    seen: dict[str, int] = {}
    anchors = set(re.findall(r'<a id="([^"]+)"', path.read_text()))
    fenced = False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if fenced or not line.startswith("#"):
            continue
        slug = _slug(line.lstrip("#"))
        count = seen.get(slug, 0)
        anchors.add(slug if count == 0 else f"{slug}-{count}")
        seen[slug] = count + 1
    return anchors


def test_the_slug_rule_is_githubs():
    assert _slug(" Frontier: style gained against content kept") == \
        "frontier-style-gained-against-content-kept"
    assert _slug("Spectrogram, then waveform") == "spectrogram-then-waveform"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(doc):
    broken = []
    for target in LINK.findall(doc.read_text()):
        if re.match(r"[a-z]+:", target):  # http:, mailto: …: not ours to check
            continue
        file, _, anchor = target.partition("#")
        path = (doc.parent / file).resolve() if file else doc
        missing = anchor and path.suffix == ".md" and anchor not in _anchors(path)
        if not path.exists() or missing:
            broken.append(target)
    assert not broken, f"{doc.name}: broken links {broken}"


def test_the_readme_is_a_short_guide_that_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 250
    first_block = text.split("```bash\n", 1)[1].split("```", 1)[0].splitlines()
    assert [line.split()[0:2] for line in first_block] == [["./run", "demo"], ["./run", "test"]]


def test_the_readme_extractor_table_is_generated_from_the_registry():
    done = subprocess.run([sys.executable, str(ROOT / "docs" / "tables.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
