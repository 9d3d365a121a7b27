"""Long content: peak memory and time of chunked transfer for 1, 5 and 10 minutes.

Content: the demo melody looped to the length, mono at 22050 Hz; style: 10 s of the bongo loop;
shallow extractor, default chunks (20 s, cross-faded over 1 s). A default-quality 10-minute run
takes hours on a 2-core machine, so the 1/5/10-minute runs (what grows with the length) use the
full-size chunks with a small network and few iterations, and one 20-s chunk with the default
network (infinitely many filters) at full quality (the default iterations) shows the per-chunk part:
its peak memory and time, from which the full-quality 10-minute time is extrapolated.
"""

from __future__ import annotations

import time

import numpy as np

from common import Section, machine, measure, table

SR = 22050
#: The length scan: network options and (spectrogram, waveform, Griffin-Lim) iterations.
SCAN = {"form": "drawn", "filters": 256}
FEW = (2, 1, 8)


def _content(seconds: float) -> np.ndarray:
    from audiostyle.demo import canon_melody

    melody = canon_melody(SR)
    reps = int(np.ceil(seconds * SR / melody.size))
    return np.tile(melody, reps)[: int(seconds * SR)]


def chunked(seconds: float, iterations: int | None, refine: int | None, chunk_seconds: float,
            options: dict | None = None, gl_iterations: int = 100) -> dict:
    """A transfer of ``seconds`` of content; time, chunks, loss."""
    import audiostyle
    from audiostyle.demo import bongo_loop

    content, style = _content(seconds), bongo_loop(SR, seconds=10.0)
    began = time.perf_counter()
    result = audiostyle.transfer(content, style, sr=SR, extractor="shallow", iterations=iterations,
                                 refine_iterations=refine, chunk_seconds=chunk_seconds,
                                 options=options or {}, griffin_lim_iterations=gl_iterations,
                                 progress=False)
    total = time.perf_counter() - began
    assert result.audio.samples.shape == (1, content.size)
    assert np.all(np.isfinite(result.audio.samples))
    return {"total_s": total, "chunks": len(result.chunks), "iterations": result.iterations,
            "loss_db": result.loss_db, "style_distance_db": result.style_distance_db}


def signal_only(seconds: float) -> dict:
    """The process with the content and an output buffer allocated, nothing else: the part
    of the peak that grows with the length."""
    import audiostyle  # noqa: F401  (the same libraries loaded)

    content = _content(seconds)
    output = np.zeros_like(content)
    output[:] = content
    return {"bytes": int(content.nbytes + output.nbytes)}


def run(quick: bool = False) -> Section:
    from audiostyle.extractors import get_extractor
    from audiostyle.synthesis.chunking import DEFAULT_CHUNK_SECONDS, chunk_sizes, plan_chunks

    chunk_seconds = 5.0 if quick else DEFAULT_CHUNK_SECONDS
    minutes = [0.25, 0.5] if quick else [1, 5, 10]
    rows, peaks = [], {}
    for m in minutes:
        r = measure("bench_long:chunked", seconds=60.0 * m, iterations=FEW[0], refine=FEW[1],
                    gl_iterations=FEW[2], chunk_seconds=chunk_seconds, options=SCAN)
        base = measure("bench_long:signal_only", seconds=60.0 * m)
        peaks[m] = r["peak_mib"] - base["peak_mib"]
        rows.append([f"{m:g} min", r["chunks"], f"{r['total_s']:.0f}",
                     f"{r['total_s'] / r['chunks']:.1f}", f"{r['peak_mib']:.0f}",
                     f"{base['peak_mib']:.0f}", f"{peaks[m]:.0f}"])
    growth = table(["content", "chunks", "total s", "s/chunk", "peak MiB",
                    "signal-only process MiB", "peak − signal-only MiB"], rows)

    # one chunk with the default network at full quality: per-chunk memory and time
    one = measure("bench_long:chunked", seconds=chunk_seconds, iterations=None, refine=None,
                  chunk_seconds=chunk_seconds)
    s_per_it = one["total_s"] / one["iterations"]
    net = get_extractor("shallow")
    chunk, overlap = chunk_sizes(chunk_seconds, 1, net)
    bound = one["peak_mib"]
    longest = minutes[-1] * 60.0
    count = len(plan_chunks(round(longest * SR), chunk, overlap))
    iterations = one["iterations"] * count
    estimate = one["total_s"] * count
    summary = [{
        "extractor": "shallow", "setting": f"long content, {chunk_seconds:g} s chunks "
                                           "(default quality, extrapolated)",
        "audio": f"{minutes[-1]:g} min", "s/iteration": f"{s_per_it:.2f}",
        "iterations": iterations, "total s": f"≈ {estimate:.0f}",
        "real-time factor": f"≈ {estimate / longest:.1f}",
        "peak memory": f"≤ {bound:.0f} MiB + 8 B/sample",
    }]
    growth_mib = peaks[minutes[-1]] - peaks[minutes[0]]
    markdown = f"""
Machine: {machine()}.

Content: the demo melody looped, mono, {SR} Hz; style: 10 s of the bongo loop; shallow
extractor, chunks of {chunk_seconds:g} s cross-faded over {overlap / SR:.2f} s ({count} chunks
for {minutes[-1]:g} min).

### Memory does not grow with the length beyond the signal itself

Full-size chunks, a small network ({SCAN['filters']} drawn filters) and few iterations ({FEW[0]}
spectrogram, {FEW[1]} waveform, {FEW[2]} Griffin-Lim per chunk): what is measured here is
what grows with the length. *signal-only process*: the same libraries with the content and
one output buffer allocated (float32), nothing else. The rest of the peak changes by
{growth_mib:+.0f} MiB from {minutes[0]:g} to {minutes[-1]:g} minutes: it is set by one chunk.

{growth}

### One chunk with the default network at full quality

{chunk_seconds:g} s of content (one chunk), the default network (infinitely many filters,
n_fft 2048), default settings ({one['iterations']} iterations over both stages, Griffin-Lim,
L-BFGS with its full history): peak **{one['peak_mib']:.0f} MiB**, {one['total_s']:.0f} s,
{s_per_it:.2f} s per iteration (the time per iteration includes the Griffin-Lim and the final
analysis; an iteration against its floor: *Speed of the default transfers*).

**Bound.** Peak memory ≤ **{bound:.0f} MiB** (one full-quality chunk) + 8 bytes per sample of the
content at the working rate (input and output buffers; {8 * longest * SR / 2**20:.0f} MiB for
{minutes[-1]:g} min at {SR} Hz) + the file's own samples at their rate. The per-chunk term
is proportional to the chunk length. A content of `c` channels gets chunks `c` times shorter,
so the per-chunk part does not grow with the channel count; `--chunk-seconds` lowers it.

**Time** (extrapolated, not measured end to end): {count} chunks × {one['total_s']:.0f} s
≈ **{estimate / 60:.0f} minutes for {minutes[-1]:g} minutes of
content, real-time factor ≈ {estimate / longest:.1f}** on this machine (the overlaps make the
chunks cover {count * chunk / SR / longest:.2f}× the content).
"""
    return Section("long", "Long content in chunks (issue 8)", markdown, summary)
