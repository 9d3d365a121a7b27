"""Ten minutes of content at full quality, end to end.

The same job as the *long* section's scan (the demo melody looped, mono, 22050 Hz; 10 s of the
bongo loop as style; default chunks), but with every default: the shallow net with infinitely
many filters, 120 + 40 iterations per chunk and the default Griffin-Lim. Measures what the
*long* section extrapolates from one chunk.
"""

from __future__ import annotations

from common import Section, machine, measure


def run(quick: bool = False) -> Section:
    from audiostyle.synthesis.chunking import DEFAULT_CHUNK_SECONDS

    seconds = 30.0 if quick else 600.0
    chunk_seconds = 10.0 if quick else DEFAULT_CHUNK_SECONDS
    r = measure("bench_long:chunked", seconds=seconds, iterations=None, refine=None,
                chunk_seconds=chunk_seconds)
    summary = [{
        "extractor": "shallow",
        "setting": f"long content, {chunk_seconds:g} s chunks (default quality, measured)",
        "audio": f"{seconds / 60:g} min", "iterations": r["iterations"],
        "total s": f"{r['total_s']:.0f}", "real-time factor": f"{r['total_s'] / seconds:.1f}",
        "peak memory": f"{r['peak_mib']:.0f} MiB",
    }]
    markdown = f"""
Machine: {machine()}.

`audiostyle.transfer(content, style, extractor="shallow")` with every other default on
{seconds / 60:g} minutes of content: {r['chunks']} chunks of {chunk_seconds:g} s,
{r['iterations']} iterations in all;
**{r['total_s'] / 60:.1f} minutes in total (real-time factor {r['total_s'] / seconds:.1f}),
peak memory {r['peak_mib']:.0f} MiB**; result loss {r['loss_db']:.1f} dB from the start, style
distance {r['style_distance_db']:.1f} dB (length-weighted means over the chunks).
"""
    return Section("long_full", "Ten minutes at full quality (issue 8)", markdown, summary)
