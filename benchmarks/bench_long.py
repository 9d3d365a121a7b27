"""Long content: peak memory and time of chunked transfer for 1, 5 and 10 minutes.

Content: the demo melody looped to the length, mono at 22050 Hz; style: 10 s of the bongo loop;
shallow extractor, default chunks (20 s, cross-faded over 1 s). A default-quality 10-minute
run takes over an hour here, so the 1/5/10-minute runs use the full-size chunks with few
iterations (their memory shows what grows with the length), and one chunk alone is run at
default quality: its time × the number of chunks is the full-quality estimate, and its peak
memory (with the optimiser's full history) is the per-chunk part of the bound.
"""

from __future__ import annotations

import time

import numpy as np

from common import Section, machine, measure, table

SR = 22050
#: Iterations of the long runs (spectrogram stage, waveform refinement).
FEW = (3, 2)


def _content(seconds: float) -> np.ndarray:
    from audiostyle.demo import canon_melody

    melody = canon_melody(SR)
    reps = int(np.ceil(seconds * SR / melody.size))
    return np.tile(melody, reps)[: int(seconds * SR)]


def chunked(seconds: float, iterations: int, refine: int, chunk_seconds: float) -> dict:
    """A transfer of ``seconds`` of content; time, chunks, loss."""
    import audiostyle
    from audiostyle.demo import bongo_loop

    content, style = _content(seconds), bongo_loop(SR, seconds=10.0)
    began = time.perf_counter()
    result = audiostyle.transfer(content, style, sr=SR, iterations=iterations,
                                 refine_iterations=refine, chunk_seconds=chunk_seconds,
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
    from audiostyle.chunking import plan_chunks
    from audiostyle.extractors import get_extractor
    from audiostyle.transfer import DEFAULT_CHUNK_SECONDS, _chunk_sizes

    chunk_seconds = 5.0 if quick else DEFAULT_CHUNK_SECONDS
    minutes = [0.25, 0.5] if quick else [1, 5, 10]
    net = get_extractor("shallow")
    rows, peaks = [], {}
    for m in minutes:
        r = measure("bench_long:chunked", seconds=60.0 * m, iterations=FEW[0], refine=FEW[1],
                    chunk_seconds=chunk_seconds)
        base = measure("bench_long:signal_only", seconds=60.0 * m)
        peaks[m] = r["peak_mib"]
        rows.append([f"{m:g} min", r["chunks"], r["iterations"], f"{r['total_s']:.0f}",
                     f"{r['total_s'] / r['chunks']:.1f}", f"{r['peak_mib']:.0f}",
                     f"{base['peak_mib']:.0f}", f"{r['peak_mib'] - base['peak_mib']:.0f}"])
    growth = table(["content", "chunks", "iterations", "total s", "s/chunk", "peak MiB",
                    "signal-only process MiB", "peak − signal-only MiB"], rows)

    # one chunk alone at default quality: per-chunk time and the per-chunk memory
    full_rows, per_chunk = [], {}
    for seconds in ([5.0] if quick else [10.0, 20.0]):
        r = measure("bench_long:full_chunk", seconds=seconds)
        per_chunk[seconds] = r
        full_rows.append([f"{seconds:g} s", r["iterations"], f"{r['total_s']:.0f}",
                          f"{r['total_s'] / r['iterations']:.2f}", f"{r['peak_mib']:.0f}",
                          f"{r['loss_db']:.1f}"])
    full = table(["chunk", "iterations", "total s", "s/iteration", "peak MiB",
                  "result loss dB"], full_rows)

    longest = minutes[-1] * 60.0
    chunk, overlap = _chunk_sizes(chunk_seconds, 1, net)
    count = len(plan_chunks(round(longest * SR), chunk, overlap))
    one = per_chunk[chunk_seconds]
    estimate = one["total_s"] * count
    floor = measure("bench_shallow:iteration_time", seconds=chunk_seconds,
                    domain="spectrogram", form="floor")["s_per_iteration"]
    s_per_it = one["total_s"] / one["iterations"]
    summary = [{
        "extractor": "shallow", "setting": f"long content, {chunk_seconds:g} s chunks "
                                           "(default quality, extrapolated)",
        "audio": f"{minutes[-1]:g} min", "s/iteration": f"{s_per_it:.2f}",
        "iterations": one["iterations"] * count, "total s": f"{estimate:.0f}",
        "real-time factor": f"{estimate / longest:.1f}",
        "peak memory": f"≈ {one['peak_mib'] + peaks[minutes[-1]] - peaks[minutes[0]]:.0f} MiB",
        "floor": f"{floor:.3f} s (conv1d fwd+grad, {chunk_seconds:g} s)",
        "s/iteration ÷ floor": f"{s_per_it / floor:.2f}",
    }]
    markdown = f"""
Machine: {machine()}.

Content: the demo melody looped, mono, {SR} Hz; style: 10 s of the bongo loop; shallow
extractor, chunks of {chunk_seconds:g} s cross-faded over
{overlap / SR:.2f} s ({count} chunks for {minutes[-1]:g} min).

### Memory does not grow with the length beyond the signal itself

Full-size chunks but only {FEW[0]} + {FEW[1]} iterations per chunk (a default-quality
{minutes[-1]:g}-minute run takes over an hour here). *signal-only process*: the same
libraries with the content and one output buffer allocated (float32), nothing else: the part
that must grow with the length. The rest of the peak stays the same from 1 to
{minutes[-1]:g} minutes: it is set by one chunk.

{growth}

### One chunk at default quality

The same transfer on content as long as one chunk, with the default schedule (100 spectrogram
iterations, Griffin-Lim, 40 waveform iterations). L-BFGS keeps up to 100 pairs of vectors the
size of the chunk's spectrogram, so the per-chunk memory of a full-quality run is this one,
larger than in the few-iteration runs above:

{full}

**Bound.** Peak memory ≈ (peak of one default-quality chunk, {one['peak_mib']:.0f} MiB for
{chunk_seconds:g} s here, roughly proportional to the chunk length) + 8 bytes per sample of
the content at the working rate (input and output buffers; {8 * longest * SR / 2**20:.0f} MiB
for {minutes[-1]:g} min at {SR} Hz) + the file's own samples at their rate. A content of `c`
channels gets chunks `c` times shorter, so the per-chunk part does not grow with the channel
count; `--chunk-seconds` lowers it.

**Time.** Measured: {one['total_s']:.0f} s for one {chunk_seconds:g}-s chunk at default quality
({s_per_it:.2f} s per iteration, {s_per_it / floor:.2f}× the convolution floor of
{floor:.3f} s). Extrapolated default-quality time for {minutes[-1]:g} minutes: {count} chunks ×
{one['total_s']:.0f} s ≈ **{estimate / 60:.0f} minutes, real-time factor
{estimate / longest:.1f}** (the overlaps make the chunks cover
{count * chunk / SR / longest:.2f}× the content). Not measured end to end.
"""
    return Section("long", "Long content in chunks (issue 8)", markdown, summary)


def full_chunk(seconds: float) -> dict:
    """A default-quality transfer of ``seconds`` of content (one chunk)."""
    import audiostyle
    from audiostyle.demo import bongo_loop

    began = time.perf_counter()
    result = audiostyle.transfer(_content(seconds), bongo_loop(SR, seconds=10.0), sr=SR,
                                 chunk_seconds=seconds, progress=False)
    return {"total_s": time.perf_counter() - began, "iterations": result.iterations,
            "loss_db": result.loss_db, "chunks": len(result.chunks)}
