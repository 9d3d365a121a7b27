"""The observer hook of transfer() and texture(): progress, snapshots and stopping."""

from __future__ import annotations

import numpy as np
import pytest

import audiostyle
from audiostyle.synthesis.optimiser import to_db
from conftest import SR

TINY = {"extractor": "shallow", "griffin_lim_iterations": 4, "progress": False}


def _run(melody, bongos, observer=None, **kwargs):
    settings = {"iterations": 4, "refine_iterations": 3, **TINY, **kwargs}
    return audiostyle.transfer(melody[:SR], bongos[:SR], sr=SR, observer=observer, **settings)


def test_every_iteration_is_seen_in_order_with_the_traced_losses(melody, bongos):
    seen = []
    result = _run(melody, bongos, seen.append)
    stages = [(p.stage, p.iteration, p.iterations, p.chunk, p.chunks) for p in seen]
    assert stages == ([("spectrogram", i, 4, 0, 1) for i in range(1, 5)]
                      + [("waveform", i, 3, 0, 1) for i in range(1, 4)])
    traced = result.stages["spectrogram"].losses + result.stages["waveform"].losses
    assert [p.loss_db for p in seen] == pytest.approx([to_db(v) for v in traced])
    assert [p.best_db for p in seen[:4]] == pytest.approx(
        [to_db(min(traced[: i + 1])) for i in range(4)])


def test_the_last_snapshot_is_the_result(melody, bongos):
    snapshots = []
    result = _run(melody, bongos, lambda p: snapshots.append(p.snapshot()), output_sr=16000)
    assert len(snapshots) == 7
    last = snapshots[-1]
    assert last.sr == result.audio.sr == 16000
    np.testing.assert_array_equal(last.samples, result.audio.samples)
    # the first snapshot is the content after one iteration: not yet the result
    assert snapshots[0].samples.shape == result.audio.samples.shape
    assert not np.array_equal(snapshots[0].samples, last.samples)


def test_snapshots_do_not_change_the_result(melody, bongos):
    """A noise start recovers the phase at random: snapshots must not move the global seed."""
    plain = _run(melody, bongos, init="noise", seed=3)
    watched = _run(melody, bongos, lambda p: p.snapshot(), init="noise", seed=3)
    np.testing.assert_array_equal(plain.audio.samples, watched.audio.samples)


def test_an_observer_that_interrupts_keeps_the_best_so_far(melody, bongos):
    def stop_at_three(progress):
        if progress.iteration == 3:
            raise KeyboardInterrupt

    result = _run(melody, bongos, stop_at_three, iterations=10)
    assert result.interrupted
    assert list(result.stages) == ["spectrogram"]  # no refinement after a stop
    assert result.stages["spectrogram"].iterations == 3
    assert result.audio.samples.shape == (1, SR)
    assert np.all(np.isfinite(result.audio.samples)) and np.any(result.audio.samples)


def test_chunked_snapshots_grow_and_texture_has_the_hook_too(bongos):
    seen = []
    result = audiostyle.texture(bongos, sr=SR, seconds=2.0, chunk_seconds=0.8, iterations=2,
                                refine_iterations=0, observer=lambda p: seen.append(
                                    (p.chunk, p.chunks, p.snapshot().samples.shape[1])), **TINY)
    chunks = seen[0][1]
    assert chunks >= 2 and [c for c, _, _ in seen] == [c for c in range(chunks) for _ in "ab"]
    lengths = [n for _, _, n in seen]
    assert lengths[0] < lengths[-1] == result.audio.samples.shape[1] == 2 * SR
    assert lengths == sorted(lengths)


def test_snapshots_along_the_way_recover_the_phase_cheaply(melody, bongos, monkeypatch):
    """A spectrogram-domain snapshot before the stage's end is a preview (a few Griffin-Lim
    iterations); the last one is decoded as the result is, so it is the result."""
    from audiostyle.synthesis import domains

    spent = []

    def counting(*args, iterations, **kwargs):
        spent.append(iterations)
        return griffin_lim(*args, iterations=iterations, **kwargs)

    griffin_lim = domains.griffin_lim
    monkeypatch.setattr(domains, "griffin_lim", counting)
    snapshots = []
    result = _run(melody, bongos, lambda p: snapshots.append(p.snapshot()),
                  refine_iterations=0, griffin_lim_iterations=40)
    assert spent == [domains.PREVIEW_GRIFFIN_LIM_ITERATIONS] * 3 + [40, 40]  # + the result's
    np.testing.assert_array_equal(snapshots[-1].samples, result.audio.samples)
