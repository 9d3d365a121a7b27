"""Real inputs through the pipeline: channels, rates, lengths, chunks, silence."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import audiostyle
from audiostyle.extractors import get_extractor
from audiostyle.extractors.statistics import gram_matrix
from audiostyle.synthesis.chunking import chunk_sizes, plan_chunks
from audiostyle.synthesis.losses import StyleLoss
from conftest import SR

#: A small, fast network: 129 bins, 16 filters of width 3 (shortest input 128 samples).
TINY = {"filters": 16, "n_fft": 256, "hop_length": 64, "kernel_width": 3, "form": "drawn"}
QUICK = {"extractor": "shallow", "options": TINY, "iterations": 4, "refine_iterations": 2,
         "griffin_lim_iterations": 8, "progress": False}


@pytest.fixture(autouse=True)
def _one_thread():
    """These tensors are small: a second thread only adds waiting on a busy machine."""
    torch.set_num_threads(1)


def _style_db(net, style: np.ndarray, wave: np.ndarray) -> list[float]:
    """Each channel's style distance in dB to the (channel-averaged) style target."""
    loss = StyleLoss(net)
    loss.set_target([(net.analyse(torch.from_numpy(style)), 1.0)])
    with torch.no_grad():
        return [10 * np.log10(float(loss(net(torch.from_numpy(wave[c : c + 1])))))
                for c in range(len(wave))]


def test_stereo_keeps_its_channels_and_matches_each_to_the_style(melody, bongos):
    rng = np.random.default_rng(0)
    content = np.stack([0.6 * melody[:SR], 0.4 * melody[:SR]]) + 0.01 * rng.standard_normal(
        (2, SR)).astype(np.float32)
    net = get_extractor("shallow", **TINY)
    before = _style_db(net, bongos[None], content)
    result = audiostyle.transfer(content, bongos, sr=SR, **{**QUICK, "iterations": 15})
    out = result.audio.samples
    assert out.shape == (2, SR) and np.all(np.isfinite(out))
    after = _style_db(net, bongos[None], out)
    assert all(b - a >= 6 for a, b in zip(after, before, strict=True)), (before, after)


def test_identical_channels_give_identical_results_and_mono_downmixes(melody, bongos):
    twin = np.stack([melody[:SR], melody[:SR]])
    stereo = audiostyle.transfer(twin, bongos, sr=SR, **QUICK).audio.samples
    np.testing.assert_allclose(stereo[0], stereo[1], atol=1e-6)
    mono = audiostyle.transfer(twin, bongos, sr=SR, mono=True, **QUICK).audio.samples
    assert mono.shape == (1, SR)


def test_the_style_target_averages_the_style_channels(bongos):
    """A stereo style's Gram target is the mean of its channels' Grams (NumPy reference),
    also when the style is given in pieces (as long styles are)."""
    net = get_extractor("shallow", **TINY)
    style = np.stack([bongos[:8000], 0.3 * bongos[8000:16000]])
    features = net(torch.from_numpy(style))["conv"].double().numpy()
    expected = np.mean([f @ f.T / f.shape[1] for f in features], axis=0)
    whole = StyleLoss(net)
    whole.set_target([(net.analyse(torch.from_numpy(style)), 1.0)])
    np.testing.assert_allclose(whole._targets["conv"].matrix.double().numpy(), expected,
                               rtol=1e-4, atol=1e-6)
    pieces = StyleLoss(net)
    halves = [(net.analyse(torch.from_numpy(np.ascontiguousarray(style[:, s:s + 4000]))), 0.5)
              for s in (0, 4000)]
    pieces.set_target(iter(halves))
    split = pieces._targets["conv"].matrix.double().numpy()
    assert np.linalg.norm(split - expected) / np.linalg.norm(expected) < 0.03  # edge frames
    assert float(gram_matrix(torch.ones(1, 2, 3)).sum()) == 4.0


def test_texture_has_the_styles_channels_unless_mono(bongos):
    style = np.stack([bongos, np.roll(bongos, 3000)])
    stereo = audiostyle.texture(style, sr=SR, seconds=0.5, **QUICK).audio.samples
    assert stereo.shape == (2, SR // 2)
    assert abs(np.corrcoef(stereo)[0, 1]) < 0.3  # independent noise per channel
    mono = audiostyle.texture(style, sr=SR, seconds=0.5, mono=True, **QUICK).audio.samples
    assert mono.shape == (1, SR // 2)


@pytest.mark.parametrize("sr", [8000, 192000])
def test_extreme_rates_come_back_at_their_rate_and_length(melody, bongos, sr):
    from audiostyle.io.audio import Audio, resample

    content = resample(Audio(melody[None, : SR // 2], SR), sr)
    result = audiostyle.transfer(content, Audio(bongos[None], SR), **QUICK)
    assert result.audio.sr == sr and result.working_sr == SR
    assert result.audio.samples.shape == content.samples.shape
    assert np.all(np.isfinite(result.audio.samples))


def test_the_band_above_the_extractors_rate_is_the_contents(melody, bongos):
    """A 44.1 kHz content through the 22.05 kHz net: above 11 kHz the result is the content
    (the net cannot hear it; an empty band would sound muffled), below it the style moved it;
    at strength 0 the result is the content itself. Bands read off a NumPy FFT."""
    from audiostyle.io.audio import Audio, resample

    sr = 44100
    content = resample(Audio(melody[None, :SR], SR), sr).samples
    t = np.arange(content.shape[1]) / sr
    content = content + 0.05 * np.sin(2 * np.pi * 15000 * t) * (1 + np.sin(2 * np.pi * 3 * t))
    content = content.astype(np.float32)
    freqs = np.fft.rfftfreq(content.shape[1], 1 / sr)
    high, low = freqs > 12000, (freqs > 100) & (freqs < 10000)

    def band(x: np.ndarray, where: np.ndarray) -> np.ndarray:
        return np.fft.rfft(x[0])[where]

    def distance(x: np.ndarray, where: np.ndarray) -> float:
        ref = band(content, where)
        return float(np.linalg.norm(band(x, where) - ref) / np.linalg.norm(ref))

    moved = audiostyle.transfer(Audio(content, sr), Audio(bongos[None], SR), strength=1.0,
                                **QUICK).audio.samples
    assert distance(moved, high) < 1e-3 and distance(moved, low) > 0.1
    kept = audiostyle.transfer(Audio(content, sr), Audio(bongos[None], SR), strength=0.0,
                               **QUICK).audio.samples
    np.testing.assert_allclose(kept, content, atol=1e-4)


def test_long_content_in_chunks_has_no_clicks_at_the_seams(melody, bongos):
    """Chunked transfer: the output keeps the length, every chunk moved towards the style,
    and at every seam the sample-to-sample jump is within the signal's range elsewhere."""
    content = np.tile(melody, 2)[: 4 * SR]
    result = audiostyle.transfer(content, bongos, sr=SR, chunk_seconds=1.0, **QUICK)
    out = result.audio.samples[0]
    net = get_extractor("shallow", **TINY)
    spans = plan_chunks(content.size, *chunk_sizes(1.0, 1, net))
    assert len(result.chunks) == len(spans) >= 4 and out.shape == content.shape
    assert all(stages["spectrogram"].best_loss < 1 for stages in result.chunks)
    jumps = np.abs(np.diff(out))
    seams = [slice(start - 64, stop + 64)  # each overlap and a little around it
             for (_, stop), (start, _) in itertools.pairwise(spans)]
    elsewhere = np.ones(jumps.size, bool)
    for seam in seams:
        elsewhere[seam] = False
    normal = jumps[elsewhere].max()
    assert all(jumps[seam].max() <= 1.1 * normal for seam in seams)


def test_a_silent_stretch_of_content_becomes_texture_not_nan(melody, bongos):
    content = np.concatenate([melody[:SR], np.zeros(SR, np.float32)])
    result = audiostyle.transfer(content, bongos, sr=SR, chunk_seconds=0.8, **QUICK)
    out = result.audio.samples[0]
    assert np.all(np.isfinite(out))
    assert np.sqrt(np.mean(out[-SR // 2 :] ** 2)) > 0.1 * np.sqrt(np.mean(bongos**2))


def test_a_style_shorter_than_one_analysis_window_is_refused(melody):
    with pytest.raises(audiostyle.AudioStyleError,
                       match=r"style: too short for the shallow extractor: 0\.005 s \(100 "
                             r"samples at 22050 Hz\); it needs at least 0\.232 s"):
        audiostyle.transfer(melody, melody[:100], sr=SR, extractor="shallow", progress=False)


def test_a_content_shorter_than_the_stft_half_window_is_refused(melody, bongos):
    """Even with one-frame filters, the STFT's reflected padding needs n_fft / 2 + 1 samples."""
    options = {"n_fft": 4096, "hop_length": 64, "kernel_width": 1}
    assert get_extractor("shallow", **options).min_samples == 2049
    with pytest.raises(audiostyle.AudioStyleError,
                       match=r"content: too short .* needs at least 0\.093 s \(2049 samples\)"):
        audiostyle.transfer(melody[:2048], bongos, sr=SR, extractor="shallow", options=options,
                            progress=False)


@settings(max_examples=12, deadline=None)
@given(channels=st.integers(1, 3), sr=st.integers(8000, 192000), data=st.data())
def test_any_rate_channels_and_length_come_back_right(melody, bongos, channels, sr, data):
    """Property: whatever the rate, channel count, length and chunk size, the result has the
    content's rate, channels and exact length, and no NaN."""
    seconds = data.draw(st.floats(0.01, 0.6))
    samples = max(1, round(seconds * sr))
    chunk = data.draw(st.floats(0.02, 1.0))
    content = np.stack([np.resize(melody, samples) * (c + 1) / 3 for c in range(channels)])
    result = audiostyle.transfer(content, bongos, sr=sr, chunk_seconds=chunk,
                                 **{**QUICK, "iterations": 1, "refine_iterations": 1,
                                    "griffin_lim_iterations": 1})
    assert result.audio.sr == sr and result.audio.samples.shape == (channels, samples)
    assert np.all(np.isfinite(result.audio.samples))
