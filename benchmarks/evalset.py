"""Build the wider evaluation set: 8 contents × 8 styles from Debian packages and code.

Usage: ``.venv/bin/python benchmarks/evalset.py [--check] [--keep-debs]`` (after ``./run``);
the set goes to ``$AUDIOSTYLE_EVALSET`` (default ``~/.cache/audiostyle/evalset``), outside
git: ``NAME.wav`` per sound and ``manifest.json`` (name, role, part, source package and
version, file inside it, licence, how it was made, seconds, rate, channels, SHA-256 of the
source file and of the WAV). ``./run bench`` never needs it.

Sources (Debian 12 "bookworm", main; every licence allows redistribution):

- **styles**, real recordings from game data packages, cut to 8 s: rain, wind and insects
  (crickets at night) from ``megaglest-data`` (CC-BY-SA-3.0), water (a river) and crowd (a
  stadium cheering) from ``supertuxkart-data`` (CC0 / CC-BY-3.0, freesound.org originals),
  fire (a campfire) from ``wesnoth-1.16-data`` (GPL-2+), bells (a peal: one real bell of
  ``supertux-data``, GPL-3+, struck at four pitches in rounds) and machines (a recycling
  plant of ``lincity-ng-data``, GPL-2+, 4 s, played twice with a cross-fade);
- **contents**, made by code: speech by espeak-ng in English (US, male), French (female
  variant) and German (low male variant); singing, piano, guitar and flute rendered by
  fluidsynth from MIDI written here with the FluidR3 General MIDI soundfont of
  ``fluid-soundfont-gm`` (MIT; real sampled instruments, "Voice Oohs" for the singing); a
  rock drum loop assembled from the real samples of hydrogen's Colombo acoustic kit
  (``hydrogen-drumkits``, GPL-2+).

Data packages are fetched with ``apt-get download`` at pinned versions, checked against
pinned SHA-256 digests and unpacked with ``dpkg-deb`` (nothing installed); each file taken
from them is checked against its own digest. The tools ``espeak-ng`` and ``fluidsynth`` must be
installed (``apt-get install espeak-ng fluidsynth``); their versions go into the manifest
(their output may differ between versions: ``--check`` then says which files changed).

**Split.** Tuning part: contents speech_en, piano, drums, flute × styles rain, fire, wind,
bells (16 pairs); held-out part: speech_fr, speech_de, singing, guitar × water, crowd,
insects, machines (16 pairs). Tune on the first, report on the second; the 32 mixed pairs
belong to neither.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from audiostyle._util import file_digest as _digest

CACHE = Path(os.environ.get("AUDIOSTYLE_EVALSET",
                            Path.home() / ".cache" / "audiostyle" / "evalset"))
SECONDS = 8.0
#: Every sound is scaled to this peak (dBFS).
PEAK_DBFS = -3.0
#: Data packages: version and SHA-256 of the .deb.
PACKAGES = {
    "megaglest-data": ("3.13.0-3",
                       "ed4783d9fc78e201a548b266f7c30325eb16cfd58a20bf4597dd6e622f84a07e"),
    "supertuxkart-data": ("1.4+dfsg-2",
                          "568d69cda50dc8ad1facb89514bd14953dfca736fdb83c49ae330b0aa7dd2364"),
    "wesnoth-1.16-data": ("1:1.16.9-1",
                          "1012b964bd412a6770685e3324ae3b61e176caff7846192d1ee63d55cd621e26"),
    "supertux-data": ("0.6.3-2",
                      "a6ad8865972f1dbb5e7b49f4e1b381dd16a68f3028a3502cfeaca2400285d27f"),
    "lincity-ng-data": ("2.9~git20150314-5",
                        "8f5e85bd42879abdc7099b035d7a3d7468eceb6b93b52a12270c28f3f3c792f9"),
    "fluid-soundfont-gm": ("3.1-5.3",
                           "6f531493ac4e4d9772fd96b2488ea1790af81c196135fbdd25997da0781fc60e"),
    "hydrogen-drumkits": ("2017.09.19~dfsg-1",
                          "6ea3c6df9a67762e2362f946c695e619859126b19fbccf32a2e8f07dfd03b2f4"),
}
#: Tools run to make the contents, and the versions the manifest was made with.
TOOLS = {"espeak-ng": "1.51+dfsg-10+deb12u2", "fluidsynth": "2.3.1-2"}
_MG = "usr/share/games/megaglest/tilesets"
_STK = "usr/share/games/supertuxkart/data/sfx"
_KIT = "usr/share/hydrogen/data/drumkits/ColomboAcousticDrumkit"
#: Files taken from the packages: (package, path inside it) → SHA-256.
FILES = {
    ("megaglest-data", f"{_MG}/autumn/sounds/rain.ogg"):
        "7329a4a61f7739e19cc999e418ec209b7f4ca183eab2d3dcda53bbacc332ac31",
    ("megaglest-data", f"{_MG}/winter/sounds/wind.ogg"):
        "4d48f5cedfb0902f2107b42bfc04f6a268cc8fa75291069817463f98c5d38427",
    ("megaglest-data", f"{_MG}/desert2/sounds/night.ogg"):
        "7196b4ba4edab22a47a28be3efa14a491607f83546687375b962d04dd384ba0f",
    ("supertuxkart-data", f"{_STK}/river_loop.ogg"):
        "58d3f165ff9b4e5e031e24e16cb1cdc475dd76df0aafd6df7d84e637cee2fd2c",
    ("supertuxkart-data", f"{_STK}/goal_scored.ogg"):
        "0f17fdbc414bac3e58e7f6441392d17b7616ea64b11aa09cb5cd5f7f8b1927c9",
    ("wesnoth-1.16-data", "usr/share/games/wesnoth/1.16/data/core/sounds/ambient/campfire.ogg"):
        "d1e6caeb24cdb93fa8fcd95c7d7c345fe5e739cb282faa08ec856dfec885b48f",
    ("supertux-data", "usr/share/games/supertux2/sounds/savebell2.wav"):
        "bb7c12625d498111c2c03e1af6f1736490efb76426730f2d889551bce0dacd0a",
    ("lincity-ng-data", "usr/share/games/lincity-ng/sounds/Recycle3.wav"):
        "106cfd13d6ac110aefae59b881f92ab5e85f6a7fdddb2621452dc993895c6b2d",
    ("fluid-soundfont-gm", "usr/share/sounds/sf2/FluidR3_GM.sf2"):
        "74594e8f4250680adf590507a306655a299935343583256f3b722c48a1bc1cb0",
    ("hydrogen-drumkits", f"{_KIT}/bassdrum-4mics-br-stereo-normal3.flac"):
        "1860209c3a5fef16606a350a43f1ff08a594ab70eea136b59a9ae551ee5de139",
    ("hydrogen-drumkits", f"{_KIT}/snare-opaque-normal-mic-normal_shot2.flac"):
        "15e72183ab2856cbaf1212ea5680cd9adf67838d06944880631af8dcd94e5468",
    ("hydrogen-drumkits", f"{_KIT}/hihat-closed-1.flac"):
        "0252e9b73cf2b573f59cea35671c48b7acb716108843718256c1339d62454961",
    ("hydrogen-drumkits", f"{_KIT}/hihat-open-1.flac"):
        "b313a5f0c652068946a8778cfc80b862e70f9634f88e7bcaefe12f87b0e2d743",
    ("hydrogen-drumkits", f"{_KIT}/crash16i__crash1.flac"):
        "5024decba952c7ce49511a30e865c7d3f5379bf6337c588531d6b4ba5dc0c43e",
}
TUNING = ("speech_en", "piano", "drums", "flute", "rain", "fire", "wind", "bells")
HELD_OUT = ("speech_fr", "speech_de", "singing", "guitar", "water", "crowd", "insects",
            "machines")


class BuildError(Exception):
    """A step failed: its one-line message says which and why."""


@dataclass(frozen=True)
class Sound:
    """One sound of the set: how it is made (``make(sources) -> (samples (time, ch), sr)``)."""

    name: str
    role: str
    package: str
    file: str
    licence: str
    how: str
    make: Callable[[Path], tuple[np.ndarray, int]]


# --- styles: real recordings ------------------------------------------------------------------

def _read(sources: Path, package: str, path: str) -> tuple[np.ndarray, int]:
    samples, sr = sf.read(sources / package / path, dtype="float64", always_2d=True)
    return samples, sr


def _cut(package: str, path: str, start: float) -> Callable[[Path], tuple[np.ndarray, int]]:
    def make(sources: Path) -> tuple[np.ndarray, int]:
        x, sr = _read(sources, package, path)
        begin = int(start * sr)
        if x.shape[0] < begin + int(SECONDS * sr):
            raise BuildError(f"{package}:{path} is shorter than {start + SECONDS:g} s")
        return x[begin: begin + int(SECONDS * sr)], sr
    return make


def _resample(x: np.ndarray, sr: int, to: int) -> np.ndarray:
    """``(time, ch)`` from ``sr`` to ``to`` Hz (soxr, as audiostyle resamples)."""
    import soxr

    return soxr.resample(x, sr, to, quality="VHQ")


def _bells(sources: Path) -> tuple[np.ndarray, int]:
    """One bell struck at four pitches (a major tetrachord down), in rounds, 8 s."""
    bell, sr = _read(sources, "supertux-data", "usr/share/games/supertux2/sounds/savebell2.wav")
    onset = int(np.argmax(np.abs(bell).sum(1) > 0.05 * np.abs(bell).max()))
    bell = bell[onset:]
    out = np.zeros((int(SECONDS * sr) + 3 * bell.shape[0], bell.shape[1]))
    strikes = [(0.45 * (i + i // 4), ratio)  # a rest after each round (the handstroke gap)
               for i, ratio in enumerate([1, 8 / 9, 4 / 5, 3 / 4] * 4)]
    for at, ratio in strikes:
        lower = _resample(bell, round(sr * ratio), sr)  # read slower: lower and longer
        start = int(at * sr)
        out[start: start + lower.shape[0]] += lower
    return out[: int(SECONDS * sr)], sr


def _machines(sources: Path) -> tuple[np.ndarray, int]:
    """The 4-s recycling plant twice, cross-faded over 0.5 s (equal power)."""
    x, sr = _read(sources, "lincity-ng-data", "usr/share/games/lincity-ng/sounds/Recycle3.wav")
    fade = int(0.5 * sr)
    ramp = np.sin(np.linspace(0, np.pi / 2, fade))[:, None]
    joint = x[-fade:] * ramp[::-1] + x[:fade] * ramp
    return np.concatenate([x[:-fade], joint, x[fade:]]), sr


# --- contents: speech and rendered instruments ------------------------------------------------

SPEECH = {
    "speech_en": ("en-us", 150, 50, "The old lighthouse keeper climbed the narrow stairs "
                  "every evening, lit the great lamp, and watched the ships pass safely "
                  "through the storm."),
    "speech_fr": ("fr+f3", 150, 55, "Chaque matin, la boulangère ouvre sa petite boutique, "
                  "range les croissants chauds sur le comptoir et salue les voisins qui "
                  "passent."),
    "speech_de": ("de+m3", 140, 35, "Am Wochenende fahren wir mit dem Fahrrad an den See, "
                  "schwimmen im kalten Wasser und essen danach Kuchen im kleinen Café."),
}


def _speech(name: str) -> Callable[[Path], tuple[np.ndarray, int]]:
    voice, words_per_minute, pitch, text = SPEECH[name]

    def make(sources: Path) -> tuple[np.ndarray, int]:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "speech.wav"
            _tool(["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-p", str(pitch),
                   "-w", str(path), text])
            x, sr = sf.read(path, dtype="float64", always_2d=True)
        if x.shape[0] < 5 * sr:
            raise BuildError(f"espeak-ng spoke {name} in {x.shape[0] / sr:.1f} s, under 5 s")
        return x[: int(SECONDS * sr)], sr
    return make


#: Melodies as (start beat, beats, MIDI pitch) lists; tempo and General MIDI program.
def _piano() -> list[tuple[float, float, int]]:
    """Bach's Prelude in C (BWV 846), bars 1–4: each bar's chord broken twice."""
    bars = [(60, 64, 67, 72, 76), (60, 62, 69, 74, 77), (59, 62, 67, 74, 77),
            (60, 64, 67, 72, 76)]
    notes = []
    for b, (bass, tenor, *upper) in enumerate(bars):
        for half in range(2):
            at = 4 * b + 2 * half
            notes += [(at, 2, bass), (at + 0.25, 1.75, tenor)]
            notes += [(at + 0.5 + 0.25 * i, 0.25, p) for i, p in enumerate(upper * 2)]
    return notes


def _guitar() -> list[tuple[float, float, int]]:
    """Fingerpicked A minor – G – F – E, one bar each, eighth notes."""
    chords = [(45, 57, 60, 64), (43, 55, 59, 62), (41, 57, 60, 65), (40, 56, 59, 64)]
    notes = []
    for b, (bass, a, c, e) in enumerate(chords):
        pattern = [bass, a, c, e, c, a, c, e]
        notes += [(4 * b + 0.5 * i, 1.5 if i == 0 else 0.5, p) for i, p in enumerate(pattern)]
    return notes


#: Greensleeves (first two phrases), in beats of 3/4 — the flute's and the voice's tune.
_TUNE = [(0, 1, 69), (1, 2, 72), (3, 1, 74), (4, 1.5, 76), (5.5, 0.5, 77), (6, 1, 76),
         (7, 2, 74), (9, 1, 71), (10, 1.5, 67), (11.5, 0.5, 69), (12, 1, 71), (13, 2, 72),
         (15, 1, 69), (16, 1.5, 69), (17.5, 0.5, 68), (18, 1, 69), (19, 2, 71), (21, 1, 68),
         (22, 2, 64)]
MIDI_PIECES = {  # name: (notes, beats per minute, program, velocity)
    "piano": (_piano, 66, 0, 80),
    "guitar": (_guitar, 70, 24, 90),
    "flute": (lambda: _TUNE, 100, 73, 90),
    "singing": (lambda: [(s, d, p - 12) for s, d, p in _TUNE], 100, 53, 100),
}


def midi_file(notes: list[tuple[float, float, int]], bpm: float, program: int,
              velocity: int) -> bytes:
    """A Standard MIDI File (format 0, 480 ticks per beat) playing ``notes`` on one
    channel with a General MIDI ``program``."""
    ticks = 480
    events = [(0, 0, bytes([0xFF, 0x51, 0x03]) + round(60e6 / bpm).to_bytes(3, "big")),
              (0, 0, bytes([0xC0, program]))]
    for start, beats, pitch in notes:
        events.append((round(start * ticks), 2, bytes([0x90, pitch, velocity])))
        events.append((round((start + beats) * ticks), 1, bytes([0x80, pitch, 0])))
    track, now = b"", 0
    for tick, _, data in sorted(events):
        delta, quantity = tick - now, []
        now = tick
        quantity.append(delta & 0x7F)
        while delta > 0x7F:
            delta >>= 7
            quantity.append(0x80 | (delta & 0x7F))
        track += bytes(reversed(quantity)) + data
    track += bytes([0x00, 0xFF, 0x2F, 0x00])
    return (b"MThd" + struct.pack(">IHHH", 6, 0, 1, ticks)
            + b"MTrk" + struct.pack(">I", len(track)) + track)


def _rendered(name: str) -> Callable[[Path], tuple[np.ndarray, int]]:
    notes, bpm, program, velocity = MIDI_PIECES[name]

    def make(sources: Path) -> tuple[np.ndarray, int]:
        font = sources / "fluid-soundfont-gm" / "usr/share/sounds/sf2/FluidR3_GM.sf2"
        with tempfile.TemporaryDirectory() as tmp:
            song, out = Path(tmp) / "song.mid", Path(tmp) / "out.wav"
            song.write_bytes(midi_file(notes(), bpm, program, velocity))
            _tool(["fluidsynth", "-n", "-i", "-q", "-r", "44100", "-g", "0.6", "-F", str(out),
                   str(font), str(song)])
            x, sr = sf.read(out, dtype="float64", always_2d=True)
        return x[: int(SECONDS * sr)], sr
    return make


def _drums(sources: Path) -> tuple[np.ndarray, int]:
    """A rock beat at 110 BPM from the Colombo kit: kick on 1 and 3 (and 3's "and"), snare
    on 2 and 4, closed hi-hat eighths, an open hi-hat closing each bar, a crash on the first
    beat."""
    kit = {name: _read(sources, "hydrogen-drumkits", f"{_KIT}/{file}")
           for name, file in (("kick", "bassdrum-4mics-br-stereo-normal3.flac"),
                              ("snare", "snare-opaque-normal-mic-normal_shot2.flac"),
                              ("hat", "hihat-closed-1.flac"), ("open", "hihat-open-1.flac"),
                              ("crash", "crash16i__crash1.flac"))}
    sr = kit["kick"][1]
    beat = 60 / 110
    hits = [(0, "crash", 0.6)]
    for bar in range(5):
        t = 4 * bar
        hits += [(t, "kick", 1), (t + 2, "kick", 1), (t + 2.5, "kick", 0.8),
                 (t + 1, "snare", 1), (t + 3, "snare", 1), (t + 3.5, "open", 0.5)]
        hits += [(t + 0.5 * i, "hat", 0.5 if i % 2 else 0.7) for i in range(7)]
    out = np.zeros((int((SECONDS + 4) * sr), 2))
    for at, name, gain in hits:
        sample = kit[name][0]
        start = int(at * beat * sr)
        out[start: start + sample.shape[0]] += gain * sample
    return out[: int(SECONDS * sr)], sr


def sounds() -> list[Sound]:
    mg = "CC-BY-SA-3.0 (MegaGlest data)"
    font = ("fluid-soundfont-gm", "usr/share/sounds/sf2/FluidR3_GM.sf2",
            "MIT (FluidR3 soundfont)")
    out = [
        Sound("rain", "style", "megaglest-data", f"{_MG}/autumn/sounds/rain.ogg", mg,
              "cut 2–10 s", _cut("megaglest-data", f"{_MG}/autumn/sounds/rain.ogg", 2)),
        Sound("water", "style", "supertuxkart-data", f"{_STK}/river_loop.ogg",
              "CC0-1.0 (Adam Newns, freesound.org 166310)", "cut 0–8 s",
              _cut("supertuxkart-data", f"{_STK}/river_loop.ogg", 0)),
        Sound("fire", "style", "wesnoth-1.16-data",
              "usr/share/games/wesnoth/1.16/data/core/sounds/ambient/campfire.ogg",
              "GPL-2+ (Battle for Wesnoth)", "cut 0–8 s",
              _cut("wesnoth-1.16-data",
                   "usr/share/games/wesnoth/1.16/data/core/sounds/ambient/campfire.ogg", 0)),
        Sound("wind", "style", "megaglest-data", f"{_MG}/winter/sounds/wind.ogg", mg,
              "cut 4–12 s", _cut("megaglest-data", f"{_MG}/winter/sounds/wind.ogg", 4)),
        Sound("crowd", "style", "supertuxkart-data", f"{_STK}/goal_scored.ogg",
              "CC-BY-3.0 (jordiroquer, freesound.org 148153)", "cut 0–8 s",
              _cut("supertuxkart-data", f"{_STK}/goal_scored.ogg", 0)),
        Sound("insects", "style", "megaglest-data", f"{_MG}/desert2/sounds/night.ogg", mg,
              "cut 2–10 s (crickets)",
              _cut("megaglest-data", f"{_MG}/desert2/sounds/night.ogg", 2)),
        Sound("bells", "style", "supertux-data", "usr/share/games/supertux2/sounds/savebell2.wav",
              "GPL-3+ (SuperTux)", "one bell at 4 pitches, 4 rounds (code)", _bells),
        Sound("machines", "style", "lincity-ng-data",
              "usr/share/games/lincity-ng/sounds/Recycle3.wav", "GPL-2+ (LinCity-NG)",
              "4 s played twice, 0.5 s cross-fade (code)", _machines),
    ]
    for name, (voice, *_rest) in SPEECH.items():
        out.append(Sound(name, "content", "espeak-ng-data", f"voice {voice}",
                         "GPL-3+ (espeak-ng)", "espeak-ng", _speech(name)))
    described = {"piano": "Bach, Prelude in C, bars 1–4 (GM piano)",
                 "guitar": "fingerpicked Am–G–F–E (GM nylon guitar)",
                 "flute": "Greensleeves (GM flute)",
                 "singing": "Greensleeves an octave down (GM Voice Oohs)"}
    for name, how in described.items():
        out.append(Sound(name, "content", *font, f"fluidsynth: {how}", _rendered(name)))
    out.append(Sound("drums", "content", "hydrogen-drumkits", f"{_KIT}/*.flac",
                     "GPL-2+ (Marcos Guglielmetti, Colombo acoustic kit)",
                     "rock beat, 110 BPM (code)", _drums))
    return out


# --- fetching and checking --------------------------------------------------------------------

def _tool(argv: list[str]) -> None:
    if shutil.which(argv[0]) is None:
        raise BuildError(f"{argv[0]} is not installed: apt-get install {argv[0]}")
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"{argv[0]} failed: {(proc.stderr or proc.stdout).strip()[-200:]}")


def _tool_version(name: str) -> str:
    proc = subprocess.run(["dpkg-query", "-W", "-f=${Version}", name], capture_output=True,
                          text=True)
    return proc.stdout.strip() or "unknown"


def fetch(sources: Path, keep_debs: bool) -> None:
    """Every file of :data:`FILES` under ``sources/PACKAGE/PATH``, checked; downloads only the
    packages with a file missing or changed."""
    wanted: dict[str, list[str]] = {}
    for (package, path), digest in FILES.items():
        target = sources / package / path
        if not target.is_file() or _digest(target) != digest:
            wanted.setdefault(package, []).append(path)
    debs = CACHE / "debs"
    for package, paths in wanted.items():
        version, digest = PACKAGES[package]
        debs.mkdir(parents=True, exist_ok=True)
        deb = debs / f"{package}.deb"
        if not deb.is_file() or _digest(deb) != digest:
            print(f"fetching {package}={version}", flush=True)
            with tempfile.TemporaryDirectory(dir=debs) as tmp:
                proc = subprocess.run(["apt-get", "download", "-q", f"{package}={version}"],
                                      cwd=tmp, capture_output=True, text=True)
                got = list(Path(tmp).glob("*.deb"))
                if proc.returncode != 0 or not got:
                    reason = (proc.stderr.strip().splitlines() or ["no .deb"])[-1]
                    raise BuildError(f"cannot fetch {package}={version} ({reason}); run "
                                     "apt-get update, or pin the version Debian now has")
                got[0].replace(deb)
            if _digest(deb) != digest:
                raise BuildError(f"{package}={version}: the .deb's SHA-256 is not the pinned "
                                 "one")
        unpack = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)],
                                  stdout=subprocess.PIPE)
        (sources / package).mkdir(parents=True, exist_ok=True)
        tar = subprocess.run(["tar", "-x", "-C", str(sources / package)]
                             + [f"./{p}" for p in paths], stdin=unpack.stdout,
                             capture_output=True, text=True)
        unpack.wait()
        if tar.returncode != 0:
            raise BuildError(f"cannot unpack {package}: {tar.stderr.strip()[-200:]}")
        for path in paths:
            if _digest(sources / package / path) != FILES[(package, path)]:
                raise BuildError(f"{package}:{path}: SHA-256 is not the pinned one")
        if not keep_debs:
            deb.unlink()


def build(keep_debs: bool = False) -> list[dict]:
    """Fetch, make and write every sound and the manifest; returns the manifest."""
    sources = CACHE / "sources"
    fetch(sources, keep_debs)
    manifest = []
    for sound in sounds():
        x, sr = sound.make(sources)
        x = x[:, :2]
        fade = np.minimum(1, np.minimum(np.arange(len(x)), np.arange(len(x))[::-1])
                          / (0.02 * sr))[:, None]  # 20 ms in and out: no click at a cut
        x = x * fade * 10 ** (PEAK_DBFS / 20) / np.abs(x).max()
        path = CACHE / f"{sound.name}.wav"
        sf.write(path, x, sr, subtype="PCM_16")
        source = FILES.get((sound.package, sound.file))
        manifest.append(dict(
            name=sound.name, role=sound.role,
            part="tuning" if sound.name in TUNING else "held-out",
            package=sound.package, version=PACKAGES.get(sound.package, ("",))[0] or
            _tool_version(sound.package), file=sound.file, licence=sound.licence,
            how=sound.how, seconds=round(len(x) / sr, 3), sr=sr, channels=x.shape[1],
            source_sha256=source, sha256=_digest(path)))
        print(f"{sound.name:10} {sound.role:7} {len(x) / sr:4.1f} s {sr} Hz", flush=True)
    tools = {name: _tool_version(name) for name in TOOLS}
    (CACHE / "manifest.json").write_text(json.dumps(
        {"tools": tools, "sounds": manifest}, indent=1, ensure_ascii=False) + "\n")
    for name, version in tools.items():
        if version != TOOLS[name]:
            print(f"note: {name} {version} is not {TOOLS[name]}, which the set was made with",
                  file=sys.stderr)
    return manifest


def check() -> int:
    """Compare the files with the manifest: 0 when all are intact."""
    try:
        recorded = json.loads((CACHE / "manifest.json").read_text())["sounds"]
    except (OSError, ValueError, KeyError):
        print(f"evalset: no manifest in {CACHE}; build it first", file=sys.stderr)
        return 1
    bad = [s["name"] for s in recorded
           if not (CACHE / f"{s['name']}.wav").is_file()
           or _digest(CACHE / f"{s['name']}.wav") != s["sha256"]]
    print(f"{len(recorded) - len(bad)} of {len(recorded)} sounds match the manifest"
          + (f"; changed or missing: {', '.join(bad)}" if bad else ""))
    return 1 if bad else 0


def pairs(part: str) -> list[tuple[str, str]]:
    """The (content, style) pairs of ``part`` ("tuning" or "held-out")."""
    names = TUNING if part == "tuning" else HELD_OUT
    every = {s.name: s.role for s in sounds()}
    return [(c, s) for c in names if every[c] == "content"
            for s in names if every[s] == "style"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="only compare the built files with the manifest")
    parser.add_argument("--keep-debs", action="store_true",
                        help=f"keep the downloaded packages in {CACHE / 'debs'}")
    args = parser.parse_args()
    if args.check:
        return check()
    try:
        build(args.keep_debs)
    except BuildError as exc:
        print(f"evalset: {exc}", file=sys.stderr)
        return 2
    print(f"{CACHE / 'manifest.json'}: tuning pairs {len(pairs('tuning'))}, held-out "
          f"{len(pairs('held-out'))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
