"""Golden outputs: SHA-256 of a fixed set of small runs, to show a refactor changes no bit.

    python benchmarks/golden.py record   # write benchmarks/golden.json from the current code
    python benchmarks/golden.py check    # rerun, compare with benchmarks/golden.json

Float results depend on the CPU model and the torch thread count, so the digests are only
comparable on one machine (this is not a CI test): record once on the unchanged code, then
check after every refactor commit. Every run uses the demo sounds (shortened), a fixed seed,
one torch thread, small extractors and a few iterations, through the public API
(``audiostyle.transfer`` / ``texture`` / ``stats``) and the CLI (``audiostyle.cli.main``);
each digest covers the result's samples and the numbers it reports.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch

import audiostyle
from audiostyle import Audio, save_audio
from audiostyle.cli import main as cli
from audiostyle.demo import bongo_loop, canon_melody

GOLDEN = Path(__file__).resolve().parent / "golden.json"
SR = 22050
SHALLOW = {"form": "drawn", "filters": 64}
QUICK = {"iterations": 6, "refine_iterations": 3, "griffin_lim_iterations": 8,
         "progress": False}


def _content() -> Audio:
    return Audio(canon_melody(SR, note_seconds=0.25)[None], SR, "content")  # 2 s


def _style() -> Audio:
    return Audio(bongo_loop(SR, seconds=2.0)[None], SR, "style")


def _digest_result(result) -> str:
    samples = np.ascontiguousarray(result.audio.samples, dtype=np.float32)
    facts = [result.audio.sr, samples.shape, result.extractor, result.working_sr,
             repr(result.loss_db), repr(result.style_distance_db), len(result.chunks),
             [(name, trace.iterations, repr(trace.best_loss))
              for name, trace in result.stages.items()]]
    return hashlib.sha256(samples.tobytes() + repr(facts).encode()).hexdigest()


def _digest_stats(values: dict) -> str:
    digest = hashlib.sha256()
    for name in sorted(values):
        digest.update(name.encode() + np.ascontiguousarray(values[name]).tobytes())
    return digest.hexdigest()


def _transfer(**kwargs) -> str:
    style = kwargs.pop("style", _style())
    return _digest_result(audiostyle.transfer(_content(), style, **{**QUICK, **kwargs}))


def _texture() -> str:
    return _digest_result(audiostyle.texture(_style(), seconds=1.5, extractor="shallow",
                                             options=SHALLOW, **QUICK))


def _files(folder: Path, suffixes: tuple[str, ...]) -> dict[str, str]:
    """Digest of each output file; JSON records without their timings and with paths
    relative to ``folder``."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix not in suffixes:
            continue
        data = path.read_bytes()
        if path.suffix == ".json":
            record = json.loads(data)
            for key in ("seconds", "wall_seconds"):
                record.pop(key, None)
            text = json.dumps(record, sort_keys=True).replace(str(folder), "TMP")
            data = text.encode()
        out[str(path.relative_to(folder))] = hashlib.sha256(data).hexdigest()
    return out


def _cli(argv: list[str]) -> None:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = cli(argv)
    if code != 0:
        raise SystemExit(f"golden: `audiostyle {' '.join(argv)}` exited with {code}")


def _cli_runs(tmp: Path) -> dict[str, str]:
    """A CLI transfer with --strength 0.5 and a 2-job batch (its output names are the jobs'
    keys, so a changed key shows as a changed name)."""
    content, style = tmp / "content.wav", tmp / "style.wav"
    save_audio(content, _content())
    save_audio(style, _style())
    quick = ["-q", "-n", "6", "--refine", "3", "--gl-iterations", "8", "-e", "shallow", "-X",
             "form=drawn", "-X", "filters=64"]
    _cli(["transfer", str(content), str(style), "-o", str(tmp / "strength.wav"),
          "--strength", "0.5", *quick])
    manifest = tmp / "jobs.csv"
    manifest.write_text("content,style,init,seed\n"
                        "content.wav,style.wav,content,0\ncontent.wav,style.wav,noise,1\n")
    _cli(["batch", str(manifest), "-o", str(tmp / "batch"), "--workers", "1",
          "--threads-per-job", "1", *quick])
    files = _files(tmp, (".wav", ".json"))
    files.pop("content.wav")
    files.pop("style.wav")
    return {f"cli {name}": digest for name, digest in files.items()}


def runs() -> dict[str, str]:
    """Every golden run's digest, by name."""
    out = {
        "shallow": lambda: _transfer(extractor="shallow", options=SHALLOW),
        "shallow waveform noise": lambda: _transfer(extractor="shallow", options=SHALLOW,
                                                    domain="waveform", init="noise", seed=3),
        "shallow adam": lambda: _transfer(extractor="shallow", options=SHALLOW,
                                          optimizer="adam"),
        "shallow content_weight": lambda: _transfer(extractor="shallow", options=SHALLOW,
                                                    content_weight=0.5),
        "shallow rhythm": lambda: _transfer(extractor="shallow", options=SHALLOW,
                                            rhythm_weight=1.0, rhythm_seconds=0.5),
        "shallow-multi": lambda: _transfer(extractor="shallow-multi",
                                           options={"form": "drawn", "filters": (32, 16),
                                                    "widths": (2, 8)}),
        "mcdermott": lambda: _transfer(extractor="mcdermott", options={"bands": 12,
                                                                       "mod_bands": 6}),
        "soundnet": lambda: _transfer(extractor="soundnet",
                                      options={"layers": ("conv1", "conv2", "conv3")}),
        "vgg-mtt": lambda: _transfer(extractor="vgg-mtt", iterations=4),
        "blend": lambda: _transfer(extractor="shallow", options=SHALLOW,
                                   style=[_style(), _content()], style_weights=[2, 1]),
        "strength 0.5": lambda: _transfer(extractor="shallow", options=SHALLOW, strength=0.5),
        "two chunks": lambda: _transfer(extractor="shallow", options=SHALLOW,
                                        chunk_seconds=1.2, output_sr=16000),
        "texture": _texture,
        "stats mcdermott": lambda: _digest_stats(audiostyle.stats(_style(), extractor="mcdermott")),
        "stats shallow": lambda: _digest_stats(audiostyle.stats(_style(), extractor="shallow",
                                                                options=SHALLOW)),
    }
    digests = {}
    for name, run in out.items():
        began = time.perf_counter()
        digests[name] = run()
        print(f"  {name}: {time.perf_counter() - began:.1f} s", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        digests.update(_cli_runs(Path(tmp)))
    return digests


def main(argv: list[str]) -> int:
    if argv not in (["record"], ["check"]):
        print(__doc__, file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    digests = runs()
    if argv == ["record"]:
        GOLDEN.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
        print(f"golden: recorded {len(digests)} digests in {GOLDEN}")
        return 0
    expected = json.loads(GOLDEN.read_text())
    changed = sorted(k for k in expected.keys() | digests.keys()
                     if expected.get(k) != digests.get(k))
    for name in changed:
        print(f"golden: CHANGED {name}: {expected.get(name)} -> {digests.get(name)}")
    print(f"golden: {len(expected) - len(changed)} of {len(expected)} unchanged")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
