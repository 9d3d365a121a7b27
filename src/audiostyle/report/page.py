"""The listening page: results in an HTML table like the paper's, self-contained.

A header gives each column's content and style (player and spectrogram); then one row per
extractor, each cell with the result's player, spectrogram and metrics; parameters, timing and
a legend of the metrics close the page. Audio stays in files beside the page (relative links)
and spectrograms go to ``spectrograms/``; there is no script and nothing external, so the page
works from ``file://`` and from any static server. All text from the user (file names,
parameters) is HTML-escaped. Every picture in a row uses the same colour scale.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from .._util import file_digest, number_text, slug
from ..errors import AudioStyleError
from ..io.audio import load_audio, to_mono
from .plots import LogSpectrogram, colour_range, log_spectrogram, save_spectrogram

#: Sub-folder of the page's folder holding the spectrogram pictures (pictures no longer shown
#: on the page are removed from it).
SPECTROGRAMS = "spectrograms"


@dataclass(frozen=True)
class Clip:
    """A sound on the page.

    Attributes:
        audio: the audio file, inside the page's folder.
        label: text shown with it (e.g. the original file name).
        metrics: :meth:`Evaluation.as_dict` (or its JSON form), shown under the player.
        seconds: how long its synthesis took.
        record: a file with its details (linked), inside the page's folder.
    """

    audio: Path
    label: str
    metrics: Mapping | None = None
    seconds: float | None = None
    record: Path | None = None


@dataclass(frozen=True)
class Column:
    """One content/style combination."""

    content: Clip
    style: Clip


LEGEND = (
    ("style SNR", "statistics SNR of the result against the style under each extractor, in dB: "
     "higher = closer to the style (∞ = identical statistics; McDermott & Simoncelli counted "
     "20 dB as a successful texture); in brackets the gain over the content itself"),
    ("chroma", "frame-wise correlation of the pitch-class profiles with the content "
     "(melody, harmony): 1 = kept, 0 = unrelated"),
    ("onsets", "correlation of the onset-strength envelopes with the content (rhythm): "
     "higher = kept"),
    ("envelopes", "correlation of the log-mel band envelopes with the content (timing of "
     "syllables and notes): higher = kept"),
    ("note F1", "onset-only note F1 of a Basic Pitch transcription of the result against the "
     "content's (pitch within 50 cents, onset within 50 ms; no loss uses it): 1 = every note "
     "kept; few notes are heard under noisy or percussive textures"),
    ("copy", "largest normalised cross-correlation with the style: near 1 = a replay of the "
     "style rather than a transfer; lower is better"),
    ("level", "integrated loudness (ITU-R BS.1770-4) and peak level"),
    ("check", "shown only when something is wrong: clipped samples, NaN, long silences"),
    ("spectrograms", "time in s across, log frequency in Hz up; one colour scale per row, "
     "its range in dB in the row's heading"),
)

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table.grid{border-collapse:collapse}
.grid th,.grid td{border:1px solid #ccc;padding:6px;vertical-align:top;text-align:left}
.grid thead th{background:#f4f4f4}
.grid th.row{background:#fafafa;min-width:8em}
.range{font-weight:normal;color:#666;font-size:12px}
audio{width:320px;display:block}
img{display:block;margin:4px 0}
.name{font-weight:600;overflow-wrap:anywhere;max-width:320px}
table.m{font-size:12px;border-collapse:collapse}
table.m th{font-weight:normal;color:#555;padding:0 6px 0 0;border:0}
table.m td{padding:0;border:0}
tr.warn td,tr.warn th{color:#b00}
.missing{color:#999}
table.facts td,table.facts th{text-align:left;padding:2px 10px 2px 0;vertical-align:top}
dt{font-weight:600}
"""


def style_sha256() -> str:
    """The content security policy source that allows the page's inline ``<style>`` (and
    nothing else inline): ``'sha256-…'``."""
    digest = hashlib.sha256(_CSS.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def write_page(
    folder: str | os.PathLike,
    columns: Sequence[Column],
    rows: Mapping[str, Sequence[Clip | None]],
    *,
    title: str = "audiostyle listening page",
    facts: Mapping[str, str] | None = None,
) -> Path:
    """Write ``folder/index.html`` (and its spectrograms); returns the page's path.

    Args:
        folder: the page's folder; every clip's audio must be inside it.
        columns: the content/style combinations, left to right.
        rows: extractor name → one clip per column (None where there is no result).
        title: page heading.
        facts: parameters and timing shown at the bottom, ``{name: text}``.
    """
    folder = Path(folder).resolve()
    pictures = _Pictures(folder)
    body = [f"<h1>{_e(title)}</h1>", '<table class="grid">', "<thead>"]
    contents = [c.content for c in columns]
    body.append(_header_row("content", _spans(contents), pictures))
    body.append(_header_row("style", [(c.style, 1) for c in columns], pictures))
    body.append("</thead><tbody>")
    for extractor, clips in rows.items():
        if len(clips) != len(columns):
            raise AudioStyleError(f"row {extractor!r}: {len(clips)} clips for "
                                  f"{len(columns)} columns")
        present = [c for c in clips if c is not None]
        low, high = pictures.scale(present)
        cells = "".join(_result_cell(c, extractor, pictures, low, high) for c in clips)
        body.append(_row(extractor, low, high, cells))
    body.append("</tbody></table>")
    if facts:
        body.append("<h2>Parameters and timing</h2><table class=\"facts\">")
        body += [f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in facts.items()]
        body.append("</table>")
    body.append("<h2>What the numbers mean</h2><dl>")
    body += [f"<dt>{_e(name)}</dt><dd>{_e(text)}</dd>" for name, text in LEGEND]
    body.append("</dl>")
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="data:,"><title>{_e(title)}</title>'
        f"<style>{_CSS}</style></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
    path = folder / "index.html"
    tmp = folder / ".index.html.part"
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, path)
    for old in (folder / SPECTROGRAMS).glob("*.png"):
        if old not in pictures.drawn:
            old.unlink()
    return path


class _Pictures:
    """Spectrograms of the page's clips: computed once per file, drawn per row scale."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.drawn: set[Path] = set()
        self._spectrograms: dict[Path, LogSpectrogram] = {}

    def scale(self, clips: Sequence[Clip]) -> tuple[float, float]:
        return colour_range(self._spectrogram(c.audio) for c in clips)

    def draw(self, clip: Clip, low: float, high: float) -> str:
        """Draw ``clip``'s spectrogram for this scale; its ``<img>`` tag."""
        audio = self._inside(clip.audio)
        version = file_digest(audio)[:10]  # a rewritten file gets a new picture
        name = f"{slug(audio.stem)}-{version}_{_tag(low)}_{_tag(high)}.png"
        path = self.folder / SPECTROGRAMS / name
        if not path.exists():
            save_spectrogram(path, self._spectrogram(audio), low=low, high=high)
        self.drawn.add(path)
        return (f'<img src="{_href(self.folder, path)}" width="320" height="150" '
                f'alt="spectrogram of {_e(clip.label)}">')

    def _spectrogram(self, audio: Path) -> LogSpectrogram:
        audio = self._inside(audio)
        if audio not in self._spectrograms:
            sound = to_mono(load_audio(audio))
            self._spectrograms[audio] = log_spectrogram(sound.samples[0], sound.sr)
        return self._spectrograms[audio]

    def _inside(self, path: Path) -> Path:
        path = Path(path).resolve()
        if not path.is_relative_to(self.folder):
            raise AudioStyleError(f"{path}: must be inside the page's folder {self.folder}")
        return path


def _spans(clips: Sequence[Clip]) -> list[tuple[Clip, int]]:
    """Runs of the same clip as ``(clip, count)``, for merged header cells."""
    runs: list[tuple[Clip, int]] = []
    for clip in clips:
        if runs and runs[-1][0].audio == clip.audio:
            runs[-1] = (clip, runs[-1][1] + 1)
        else:
            runs.append((clip, 1))
    return runs


def _header_row(kind: str, runs: list[tuple[Clip, int]], pictures: _Pictures) -> str:
    low, high = pictures.scale([clip for clip, _ in runs])
    cells = "".join(
        f'<th colspan="{span}"><div class="name">{_e(clip.label)}</div>'
        f'{_player(pictures.folder, clip)}{pictures.draw(clip, low, high)}</th>'
        for clip, span in runs
    )
    return _row(kind, low, high, cells)


def _row(heading: str, low: float, high: float, cells: str) -> str:
    """A table row: its heading with the colour range of its pictures, then ``cells``."""
    return (f'<tr data-colour-range="{low:g} {high:g}"><th class="row">{_e(heading)}'
            f'<div class="range">colours {_num(low, "g")} … {_num(high, "g")} dB</div></th>'
            f"{cells}</tr>")


def _result_cell(
    clip: Clip | None, extractor: str, pictures: _Pictures, low: float, high: float
) -> str:
    if clip is None:
        return '<td class="missing">no result</td>'
    links = [f'<a href="{_href(pictures.folder, clip.audio)}" download>audio</a>']
    if clip.record is not None:
        links.append(f'<a href="{_href(pictures.folder, clip.record)}">details</a>')
    return (f"<td>{_player(pictures.folder, clip)}{pictures.draw(clip, low, high)}"
            f"{_metrics(clip, extractor)}<div>{' · '.join(links)}</div></td>")


def _player(folder: Path, clip: Clip) -> str:
    return (f'<audio controls preload="metadata" src="{_href(folder, clip.audio)}" '
            f'title="{_e(clip.label)}"></audio>')


def _metrics(clip: Clip, extractor: str) -> str:
    m = clip.metrics or {}
    lines = []
    matches = m.get("style_match") or {}
    for name in sorted(matches, key=lambda n: n != extractor):
        match = matches[name]
        gain = match.get("gain_db")
        extra = "" if gain is None else f" ({_num(gain, '+.1f')})"
        text = f"{_e(name)} {_num(match.get('snr_db'), '.1f')} dB{extra}"
        lines.append(("style SNR", f"<b>{text}</b>" if name == extractor else text, False))
    content = m.get("content")
    if content:
        lines.append(("content", f"chroma {_num(content['chroma'], '.2f')} · onsets "
                      f"{_num(content['onsets'], '.2f')} · envelopes "
                      f"{_num(content['envelopes'], '.2f')}", False))
        if content.get("transcription"):
            notes = content["transcription"]
            lines.append(("note F1", f"{_num(notes['f1'], '.2f')} ({notes['matched']} of "
                          f"{notes['content_notes']} content notes)", False))
    if "copy" in m:
        lines.append(("copy", _num(m["copy"], ".2f"), False))
    checks = m.get("sanity")
    if checks:
        lines.append(("level", f"{_num(checks['loudness_lufs'], '.1f')} LUFS · peak "
                      f"{_num(checks['peak_dbfs'], '.1f')} dBFS", False))
        problems = _problems(checks)
        if problems:
            lines.append(("check", problems, True))
    if clip.seconds is not None:
        lines.append(("time", f"{clip.seconds:.1f} s", False))
    rows = "".join(f'<tr{" class=warn" if warn else ""}><th>{name}</th><td>{text}</td></tr>'
                   for name, text, warn in lines)
    return f'<table class="m">{rows}</table>' if rows else ""


def _problems(checks: Mapping) -> str:
    found = []
    if _float(checks["clipped_fraction"]) > 0:
        found.append(f"clipped {100 * _float(checks['clipped_fraction']):.2f} %")
    if checks["nonfinite"]:
        found.append(f"{checks['nonfinite']} NaN/inf samples")
    if _float(checks["silent_fraction"]) > 0.5:
        found.append(f"silent {100 * _float(checks['silent_fraction']):.0f} %")
    return " · ".join(found)


def _float(value: float | str | None) -> float:
    """A metric value (JSON may hold ``"inf"``, ``"-inf"``, ``"nan"``) as a float."""
    return math.nan if value is None else float(value)


def _num(value: float | str | None, spec: str) -> str:
    """:func:`number_text` typeset: ``∞`` for infinities, a true minus sign."""
    number = _float(value)
    if math.isinf(number):
        return ("+" if "+" in spec else "") + "∞" if number > 0 else "−∞"
    return number_text(number, spec).replace("-", "−")


def _tag(value: float) -> str:
    return f"{value:g}".replace("-", "m")


def _href(folder: Path, path: Path) -> str:
    """URL of ``path`` relative to the page, percent-encoded and HTML-escaped."""
    relative = Path(path).resolve().relative_to(folder).as_posix()
    return _e(quote(relative))


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)
